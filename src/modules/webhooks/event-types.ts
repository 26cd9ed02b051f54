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
  // Forwarded from the tenant's connected Stripe account.
  "subscription.created",
  "subscription.updated",
  "subscription.deleted",
  "subscription.trial_will_end",
  "invoice.payment_succeeded",
  "invoice.payment_failed",
  "invoice.upcoming",
  "customer.created",
  "customer.updated",
  "customer.deleted",
  "checkout.session.completed",
  "charge.refunded",
] as const;

export type TenantEventType = (typeof TENANT_EVENT_TYPES)[number];

/** Whether an endpoint with `enabledEvents` (null or ["*"] = all) wants events of `type`. */
export function wantsEvent(enabledEvents: string[] | null, type: string): boolean {
  return !enabledEvents || enabledEvents.includes("*") || enabledEvents.includes(type);
}
