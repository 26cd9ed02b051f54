// Changing a subscription: plan, quantity, discount and metadata, with Stripe's proration.
import type Stripe from "stripe";
import type { RequestContext } from "../../context";
import type { CustomerSubscriptionRow } from "../../db/schema";
import { newId } from "../../lib/crypto";
import { ApiError, validationError } from "../../lib/errors";
import { assertStripeAmount } from "../../lib/money";
import { assertDiscountCurrency } from "../coupons/discount-currency";
import { resolveDiscount } from "../coupons/discounts";
import {
  type Answered,
  applyChange,
  changeable,
  EXPAND,
  refuseEnded,
  refuseIncomplete,
  sellablePlan,
} from "./subscriptions.service";

export interface SubscriptionChanges {
  plan?: string | undefined;
  quantity?: number | undefined;
  proration_behavior: "create_prorations" | "none" | "always_invoice";
  coupon?: string | null | undefined;
  promotion_code?: string | undefined;
  metadata?: Record<string, string> | undefined;
}

/** The item change Stripe is asked for (plan and/or quantity), with the new plan when it changes. */
export async function itemChange(
  ctx: RequestContext,
  row: CustomerSubscriptionRow,
  input: { plan?: string | undefined; quantity?: number | undefined },
) {
  const plan =
    input.plan && input.plan !== row.planId ? await sellablePlan(ctx, input.plan, row.livemode) : null;
  // Stripe bills a subscription in one currency for its whole life.
  if (plan && plan.currency !== row.currency) {
    throw validationError(
      "plan",
      `This plan is billed in ${plan.currency}, but the subscription in ${row.currency}: subscribe the customer to it separately`,
    );
  }
  if (!plan && input.quantity === undefined) return null;
  // Every invoice of the subscription bills its price × quantity: past Stripe's cap, none could be.
  assertStripeAmount(
    plan?.priceCents ?? row.unitAmount,
    input.quantity ?? row.quantity,
    input.quantity === undefined ? "plan" : "quantity",
  );
  if (!row.stripeItemId)
    throw new ApiError("stripe_error", "Stripe gave this subscription no item to change");
  return {
    plan,
    items: [
      {
        id: row.stripeItemId,
        ...(plan ? { price: plan.stripePriceId } : {}),
        ...(input.quantity !== undefined ? { quantity: input.quantity } : {}),
      },
    ],
  };
}

/** Changes plan, quantity, discount or metadata, with Stripe's proration (`proration_behavior`). */
export async function updateSubscription(
  ctx: RequestContext,
  id: string,
  input: SubscriptionChanges,
): Promise<Answered> {
  const { row, tenant, stripeAccount } = await changeable(ctx, id, "changing subscriptions");
  refuseEnded(row, "changed");
  const change = await itemChange(ctx, row, input);
  const discount =
    input.coupon || input.promotion_code
      ? await resolveDiscount(
          ctx,
          { coupon: input.coupon ?? undefined, promotion_code: input.promotion_code },
          row.livemode,
        )
      : null;
  assertDiscountCurrency(discount, row.currency);
  // Nothing to change (an empty body, or the plan it is on): Stripe would change nothing and send
  // no event, so nothing is told or audited; the subscription answers as stored.
  if (!change && !discount && input.coupon !== null && input.metadata === undefined)
    return { row, written: false };
  if (change || discount || input.coupon === null) refuseIncomplete(row, "changed");
  const params: Stripe.SubscriptionUpdateParams = {
    expand: EXPAND,
    ...(change ? { items: change.items, proration_behavior: input.proration_behavior } : {}),
    ...(discount ? { discounts: [discount.stripe] } : input.coupon === null ? { discounts: "" } : {}),
    ...(input.metadata || change?.plan
      ? { metadata: stripeMetadata(row, input.metadata, change?.plan?.id) }
      : {}),
  };
  // A fresh key per request (never the caller's X-Request-Id): Stripe would replay an old change
  // for a reused one. The SDK's own retries of this call reuse it.
  const subscription = await ctx.stripe.subscriptions.update(row.stripeSubscriptionId, params, {
    stripeAccount,
    idempotencyKey: `subscription-update:${row.id}:${newId("req")}`,
  });
  return applyChange(ctx, tenant, row, subscription, {
    ...(change?.plan ? { planId: change.plan.id } : {}),
    action: change?.plan ? "plan_changed" : "updated",
  });
}

/** Stripe merges metadata: keys the tenant dropped are sent as "", and our own keys stay. */
function stripeMetadata(
  row: CustomerSubscriptionRow,
  metadata: Record<string, string> | undefined,
  planId?: string,
) {
  const next = metadata ?? row.metadata;
  const removed = Object.fromEntries(
    Object.keys(row.metadata)
      .filter((key) => !(key in next))
      .map((key) => [key, ""]),
  );
  return {
    ...removed,
    ...next,
    tenant_id: row.tenantId,
    subscription_id: row.id,
    customer_id: row.customerId,
    plan_id: planId ?? row.planId ?? "",
  };
}
