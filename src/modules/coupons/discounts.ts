import { and, eq, sql } from "drizzle-orm";
import type { RequestContext } from "../../context";
import {
  type CouponRow,
  type CustomerRow,
  coupons,
  customerDiscounts,
  type PromotionCodeRow,
  promotionCodes,
} from "../../db/schema";
import { ApiError, notFound } from "../../lib/errors";
import { readScope } from "../../lib/scope";
import { discountAppliesIn } from "./discount-currency";

/** A discount a caller names: a coupon of the tenant, or one of its promotion codes. */
export interface DiscountInput {
  coupon?: string | undefined;
  promotion_code?: string | undefined;
}

/** A discount checked against the tenant's coupons, as Stripe's `discounts[]` entry names it. */
export interface ResolvedDiscount {
  coupon: CouponRow;
  promotionCode: PromotionCodeRow | null;
  stripe: { coupon: string } | { promotion_code: string };
}

const refused = (what: string, state: string, message: string) =>
  new ApiError("invalid_state_transition", `This ${what} ${message}`, { extra: { status: state } });

/** One of the tenant's coupons in `livemode`, by id; another tenant's (or an unknown) one is 404. */
export async function findCoupon(ctx: RequestContext, id: string, livemode: boolean | null) {
  const { tenantId } = readScope(ctx);
  const rows = await ctx.db
    .select()
    .from(coupons)
    .where(
      and(
        eq(coupons.tenantId, tenantId),
        eq(coupons.id, id),
        livemode === null ? undefined : eq(coupons.livemode, livemode),
      ),
    );
  // A user (any mode) naming a coupon both modes have: the live one first.
  const row = rows.find((r) => r.livemode) ?? rows[0];
  if (!row) throw notFound("Coupon");
  return row;
}

/** A coupon that can be redeemed now (409 with its state otherwise: deleted, expired, used up). */
function redeemable(coupon: CouponRow, now: Date): CouponRow {
  if (coupon.deletedAt) throw refused("coupon", "deleted", "is deleted");
  if (coupon.redeemBy && coupon.redeemBy <= now)
    throw refused("coupon", "expired", "can no longer be redeemed");
  if (coupon.maxRedemptions !== null && coupon.timesRedeemed >= coupon.maxRedemptions)
    throw refused("coupon", "used_up", "has reached its maximum number of redemptions");
  return coupon;
}

/** A promotion code by its id (`promo_...`) or by its code (case-insensitive, active ones first). */
async function findPromotionCode(ctx: RequestContext, idOrCode: string, livemode: boolean) {
  const { tenantId } = readScope(ctx);
  const rows = await ctx.db
    .select()
    .from(promotionCodes)
    .where(
      and(
        eq(promotionCodes.tenantId, tenantId),
        eq(promotionCodes.livemode, livemode),
        idOrCode.startsWith("promo_")
          ? eq(promotionCodes.id, idOrCode)
          : sql`lower(${promotionCodes.code}) = ${idOrCode.toLowerCase()}`,
      ),
    );
  const row = rows.find((r) => r.active) ?? rows[0];
  if (!row) throw notFound("Promotion code");
  return row;
}

/**
 * Checks the discount a caller names against the tenant's coupons and promotion codes in
 * `livemode`: unknown or another tenant's is 404, one that cannot be redeemed now 409 naming its
 * state. Stripe checks redemption again (counts we may not know yet) when it applies it.
 */
export async function resolveDiscount(
  ctx: RequestContext,
  input: DiscountInput,
  livemode: boolean,
): Promise<ResolvedDiscount | null> {
  const now = ctx.clock.now();
  if (input.coupon) {
    const coupon = redeemable(await findCoupon(ctx, input.coupon, livemode), now);
    return { coupon, promotionCode: null, stripe: { coupon: coupon.id } };
  }
  if (!input.promotion_code) return null;
  const code = await findPromotionCode(ctx, input.promotion_code, livemode);
  if (!code.active) throw refused("promotion code", "inactive", "is inactive");
  if (code.expiresAt && code.expiresAt <= now) throw refused("promotion code", "expired", "has expired");
  const coupon = redeemable(await findCoupon(ctx, code.couponId, livemode), now);
  return { coupon, promotionCode: code, stripe: { promotion_code: code.id } };
}

/** The discount a customer carries (`POST /customers/{id}/discount`), if any. */
export async function customerDiscount(ctx: RequestContext, customer: CustomerRow) {
  const row = await ctx.db
    .select()
    .from(customerDiscounts)
    .where(eq(customerDiscounts.customerId, customer.id))
    .get();
  return row ?? null;
}

/**
 * The `discounts` of a subscription or one-off invoice in `currency` made for `customer`: the one
 * the caller names, else the one the customer carries (checked again: a coupon deleted since is 409)
 * where it applies, else none. The customer's amount-off coupon takes money off in its own currency
 * only, as Stripe applies a customer's discount: billed in another, it is left out.
 */
export async function discountsFor(
  ctx: RequestContext,
  customer: CustomerRow,
  input: DiscountInput,
  currency: string,
): Promise<ResolvedDiscount | null> {
  if (input.coupon || input.promotion_code) return resolveDiscount(ctx, input, customer.livemode);
  const carried = await customerDiscount(ctx, customer);
  if (!carried) return null;
  const discount = await resolveDiscount(
    ctx,
    carried.promotionCodeId ? { promotion_code: carried.promotionCodeId } : { coupon: carried.couponId },
    customer.livemode,
  );
  return discount && discountAppliesIn(discount, currency) ? discount : null;
}
