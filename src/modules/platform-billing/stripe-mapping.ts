import type { BillingEvent, StripeSubscriptionStatus, SubscriptionSnapshot } from "./suspension";

/**
 * Reading Stripe's event objects: pure functions that turn a Stripe event into what our rules
 * need, tolerant of API-version differences (periods on the subscription or on its items; an
 * invoice's subscription at the top level or under `parent.subscription_details`).
 */
type Obj = Record<string, unknown>;

const obj = (value: unknown): Obj => (value && typeof value === "object" ? (value as Obj) : {});
const str = (value: unknown): string | null => (typeof value === "string" ? value : null);
const num = (value: unknown): number | null => (typeof value === "number" ? value : null);
/** An expandable field: an id string, or the expanded object's id. */
const idOf = (value: unknown): string | null => str(value) ?? str(obj(value).id);

export interface StripeEventLike {
  id: string;
  type: string;
  created: number;
  account?: string | null;
  livemode?: boolean;
  data: { object: Obj };
}

export function subscriptionSnapshot(subscription: Obj): SubscriptionSnapshot {
  const item = obj((obj(subscription.items).data as unknown[] | undefined)?.[0]);
  return {
    id: str(subscription.id) ?? "",
    status: (str(subscription.status) ?? "incomplete") as StripeSubscriptionStatus,
    currentPeriodStart: num(subscription.current_period_start) ?? num(item.current_period_start),
    currentPeriodEnd: num(subscription.current_period_end) ?? num(item.current_period_end),
    trialEnd: num(subscription.trial_end),
    cancelAtPeriodEnd: subscription.cancel_at_period_end === true,
    priceId: idOf(item.price),
  };
}

/** The price a subscription's (first) item has: what the platform bills the tenant. */
export function subscriptionPrice(subscription: Obj): {
  priceId: string | null;
  unitAmount: number | null;
  currency: string | null;
  interval: "month" | "year" | null;
} {
  const item = obj((obj(subscription.items).data as unknown[] | undefined)?.[0]);
  const price = obj(item.price);
  const interval = str(obj(price.recurring).interval);
  return {
    priceId: idOf(item.price),
    unitAmount: num(price.unit_amount),
    currency: str(price.currency),
    interval: interval === "month" ? "month" : interval === "year" ? "year" : null,
  };
}

/** The subscription an invoice belongs to, across API versions. */
export function invoiceSubscriptionId(invoice: Obj): string | null {
  return (
    idOf(invoice.subscription) ??
    idOf(obj(obj(invoice.parent).subscription_details).subscription) ??
    idOf(obj(invoice.subscription_details).subscription)
  );
}

/** The platform billing event a Stripe event stands for, or null when it is not one. */
export function toBillingEvent(event: StripeEventLike): BillingEvent | null {
  const object = event.data.object;
  const created = event.created;
  switch (event.type) {
    case "customer.subscription.created":
    case "customer.subscription.updated":
    case "customer.subscription.deleted":
    case "customer.subscription.trial_will_end":
      return { type: event.type, created, subscription: subscriptionSnapshot(object) };
    case "invoice.payment_failed":
      return {
        type: event.type,
        created,
        invoiceId: str(object.id) ?? "",
        subscriptionId: invoiceSubscriptionId(object),
        attemptCount: num(object.attempt_count) ?? 1,
        amountDue: num(object.amount_due) ?? 0,
        currency: str(object.currency) ?? "usd",
      };
    case "invoice.payment_succeeded":
    case "invoice.paid":
      return {
        type: "invoice.payment_succeeded",
        created,
        invoiceId: str(object.id) ?? "",
        subscriptionId: invoiceSubscriptionId(object),
        amountPaid: num(object.amount_paid) ?? 0,
        currency: str(object.currency) ?? "usd",
      };
    case "invoice.upcoming":
      return {
        type: event.type,
        created,
        subscriptionId: invoiceSubscriptionId(object),
        amountDue: num(object.amount_due) ?? 0,
        currency: str(object.currency) ?? "usd",
        nextPaymentAttempt: num(object.next_payment_attempt),
      };
    default:
      return null;
  }
}

/** What identifies the tenant a platform event is about: customer, subscription, metadata. */
export function platformEventKeys(event: StripeEventLike): {
  customerId: string | null;
  subscriptionId: string | null;
  tenantId: string | null;
} {
  const object = event.data.object;
  const isCustomer = event.type.startsWith("customer.") && !event.type.startsWith("customer.subscription.");
  const isSubscription = event.type.startsWith("customer.subscription.");
  const metadata = obj(object.metadata);
  const invoiceMetadata = obj(obj(obj(object.parent).subscription_details).metadata);
  return {
    customerId: isCustomer ? str(object.id) : idOf(object.customer),
    subscriptionId: isSubscription
      ? str(object.id)
      : (invoiceSubscriptionId(object) ?? idOf(object.subscription)),
    tenantId:
      str(metadata.tenant_id) ??
      str(invoiceMetadata.tenant_id) ??
      str(obj(obj(object.subscription_details).metadata).tenant_id),
  };
}

/**
 * Connect events forwarded to the tenant as they are, under the tenant event type they become.
 * The tenant's customers, subscriptions, invoices and Checkout sessions are not forwarded: they
 * update the mirror (`billing-mirror`), whose changes become the tenant's events.
 */
export const FORWARDED_CONNECT_EVENTS: Record<string, string> = {
  "charge.refunded": "charge.refunded",
};
