import { processStripeEventMessages } from "../modules/stripe-events/consumer";
import { deliverToCoordinators } from "../modules/webhooks/queue-handlers";
import type { QueueHandlers } from "./consumer";

/** Which module handles each kind of message: explicit, so nothing registers by import side effect. */
export const QUEUE_HANDLERS: QueueHandlers = {
  "webhook.deliver": deliverToCoordinators,
  "stripe.event": processStripeEventMessages,
};
