import { and, desc, eq, isNull } from "drizzle-orm";
import Stripe from "stripe";
import type { RequestContext } from "../../context";
import { type CouponRow, coupons } from "../../db/schema";
import { type AuditEntry, auditInsert, auditInsertIfChanged } from "../../lib/audit";
import { newId } from "../../lib/crypto";
import { uniqueViolation } from "../../lib/db-errors";
import { ApiError, notFound } from "../../lib/errors";
import { afterCursor, decodeCursor, toPage } from "../../lib/pagination";
import { readScope, writeScope } from "../../lib/scope";
import { withStripeUndo } from "../../stripe/undo";
import { connectedTenant } from "../stripe-connect/connected-account";
import { findCoupon } from "./discounts";

export interface NewCoupon {
  id?: string | undefined;
  name?: string | undefined;
  percent_off?: number | undefined;
  amount_off?: number | undefined;
  currency?: string | undefined;
  duration: CouponRow["duration"];
  duration_in_months?: number | undefined;
  max_redemptions?: number | undefined;
  redeem_by?: string | undefined;
  metadata?: Record<string, string> | undefined;
}

const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/** The audit record of a coupon change. */
function auditEntry(
  ctx: RequestContext,
  scope: ReturnType<typeof writeScope>,
  action: string,
  id: string,
  metadata = {},
): AuditEntry {
  return {
    tenantId: scope.tenantId,
    ...scope.actor,
    action,
    targetType: "coupon",
    targetId: id,
    metadata,
    requestId: ctx.requestId,
    at: ctx.clock.now(),
  };
}

/** An audit record of a coupon change, for the change's batch. */
const audited = (...args: Parameters<typeof auditEntry>) => auditInsert(args[0].db, auditEntry(...args));

/**
 * Creates a coupon on the tenant's connected account under our id (or the tenant's own code);
 * then one D1 batch (row + audit). A code the tenant already has is 409 before Stripe is asked.
 * Two creates of one code at once are settled by Stripe, which holds one coupon per id: the
 * idempotency key is this attempt's own (a key from the code alone handed the second create the
 * first one's coupon, which its undo then deleted), so the second is refused there and answers
 * 409. If the D1 write fails, the coupon this attempt made, and only it, is deleted again.
 */
export async function createCoupon(ctx: RequestContext, input: NewCoupon) {
  const scope = writeScope(ctx);
  if (input.redeem_by && Date.parse(input.redeem_by) <= ctx.clock.now().getTime())
    throw new ApiError("validation_error", "redeem_by must be in the future", {
      details: [{ field: "redeem_by", message: "must be in the future" }],
    });
  const id = input.id ?? newId("coupon");
  const taken = await ctx.db
    .select({ id: coupons.id })
    .from(coupons)
    .where(
      and(eq(coupons.tenantId, scope.tenantId), eq(coupons.livemode, scope.livemode), eq(coupons.id, id)),
    )
    .get();
  if (taken) throw new ApiError("conflict", `The tenant already has a coupon ${id}`);
  const tenant = await connectedTenant(ctx, scope.tenantId, "creating coupons");
  const stripeAccount = tenant.stripeConnectAccountId;
  return withStripeUndo(ctx, async (undo) => {
    const coupon = await ctx.stripe.coupons
      .create(
        {
          id,
          ...(input.name ? { name: input.name } : {}),
          ...(input.percent_off !== undefined ? { percent_off: input.percent_off } : {}),
          ...(input.amount_off !== undefined
            ? { amount_off: input.amount_off, currency: input.currency }
            : {}),
          duration: input.duration,
          ...(input.duration_in_months ? { duration_in_months: input.duration_in_months } : {}),
          ...(input.max_redemptions ? { max_redemptions: input.max_redemptions } : {}),
          ...(input.redeem_by ? { redeem_by: seconds(input.redeem_by) } : {}),
          metadata: { ...input.metadata, tenant_id: tenant.id },
        },
        {
          stripeAccount,
          idempotencyKey: `coupon:${tenant.id}:${scope.livemode ? "live" : "test"}:${id}:${newId("try")}`,
        },
      )
      .catch((error: unknown) => {
        // The id is taken at Stripe: by another create of the code at once, or outside our API.
        if (
          error instanceof Stripe.errors.StripeInvalidRequestError &&
          error.code === "resource_already_exists"
        )
          throw new ApiError("conflict", `The connected account already has a coupon ${id}`, {
            cause: error,
          });
        throw error;
      });
    undo.push(`delete coupon ${coupon.id}`, () => ctx.stripe.coupons.del(coupon.id, {}, { stripeAccount }));
    const now = ctx.clock.now();
    const row: CouponRow = {
      tenantId: tenant.id,
      livemode: coupon.livemode,
      id: coupon.id,
      name: coupon.name ?? null,
      percentOff: coupon.percent_off ?? null,
      amountOff: coupon.amount_off ?? null,
      currency: coupon.currency ?? null,
      duration: input.duration,
      durationInMonths: coupon.duration_in_months ?? null,
      maxRedemptions: coupon.max_redemptions ?? null,
      redeemBy: coupon.redeem_by ? new Date(coupon.redeem_by * 1000) : null,
      timesRedeemed: coupon.times_redeemed ?? 0,
      metadata: input.metadata ?? {},
      deletedAt: null,
      createdAt: now,
      updatedAt: now,
    };
    await ctx.db
      .batch([ctx.db.insert(coupons).values(row), audited(ctx, scope, "coupon.created", row.id)])
      .catch((error: unknown) => {
        // Another create stored the code since the check (its coupon was deleted at Stripe
        // before ours was made): ours is undone, theirs stays.
        if (uniqueViolation(error))
          throw new ApiError("conflict", `The tenant already has a coupon ${id}`, { cause: error });
        throw error;
      });
    return row;
  });
}

