// Cancellation, its taking back, and pausing collection: each a Stripe change on the connected
// account applied to the mirror with its tenant event, refused for a subscription that has ended
// (and, but for cancelling now, for an incomplete one, as Stripe refuses it).
import { sql } from "drizzle-orm";
import type { RequestContext } from "../../context";
import { type CustomerSubscriptionRow, customerSubscriptions as subs } from "../../db/schema";
import { ApiError } from "../../lib/errors";
import { missingAtStripe } from "../../stripe/errors";
import {
  type Answered,
  applyChange,
  changeable,
  EXPAND,
  refuseEnded,
  refuseIncomplete,
} from "./subscriptions.service";

/** Cancels at period end (default; resumable until then) or now (`invoice_now`, `prorate` as Stripe's). */
export async function cancelSubscription(
  ctx: RequestContext,
  id: string,
  input: { at_period_end: boolean; invoice_now?: boolean | undefined; prorate?: boolean | undefined },
): Promise<Answered> {
  const { row, tenant, stripeAccount } = await changeable(ctx, id, "cancelling subscriptions");
  if (input.at_period_end) refuseIncomplete(row, "cancelled at period end");
  else refuseEnded(row, "cancelled");
  const subscription = input.at_period_end
    ? await ctx.stripe.subscriptions.update(
        row.stripeSubscriptionId,
        { cancel_at_period_end: true, expand: EXPAND },
        { stripeAccount },
      )
    : await ctx.stripe.subscriptions
        .cancel(
          row.stripeSubscriptionId,
          {
            ...(input.invoice_now !== undefined ? { invoice_now: input.invoice_now } : {}),
            ...(input.prorate !== undefined ? { prorate: input.prorate } : {}),
            expand: EXPAND,
          },
          { stripeAccount },
        )
        .catch((error: unknown) => {
          // Stripe has no live subscription to cancel: it ended there before the mirror heard.
          if (missingAtStripe(error)) {
            throw new ApiError("invalid_state_transition", "This subscription has already ended at Stripe", {
              extra: { status: "canceled" },
              cause: error,
            });
          }
          throw error;
        });
  return applyChange(ctx, tenant, row, subscription, {
    action: input.at_period_end ? "cancel_scheduled" : "canceled",
    // Scheduled already (the same cancel at once, or before): Stripe changed nothing, nor do we.
    ...(input.at_period_end ? { onlyIf: () => sql`${subs.cancelAtPeriodEnd} = 0` } : {}),
  });
}

/** 409 for a subscription with no cancellation scheduled to take back. */
function refuseNoPendingCancellation(row: CustomerSubscriptionRow) {
  if (!row.cancelAtPeriodEnd && !row.cancelAt) {
    throw new ApiError(
      "invalid_state_transition",
      "This subscription has no pending cancellation to take back",
      {
        extra: { status: row.status },
      },
    );
  }
}

/** 409 for a subscription whose collection is not paused. */
function refuseNotPaused(row: CustomerSubscriptionRow) {
  if (!row.pauseBehavior) {
    throw new ApiError("invalid_state_transition", "Collection of this subscription is not paused", {
      extra: { status: row.status },
    });
  }
}

/** Takes back a cancellation scheduled for the period end. */
export async function resumeSubscription(ctx: RequestContext, id: string): Promise<Answered> {
  const { row, tenant, stripeAccount } = await changeable(ctx, id, "resuming subscriptions");
  refuseIncomplete(row, "resumed");
  refuseNoPendingCancellation(row);
  const subscription = await ctx.stripe.subscriptions.update(
    row.stripeSubscriptionId,
    { cancel_at_period_end: false, cancel_at: "", expand: EXPAND },
    { stripeAccount },
  );
  // Taken back already when the write comes (another resume at once, or the mirror applying
  // Stripe's event of this very change): Stripe's answer shows it done, so it answers as done
  // (not 409: the mirror's case is this request's own change), told and audited once.
  return applyChange(ctx, tenant, row, subscription, {
    action: "resumed",
    onlyIf: () => sql`(${subs.cancelAtPeriodEnd} = 1 OR ${subs.cancelAt} IS NOT NULL)`,
  });
}

/** Pauses payment collection (`behavior`: what happens to invoices meanwhile), or resumes it. */
export async function setPaused(
  ctx: RequestContext,
  id: string,
  pause: {
    behavior: "keep_as_draft" | "mark_uncollectible" | "void";
    resumes_at?: string | undefined;
  } | null,
): Promise<Answered> {
  const { row, tenant, stripeAccount } = await changeable(ctx, id, "pausing subscriptions");
  refuseIncomplete(row, pause ? "paused" : "unpaused");
  if (!pause) refuseNotPaused(row);
  const subscription = await ctx.stripe.subscriptions.update(
    row.stripeSubscriptionId,
    {
      pause_collection: pause
        ? {
            behavior: pause.behavior,
            ...(pause.resumes_at ? { resumes_at: Math.floor(Date.parse(pause.resumes_at) / 1000) } : {}),
          }
        : "",
      // A pause (or its end) asked for here is not dunning's: its "unpaid" mark goes.
      metadata: { dunning_status: "" },
      expand: EXPAND,
    },
    { stripeAccount },
  );
  // Paused so already, or not paused any more, when the write comes (the same verb at once, or the
  // mirror applying Stripe's event of this very change): answered as done, told and audited once.
  return applyChange(ctx, tenant, row, subscription, {
    action: pause ? "paused" : "unpaused",
    onlyIf: (next) =>
      pause
        ? sql`NOT (${subs.pauseBehavior} IS ${next.pauseBehavior} AND ${subs.pauseResumesAt} IS ${next.pauseResumesAt?.getTime() ?? null})`
        : sql`${subs.pauseBehavior} IS NOT NULL`,
  });
}
