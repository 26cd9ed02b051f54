import { and, desc, eq, sql } from "drizzle-orm";
import Stripe from "stripe";
import type { RequestContext } from "../../context";
import { type PromotionCodeRow, promotionCodes } from "../../db/schema";
import { type AuditEntry, auditInsert, auditInsertIfChanged } from "../../lib/audit";
import { newId } from "../../lib/crypto";
import { ApiError, notFound, validationError } from "../../lib/errors";
import { afterCursor, decodeCursor, toPage } from "../../lib/pagination";
import { readScope, writeScope } from "../../lib/scope";
import { withStripeUndo } from "../../stripe/undo";
import { activeCustomer } from "../customers/customers.queries";
import { connectedTenant } from "../stripe-connect/connected-account";
import { findCoupon } from "./discounts";

export interface NewPromotionCode {
  code?: string | undefined;
  customer?: string | undefined;
  max_redemptions?: number | undefined;
  expires_at?: string | undefined;
  first_time_transaction?: boolean | undefined;
  minimum_amount?: number | undefined;
  minimum_amount_currency?: string | undefined;
  metadata?: Record<string, string> | undefined;
}

const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

function auditEntry(
  ctx: RequestContext,
  action: string,
  targetType: string,
  targetId: string,
  metadata = {},
): AuditEntry {
  const scope = writeScope(ctx);
  return {
    tenantId: scope.tenantId,
    ...scope.actor,
    action,
    targetType,
    targetId,
    metadata,
    requestId: ctx.requestId,
    at: ctx.clock.now(),
  };
}

const audit = (...args: Parameters<typeof auditEntry>) => auditInsert(args[0].db, auditEntry(...args));

/**
 * A customer-facing code for one of the tenant's coupons (a Stripe promotion code on the
 * connected account; idempotency key from the coupon and this attempt). An active code the tenant
 * already has is 409: here, or at Stripe, which holds one active promotion code per code and so
 * settles two creates of one code at once. If the D1 write fails, the code this attempt made is
 * deactivated again (Stripe cannot delete one), so it does not hold the code. An `expires_at`
 * already past is 400 before Stripe is asked.
 */
export async function createPromotionCode(ctx: RequestContext, couponId: string, input: NewPromotionCode) {
  // Stripe refuses a code that could never be redeemed: ours says so as bad input, not as a 502.
  if (input.expires_at && Date.parse(input.expires_at) <= ctx.clock.now().getTime())
    throw validationError("expires_at", "expires_at must be in the future");
  const coupon = await findCoupon(ctx, couponId, readScope(ctx).livemode);
  const scope = writeScope(ctx);
  if (coupon.livemode !== scope.livemode) throw notFound("Coupon");
  if (coupon.deletedAt)
    throw new ApiError("invalid_state_transition", "This coupon is deleted", {
      extra: { status: "deleted" },
    });
  const customer = input.customer ? await activeCustomer(ctx, input.customer) : null;
  if (input.code) {
    const clash = await ctx.db
      .select({ id: promotionCodes.id })
      .from(promotionCodes)
      .where(
        and(
          eq(promotionCodes.tenantId, scope.tenantId),
          eq(promotionCodes.livemode, scope.livemode),
          eq(promotionCodes.active, true),
          sql`lower(${promotionCodes.code}) = ${input.code.toLowerCase()}`,
        ),
      )
      .get();
    if (clash) throw new ApiError("conflict", `An active promotion code ${input.code} exists already`);
  }
  const tenant = await connectedTenant(ctx, scope.tenantId, "creating promotion codes");
  const key = newId("pc");
  return withStripeUndo(ctx, async (undo) => {
    const created = await ctx.stripe.promotionCodes
      .create(
        {
          promotion: { type: "coupon", coupon: coupon.id },
          ...(input.code ? { code: input.code } : {}),
          ...(customer ? { customer: customer.stripeCustomerId } : {}),
          ...(input.max_redemptions ? { max_redemptions: input.max_redemptions } : {}),
          ...(input.expires_at ? { expires_at: seconds(input.expires_at) } : {}),
          ...(input.first_time_transaction || input.minimum_amount
            ? {
                restrictions: {
                  ...(input.first_time_transaction ? { first_time_transaction: true } : {}),
                  ...(input.minimum_amount
                    ? {
                        minimum_amount: input.minimum_amount,
                        minimum_amount_currency: input.minimum_amount_currency,
                      }
                    : {}),
                },
              }
            : {}),
          metadata: { ...input.metadata, tenant_id: tenant.id },
        },
        {
          stripeAccount: tenant.stripeConnectAccountId,
          idempotencyKey: `promotion-code:${coupon.id}:${key}`,
        },
      )
      .catch((error: unknown) => {
        if (error instanceof Stripe.errors.StripeInvalidRequestError && error.param === "code")
          throw new ApiError("conflict", `Stripe refused the code: ${error.message}`, { cause: error });
        throw error;
      });
    undo.push(`deactivate promotion code ${created.id}`, () =>
      ctx.stripe.promotionCodes.update(
        created.id,
        { active: false },
        { stripeAccount: tenant.stripeConnectAccountId },
      ),
    );
    const now = ctx.clock.now();
    const row: PromotionCodeRow = {
      id: created.id,
      tenantId: tenant.id,
      livemode: created.livemode,
      couponId: coupon.id,
      code: created.code,
      active: created.active,
      customerId: customer?.id ?? null,
      maxRedemptions: created.max_redemptions ?? null,
      expiresAt: created.expires_at ? new Date(created.expires_at * 1000) : null,
      firstTimeTransaction: input.first_time_transaction ?? false,
      minimumAmount: input.minimum_amount ?? null,
      minimumAmountCurrency: input.minimum_amount_currency ?? null,
      metadata: input.metadata ?? {},
      createdAt: now,
      updatedAt: now,
    };
    await ctx.db.batch([
      ctx.db.insert(promotionCodes).values(row),
      audit(ctx, "promotion_code.created", "promotion_code", row.id, { coupon: coupon.id, code: row.code }),
    ]);
    return row;
  });
}

