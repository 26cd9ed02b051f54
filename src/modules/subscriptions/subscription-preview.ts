// What a plan or quantity change would cost: Stripe's invoice preview of the change, prorated as asked.
import type Stripe from "stripe";
import type { RequestContext } from "../../context";
import { moneyDisplay as moneyDisplayOf } from "../../lib/money";
import { connectedTenant } from "../stripe-connect/connected-account";
import { itemChange, type SubscriptionChanges } from "./subscription-update";
import { findSubscription, refuseEnded } from "./subscriptions.service";

/**
 * What a plan or quantity change would cost (Stripe's invoice preview with the proration, and
 * the next invoice), without changing anything.
 */
export async function previewSubscription(
  ctx: RequestContext,
  id: string,
  input: {
    plan?: string | undefined;
    quantity?: number | undefined;
    proration_behavior: SubscriptionChanges["proration_behavior"];
  },
) {
  const row = await findSubscription(ctx, id);
  refuseEnded(row, "previewed");
  const tenant = await connectedTenant(ctx, row.tenantId, "previewing subscriptions");
  const change = await itemChange(ctx, row, input);
  const preview = await ctx.stripe.invoices.createPreview(
    {
      customer: row.stripeCustomerId,
      subscription: row.stripeSubscriptionId,
      subscription_details: {
        proration_behavior: input.proration_behavior,
        proration_date: Math.floor(ctx.clock.now().getTime() / 1000),
        ...(change ? { items: change.items } : {}),
      },
    },
    { stripeAccount: tenant.stripeConnectAccountId },
  );
  return serializePreview(preview);
}

function serializePreview(preview: Stripe.Invoice) {
  const lines = preview.lines.data.map((line) => {
    const raw = line as unknown as {
      parent?: { subscription_item_details?: { proration?: boolean } };
      proration?: boolean;
    };
    return {
      description: line.description ?? null,
      amount: line.amount,
      quantity: line.quantity ?? null,
      proration: raw.parent?.subscription_item_details?.proration === true || raw.proration === true,
    };
  });
  const seconds = (value: number | null | undefined) => (value ? new Date(value * 1000).toISOString() : null);
  return {
    object: "invoice_preview" as const,
    currency: preview.currency,
    subtotal: preview.subtotal,
    total: preview.total,
    amount_due: preview.amount_due,
    amount_due_display: moneyDisplayOf(preview.amount_due, preview.currency),
    proration_amount: lines.filter((line) => line.proration).reduce((sum, line) => sum + line.amount, 0),
    lines,
    period_start: seconds(preview.period_start),
    period_end: seconds(preview.period_end),
  };
}
