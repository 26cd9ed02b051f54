import { inArray } from "drizzle-orm";
import type { RequestContext } from "../../context";
import { type PlatformPlanRow, platformPlans, type StripeEventRow } from "../../db/schema";
import type { Outcome } from "./billing-runs";
import { type StripeEventLike, subscriptionPrice } from "./stripe-mapping";

// A plan change made at Stripe (its dashboard, the customer portal, a schedule) reaches the tenant
// through its subscription's snapshots: the price they name is the plan the tenant is on.

/** The platform plans of the prices the run's platform subscription snapshots name: one query. */
export async function plansByPrice(
  ctx: RequestContext,
  rows: StripeEventRow[],
  events: Map<string, StripeEventLike>,
): Promise<Map<string, PlatformPlanRow>> {
  const prices = new Set<string>();
  for (const row of rows) {
    const event = events.get(row.id);
    if (row.endpoint !== "platform" || !event?.type.startsWith("customer.subscription.")) continue;
    const { priceId } = subscriptionPrice(event.data?.object ?? {});
    if (priceId) prices.add(priceId);
  }
  return plansOfPrices(ctx, prices);
}

/** The platform plans of these Stripe prices, by price id: one query, none without a price. */
export async function plansOfPrices(
  ctx: RequestContext,
  prices: Set<string>,
): Promise<Map<string, PlatformPlanRow>> {
  if (!prices.size) return new Map();
  const plans = await ctx.db
    .select()
    .from(platformPlans)
    .where(inArray(platformPlans.stripePriceId, [...prices]));
  return new Map(plans.map((plan) => [plan.stripePriceId as string, plan]));
}

/**
 * A subscription snapshot newer than every one applied, of the tenant's current subscription, on
 * the Stripe price of another platform plan: the plan was changed at Stripe (the dashboard, the
 * customer portal, a schedule), so the tenant takes that plan's tier, limits and price, as a plan
 * change through our API does. A price no plan has now (one replaced by a repricing) changes
 * nothing. Only a snapshot that moved the watermark decides: one of the same second as the newest
 * applied may be older than it (the API's own change of that second).
 */
export function followPlan(outcome: Outcome, event: StripeEventLike, note: string): string {
  if (event.type !== "customer.subscription.created" && event.type !== "customer.subscription.updated")
    return note;
  const object = event.data.object;
  const price = subscriptionPrice(object);
  const plan = price.priceId ? outcome.plansByPrice.get(price.priceId) : undefined;
  if (!plan || plan.id === outcome.planId || outcome.state.stripeSubscriptionId !== object.id) return note;
  if (outcome.state.subscriptionStatus === "cancelled") return note;
  outcome.audits.push({
    kind: "audit",
    action: "billing.plan_synced",
    metadata: { plan_id: plan.id, previous_plan_id: outcome.planId, price_id: price.priceId },
  });
  outcome.planId = plan.id;
  Object.assign(outcome.subscriptionChanges, {
    planId: plan.id,
    priceCents: price.unitAmount ?? plan.priceCents,
    priceCurrency: price.currency ?? plan.currency,
    priceInterval: price.interval ?? plan.billingInterval,
  });
  Object.assign(outcome.tenantChanges, { subscriptionTier: plan.tier, limits: plan.limits });
  return `${note}; plan ${plan.id} (its price at Stripe)`;
}
