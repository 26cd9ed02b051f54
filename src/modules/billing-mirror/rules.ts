import type { CustomerRow, CustomerSubscriptionRow, InvoiceRow } from "../../db/schema";

/**
 * The mirror's rules, as pure functions: whether a Stripe event's snapshot is newer than what a
 * row shows, whether it changes the row, and which tenant event reports the change. The appliers
 * (`mirror-customers.ts`, `mirror-subscriptions.ts`, `mirror-invoices.ts`, `mirror-checkout.ts`,
 * dispatched by `mirror.service.ts`) build rows, resolve ties and record; these decide.
 *
 * Order never matters: each row keeps the Stripe `created` of the newest snapshot applied; an
 * older snapshot changes nothing ("stale"); a snapshot of the same second that says something
 * else ("tie") is settled by reading the object's current state from Stripe.
 */
export type Freshness = "newer" | "tie" | "stale";

export function freshness(lastApplied: number | null, created: number): Freshness {
  if (lastApplied === null || created > lastApplied) return "newer";
  return created === lastApplied ? "tie" : "stale";
}

/** Whether two rows differ in the fields Stripe decides (`fields`). */
export function differs<T extends object>(a: T, b: T, fields: readonly (keyof T)[]): boolean {
  return fields.some((field) => JSON.stringify(a[field]) !== JSON.stringify(b[field]));
}

export const CUSTOMER_FIELDS = [
  "email",
  "name",
  "phone",
  "description",
  "address",
  "metadata",
  "externalId",
  "defaultPaymentMethod",
  "status",
] as const satisfies readonly (keyof CustomerRow)[];

export const SUBSCRIPTION_FIELDS = [
  "status",
  "planId",
  "stripePriceId",
  "stripeItemId",
  "quantity",
  "unitAmount",
  "currency",
  "interval",
  "intervalCount",
  "currentPeriodStart",
  "currentPeriodEnd",
  "trialStart",
  "trialEnd",
  "cancelAtPeriodEnd",
  "cancelAt",
  "canceledAt",
  "endedAt",
  "pauseBehavior",
  "pauseResumesAt",
  "discount",
  "applicationFeePercent",
  "latestInvoiceId",
  "metadata",
] as const satisfies readonly (keyof CustomerSubscriptionRow)[];

export const INVOICE_FIELDS = [
  "status",
  "number",
  "subtotal",
  "discountAmount",
  "tax",
  "total",
  "amountDue",
  "amountPaid",
  "amountRemaining",
  "applicationFeeAmount",
  "attemptCount",
  "nextPaymentAttempt",
  "dueDate",
  "hostedInvoiceUrl",
  "invoicePdf",
  "paymentIntentId",
  "chargeId",
  "lines",
  "discounts",
  "metadata",
  "description",
  "finalizedAt",
  "paidAt",
  "voidedAt",
  "subscriptionId",
  "customerId",
] as const satisfies readonly (keyof InvoiceRow)[];

/** The tenant event that reports a customer's change, or null. */
export function customerEventType(before: CustomerRow | undefined, after: CustomerRow): string | null {
  if (!before) return after.status === "deleted" ? null : "customer.created";
  if (before.status !== "deleted" && after.status === "deleted") return "customer.deleted";
  return differs(before, after, CUSTOMER_FIELDS) ? "customer.updated" : null;
}

/** The stored states each invoice state may be written over: an invoice never goes back to a state it left. */
export const INVOICE_MAY_FOLLOW: Record<InvoiceRow["status"], readonly InvoiceRow["status"][]> = {
  draft: ["draft"],
  open: ["draft", "open"],
  uncollectible: ["draft", "open", "uncollectible"],
  paid: ["draft", "open", "uncollectible", "paid"],
  void: ["draft", "open", "uncollectible", "void"],
};

/** The stored states each customer state may be written over: a deletion is final, as at Stripe. */
export const CUSTOMER_MAY_FOLLOW: Record<CustomerRow["status"], readonly CustomerRow["status"][]> = {
  active: ["active"],
  deleted: ["active", "deleted"],
};

type SubscriptionStatus = CustomerSubscriptionRow["status"];
const LIVE: readonly SubscriptionStatus[] = [
  "incomplete",
  "trialing",
  "active",
  "past_due",
  "unpaid",
  "paused",
];

/**
 * The stored states each subscription state may be written over. An ended subscription (canceled,
 * or incomplete_expired) never runs again, and one that has left incomplete never goes back to it;
 * the live states move among each other (a payment fails and is recovered, a trial is added, a
 * pause ends).
 */
export const SUBSCRIPTION_MAY_FOLLOW: Record<SubscriptionStatus, readonly SubscriptionStatus[]> = {
  incomplete: ["incomplete"],
  incomplete_expired: ["incomplete", "incomplete_expired"],
  trialing: LIVE,
  active: LIVE,
  past_due: LIVE,
  unpaid: LIVE,
  paused: LIVE,
  canceled: [...LIVE, "incomplete_expired", "canceled"],
};

/** Whether a subscription shown as `stored` may be shown as `next`: a state it has left is not taken back. */
export const subscriptionMayFollow = (stored: SubscriptionStatus, next: SubscriptionStatus): boolean =>
  SUBSCRIPTION_MAY_FOLLOW[next].includes(stored);

/** The tenant event that reports a subscription's change, or null. */
export function subscriptionEventType(
  before: CustomerSubscriptionRow | undefined,
  after: CustomerSubscriptionRow,
): string | null {
  if (!before) return "subscription.created";
  if (before.status !== "canceled" && after.status === "canceled") return "subscription.canceled";
  return differs(before, after, SUBSCRIPTION_FIELDS) ? "subscription.updated" : null;
}

const INVOICE_TRANSITIONS: Partial<Record<InvoiceRow["status"], string>> = {
  open: "invoice.finalized",
  paid: "invoice.paid",
  void: "invoice.voided",
  uncollectible: "invoice.marked_uncollectible",
};

/**
 * The tenant events that report an invoice's change: `invoice.created`, then its state's
 * (`invoice.finalized`, `.paid`, `.voided`, `.marked_uncollectible`) when the state moved. A new
 * invoice may already be finalized or paid. (`invoice.payment_failed` reports each failed attempt
 * from Stripe's own event, whatever the state.)
 */
export function invoiceEventTypes(before: InvoiceRow | undefined, after: InvoiceRow): string[] {
  const types: string[] = before ? [] : ["invoice.created"];
  const transition = INVOICE_TRANSITIONS[after.status];
  if (transition && before?.status !== after.status) types.push(transition);
  return types;
}