/** One promotion code of one of the tenant's coupons; another tenant's is 404. */
async function findPromotionCodeOf(ctx: RequestContext, couponId: string, codeId: string) {
  const coupon = await findCoupon(ctx, couponId, readScope(ctx).livemode);
  const row = await ctx.db
    .select()
    .from(promotionCodes)
    .where(
      and(
        eq(promotionCodes.id, codeId),
        eq(promotionCodes.tenantId, coupon.tenantId),
        eq(promotionCodes.livemode, coupon.livemode),
        eq(promotionCodes.couponId, coupon.id),
      ),
    )
    .get();
  if (!row) throw notFound("Promotion code");
  return row;
}

/** Deactivates a code at Stripe (it can no longer be redeemed; discounts made with it go on). */
export async function deactivatePromotionCode(ctx: RequestContext, couponId: string, codeId: string) {
  const row = await findPromotionCodeOf(ctx, couponId, codeId);
  const scope = writeScope(ctx);
  if (row.livemode !== scope.livemode) throw notFound("Promotion code");
  if (!row.active) return row;
  const tenant = await connectedTenant(ctx, scope.tenantId, "changing promotion codes");
  await ctx.stripe.promotionCodes.update(
    row.id,
    { active: false },
    { stripeAccount: tenant.stripeConnectAccountId },
  );
  const now = ctx.clock.now();
  // Only the deactivation that changes the row tells it: others at once (all read it active)
  // find it inactive and write no second audit record.
  await ctx.db.batch([
    ctx.db
      .update(promotionCodes)
      .set({ active: false, updatedAt: now })
      .where(and(eq(promotionCodes.id, row.id), eq(promotionCodes.active, true))),
    auditInsertIfChanged(
      ctx.db,
      auditEntry(ctx, "promotion_code.deactivated", "promotion_code", row.id, { coupon: row.couponId }),
    ),
  ]);
  return { ...row, active: false, updatedAt: now };
}

export async function listPromotionCodes(
  ctx: RequestContext,
  couponId: string,
  filters: { limit: number; cursor?: string | undefined },
) {
  const coupon = await findCoupon(ctx, couponId, readScope(ctx).livemode);
  const rows = await ctx.db
    .select()
    .from(promotionCodes)
    .where(
      and(
        eq(promotionCodes.tenantId, coupon.tenantId),
        eq(promotionCodes.livemode, coupon.livemode),
        eq(promotionCodes.couponId, coupon.id),
        afterCursor(promotionCodes.createdAt, promotionCodes.id, decodeCursor(filters.cursor)),
      ),
    )
    .orderBy(desc(promotionCodes.createdAt), desc(promotionCodes.id))
    .limit(filters.limit + 1);
  return toPage(rows, filters.limit);
}
