import type { StripeEndpoint } from "../config";

/**
 * Every message the events queue carries, as one union: the consumer dispatches on `kind` to an
 * explicit handler map (`./handlers.ts`). `request_id` is the id of the request that sent the
 * message, so its log lines can be followed across the queue and the tenant's coordinator.
 */
export type QueueMessage = DeliverMessage | StripeEventMessage;

interface MessageBase {
  request_id?: string;
}

/** Hands stored tenant events to their tenant's coordinator for delivery. */
export interface DeliverMessage extends MessageBase {
  kind: "webhook.deliver";
  tenant_id: string;
  event_ids: string[];
  /**
   * The type and exact payload of those events that fit in the message (all of them, usually), as
   * stored in D1: the coordinator then sends them without reading D1. Events not listed here are
   * read from D1 by id.
   */
  events?: CarriedEvent[];
}

/** An event as it travels to its coordinator: the id, type and payload bytes of its D1 row. */
export interface CarriedEvent {
  id: string;
  type: string;
  payload: string;
  /**
   * Set for an event emitted on its own (`emitTenantEvent`) that is not in D1 yet: the queue
   * holds it, and its coordinator writes its row (this creation time, in unix ms) in the batch of
   * the run that takes it.
   */
  unrecorded_at?: number;
}

/**
 * Hands a Stripe event to its processing. It carries the verified event itself (`endpoint` +
 * `payload`) when it fits in a message; otherwise (and for operator retries) the event is
 * already recorded in D1 and only its id travels.
 */
export interface StripeEventMessage extends MessageBase {
  kind: "stripe.event";
  event_id: string;
  endpoint?: StripeEndpoint;
  payload?: string;
}

export type QueueMessageKind = QueueMessage["kind"];
