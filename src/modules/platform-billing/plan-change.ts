// Changing the tenant's platform plan: an upgrade is paid before it applies, a downgrade is
// credited on the next invoice (BILLING-FACTS 11).
import type Stripe from "stripe";
import { type RequestContext, userCaller } from "../../context";
import type { PlatformPlanRow, TenantSubscriptionRow } from "../../db/schema";
import { ApiError } from "../../lib/errors";
import { errorFields } from "../../lib/logger";
import { monthly } from "../analytics/mrr";
import { loadSubscription, pricePaid, purchasablePlan, requireLive, settle } from "./subscription.service";

interface Price {
  cents: number;
  interval: "month" | "year";
}

/**
 * Whether moving from `current` to `next` is an upgrade: a higher price a month, whatever each is
 * billed by (a yearly price is a twelfth a month), so monthly → yearly at a discount is not one.
 */
export function isUpgrade(current: Price, next: Price): boolean {
  return monthly(next.cents, next.interval, 1) > monthly(current.cents, current.interval, 1);
}

/** What the subscription pays now: its price as stored, else its plan's. */
function currentPrice(subscription: TenantSubscriptionRow, plan: PlatformPlanRow | null): Price | null {
  if (subscription.priceCents !== null && subscription.priceInterval)
    return { cents: subscription.priceCents, interval: subscription.priceInterval };
  return plan ? { cents: plan.priceCents, interval: plan.billingInterval } : null;
}

/**
 * Moves the subscription to another plan. An upgrade of a paying subscription is invoiced at once
 * (`always_invoice`) and applies only if that invoice is paid (`pending_if_incomplete`): a card
 * that fails leaves the plan, tier and limits as they were, and the change waits at Stripe for
 * the invoice (payable with `POST .../subscription/pay/`) until Stripe lets it expire (23 h at
 * most). Downgrades, and any change during a trial, apply at once with Stripe's default
 * proration (credited or charged on the next invoice).
 */
export async function changePlan(ctx: RequestContext, input: { plan_id: string }) {
  const { stripe } = ctx;
  const principal = userCaller(ctx);
  const { tenant, subscription, plan: currentPlan } = await loadSubscription(ctx, principal.tenantId);
  const live = requireLive(subscription);
  if (live.planId === input.plan_id) throw new ApiError("conflict", "The tenant is already on this plan");
  const plan = await purchasablePlan(ctx, input.plan_id);
  const current = await stripe.subscriptions.retrieve(live.stripeSubscriptionId);
  const item = current.items.data[0];
  if (!item) throw new ApiError("stripe_error", "Stripe returned a subscription without items");
  const items = [{ id: item.id, price: plan.stripePriceId }];
  const paidFrom = currentPrice(live, currentPlan);
  const upgrade =
    current.status !== "trialing" &&
    (!paidFrom || isUpgrade(paidFrom, { cents: plan.priceCents, interval: plan.billingInterval }));
  const metadata = { tenant_id: tenant.id, platform_plan_id: plan.id };

  let updated: Stripe.Subscription;
  if (upgrade) {
    // Stripe takes no metadata with a pending update: it follows once the change applied.
    updated = await stripe.subscriptions.update(live.stripeSubscriptionId, {
      items,
      proration_behavior: "always_invoice",
      payment_behavior: "pending_if_incomplete",
    });
    if (updated.pending_update) throw upgradeUnpaid(updated);
    updated = await stripe.subscriptions
      .update(live.stripeSubscriptionId, { metadata })
      .catch((error: unknown) => {
        // Only a label at Stripe: the plan follows the price, which changed.
        ctx.log.warn("platform_plan_id not updated at Stripe", errorFields(error));
        return updated;
      });
  } else {
    updated = await stripe.subscriptions.update(live.stripeSubscriptionId, {
      items,
      proration_behavior: "create_prorations",
      metadata,
    });
  }
  await settle(
    ctx,
    { tenant, userId: principal.userId },
    {
      type: "customer.subscription.updated",
      subscription: updated,
      changes: { planId: plan.id, ...pricePaid(updated, plan) },
      plan,
      action: "subscription.plan_changed",
    },
  );
  return loadSubscription(ctx, tenant.id);
}

/** 402: Stripe kept the plan, waiting for the upgrade's invoice. */
function upgradeUnpaid(subscription: Stripe.Subscription): ApiError {
  const invoice = subscription.latest_invoice;
  const expiresAt = subscription.pending_update?.expires_at;
  return new ApiError(
    "payment_failed",
    "The upgrade's invoice could not be paid, so the plan did not change. It applies once that invoice is paid (POST /api/v1/auth/tenants/subscription/pay/) before the change expires.",
    {
      extra: {
        invoice: typeof invoice === "string" ? invoice : (invoice?.id ?? null),
        pending_update_expires_at: expiresAt ? new Date(expiresAt * 1000).toISOString() : null,
      },
    },
  );
}
