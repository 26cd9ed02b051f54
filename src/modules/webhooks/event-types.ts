/** Every event type the platform sends to tenants (`enabled_events` picks among them, or "*"). */
export const TENANT_EVENT_TYPES = [
  // The tenant's own account with the platform.
  "tenant.suspended",
  "tenant.reactivated",
  "tenant.trial_will_end",
  "subscription.past_due",
  // The tenant's plans.
  "plan.created",
  "plan.updated",
  "plan.deactivated",
  // The tenant's own billing (its customers on its connected Stripe account), from the mirror.
  "customer.created",
  "customer.updated",
  "customer.deleted",
  "subscription.created",
  "subscription.updated",
  "subscription.canceled",
  "subscription.trial_will_end",
  "checkout.completed",
  "invoice.created",
  "invoice.finalized",
  "invoice.paid",
  "invoice.payment_failed",
  "invoice.voided",
  "invoice.marked_uncollectible",
  "invoice.upcoming",
  "refund.created",
  "refund.updated",
  "charge.refunded",
  "subscription.dunning_action",
] as const;

export type TenantEventType = (typeof TENANT_EVENT_TYPES)[number];

/** Whether an endpoint with `enabledEvents` (null or ["*"] = all) wants events of `type`. */
export function wantsEvent(enabledEvents: string[] | null, type: string): boolean {
  return !enabledEvents || enabledEvents.includes("*") || enabledEvents.includes(type);
}
