import type { StripeEventLike } from "../platform-billing/stripe-mapping";
import { applyRefundEvent, isRefundEvent } from "../refunds/refund-mirror";
import { applyCheckout } from "./mirror-checkout";
import { applyCustomer } from "./mirror-customers";
import { applyInvoice } from "./mirror-invoices";
import { type MirrorRun, obj } from "./mirror-run";
import { applySubscription } from "./mirror-subscriptions";

const SUBSCRIPTION_EVENTS = new Set([
  "customer.subscription.created",
  "customer.subscription.updated",
  "customer.subscription.deleted",
  "customer.subscription.paused",
  "customer.subscription.resumed",
  "customer.subscription.trial_will_end",
  "customer.subscription.pending_update_applied",
  "customer.subscription.pending_update_expired",
]);
const CUSTOMER_EVENTS = new Set(["customer.created", "customer.updated", "customer.deleted"]);
const CHECKOUT_EVENTS = new Set([
  "checkout.session.completed",
  "checkout.session.expired",
  "checkout.session.async_payment_succeeded",
]);

/** Connect events that update the mirror of the tenant's own billing (the rest are forwarded or ignored). */
export function isMirrorEvent(type: string): boolean {
  return (
    SUBSCRIPTION_EVENTS.has(type) ||
    CUSTOMER_EVENTS.has(type) ||
    CHECKOUT_EVENTS.has(type) ||
    type.startsWith("invoice.") ||
    isRefundEvent(type)
  );
}

/** Applies one Stripe event to the run; answers the note recorded on the event. */
export async function applyMirrorEvent(run: MirrorRun, event: StripeEventLike): Promise<string> {
  const object = obj(event.data.object);
  if (CUSTOMER_EVENTS.has(event.type)) return applyCustomer(run, event, object);
  if (SUBSCRIPTION_EVENTS.has(event.type)) return applySubscription(run, event, object);
  if (event.type.startsWith("invoice.")) return applyInvoice(run, event, object);
  if (CHECKOUT_EVENTS.has(event.type)) return applyCheckout(run, event, object);
  if (isRefundEvent(event.type)) return applyRefundEvent(run, event);
  return "recorded";
}