/**
 * A coupon, with its redemption count read from Stripe (which counts every discount made from
 * it, here or in Stripe's dashboard) and kept in the row.
 */
export async function getCoupon(ctx: RequestContext, id: string) {
  const scope = readScope(ctx);
  const row = await findCoupon(ctx, id, scope.livemode);
  if (row.deletedAt) return row;
  const tenant = await connectedTenant(ctx, scope.tenantId, "reading coupons");
  const coupon = await ctx.stripe.coupons
    .retrieve(row.id, {}, { stripeAccount: tenant.stripeConnectAccountId })
    .catch((error: unknown) => {
      if (error instanceof Stripe.errors.StripeInvalidRequestError && error.statusCode === 404) return null;
      throw error;
    });
  const timesRedeemed = coupon?.times_redeemed ?? row.timesRedeemed;
  if (coupon && timesRedeemed !== row.timesRedeemed) {
    await ctx.db
      .update(coupons)
      .set({ timesRedeemed })
      .where(
        and(eq(coupons.tenantId, row.tenantId), eq(coupons.livemode, row.livemode), eq(coupons.id, row.id)),
      );
  }
  return { ...row, timesRedeemed };
}

/** Deletes the coupon at Stripe (no new redemptions; discounts made from it go on), kept here as deleted. */
export async function deleteCoupon(ctx: RequestContext, id: string) {
  const row = await findCoupon(ctx, id, readScope(ctx).livemode);
  const scope = writeScope(ctx);
  if (row.livemode !== scope.livemode) throw notFound("Coupon");
  if (row.deletedAt) return row;
  const tenant = await connectedTenant(ctx, scope.tenantId, "deleting coupons");
  await ctx.stripe.coupons
    .del(row.id, {}, { stripeAccount: tenant.stripeConnectAccountId })
    .catch((error: unknown) => {
      // Already gone at Stripe: the row follows.
      if (!(error instanceof Stripe.errors.StripeInvalidRequestError && error.statusCode === 404))
        throw error;
    });
  const now = ctx.clock.now();
  // Only the delete that marks the row tells it: another one at once (both read it live) finds
  // it marked, writes no second audit record and answers the row as the first stored it.
  await ctx.db.batch([
    ctx.db
      .update(coupons)
      .set({ deletedAt: now, updatedAt: now })
      .where(
        and(
          eq(coupons.tenantId, row.tenantId),
          eq(coupons.livemode, row.livemode),
          eq(coupons.id, row.id),
          isNull(coupons.deletedAt),
        ),
      ),
    auditInsertIfChanged(ctx.db, auditEntry(ctx, scope, "coupon.deleted", row.id)),
  ]);
  return findCoupon(ctx, row.id, row.livemode);
}

export async function listCoupons(
  ctx: RequestContext,
  filters: { limit: number; cursor?: string | undefined; include_deleted?: "true" | "false" | undefined },
) {
  const scope = readScope(ctx);
  const rows = await ctx.db
    .select()
    .from(coupons)
    .where(
      and(
        eq(coupons.tenantId, scope.tenantId),
        scope.livemode === null ? undefined : eq(coupons.livemode, scope.livemode),
        filters.include_deleted === "true" ? undefined : isNull(coupons.deletedAt),
        afterCursor(coupons.createdAt, coupons.id, decodeCursor(filters.cursor)),
      ),
    )
    .orderBy(desc(coupons.createdAt), desc(coupons.id))
    .limit(filters.limit + 1);
  return toPage(rows, filters.limit);
}
