import { eq } from "drizzle-orm";
import type { RequestContext } from "../../context";
import { customerDiscounts } from "../../db/schema";
import { type AuditEntry, auditInsert, auditInsertIfChanged } from "../../lib/audit";
import { ApiError, notFound } from "../../lib/errors";
import { writeScope } from "../../lib/scope";
import { activeCustomer, findCustomer } from "../customers/customers.queries";
import { customerDiscount, findCoupon, resolveDiscount } from "./discounts";

/**
 * The coupon a customer carries. Stripe has no customer-level coupon at this API version, so we
 * keep it and apply it ourselves to the customer's later subscriptions and one-off invoices that
 * name no discount of their own (`discountsFor`).
 */

function auditEntry(
  ctx: RequestContext,
  action: string,
  customerId: string,
  metadata: Record<string, unknown>,
): AuditEntry {
  const scope = writeScope(ctx);
  return {
    tenantId: scope.tenantId,
    ...scope.actor,
    action,
    targetType: "customer",
    targetId: customerId,
    metadata,
    requestId: ctx.requestId,
    at: ctx.clock.now(),
  };
}

const audit = (...args: Parameters<typeof auditEntry>) => auditInsert(args[0].db, auditEntry(...args));

/** The customer's discount, with its coupon. */
export async function getCustomerDiscount(ctx: RequestContext, customerId: string) {
  const customer = await findCustomer(ctx, customerId);
  const discount = await customerDiscount(ctx, customer);
  const coupon = discount ? await findCoupon(ctx, discount.couponId, customer.livemode) : null;
  return { customer, discount, coupon };
}

/**
 * Gives a customer a coupon (or a promotion code's): subscriptions and one-off invoices made for
 * the customer afterwards without a discount of their own get it. Replaces the one it carried.
 */
export async function setCustomerDiscount(
  ctx: RequestContext,
  customerId: string,
  input: { coupon?: string | undefined; promotion_code?: string | undefined },
) {
  const customer = await activeCustomer(ctx, customerId);
  const scope = writeScope(ctx);
  if (customer.livemode !== scope.livemode) throw notFound("Customer");
  const resolved = await resolveDiscount(ctx, input, customer.livemode);
  if (!resolved) throw notFound("Coupon");
  if (resolved.promotionCode?.customerId && resolved.promotionCode.customerId !== customer.id)
    throw new ApiError("invalid_state_transition", "This promotion code belongs to another customer", {
      extra: { status: "restricted" },
    });
  const row = {
    customerId: customer.id,
    tenantId: customer.tenantId,
    couponId: resolved.coupon.id,
    promotionCodeId: resolved.promotionCode?.id ?? null,
    createdAt: ctx.clock.now(),
  };
  const { customerId: _id, ...set } = row;
  await ctx.db.batch([
    ctx.db
      .insert(customerDiscounts)
      .values(row)
      .onConflictDoUpdate({ target: customerDiscounts.customerId, set }),
    audit(ctx, "customer.discount_applied", customer.id, {
      coupon: row.couponId,
      promotion_code: row.promotionCodeId,
    }),
  ]);
  return { customer, discount: row, coupon: resolved.coupon };
}

const noDiscount = () =>
  new ApiError("invalid_state_transition", "This customer carries no discount", {
    extra: { status: "none" },
  });

/** Removes the customer's discount (409 when it carries none). Discounts already made go on. */
export async function removeCustomerDiscount(ctx: RequestContext, customerId: string) {
  const customer = await findCustomer(ctx, customerId);
  const scope = writeScope(ctx);
  if (customer.livemode !== scope.livemode) throw notFound("Customer");
  const current = await customerDiscount(ctx, customer);
  if (!current) throw noDiscount();
  // Only the removal that deletes the row tells it; others at once find none, as they would after it.
  const [deleted] = await ctx.db.batch([
    ctx.db.delete(customerDiscounts).where(eq(customerDiscounts.customerId, customer.id)),
    auditInsertIfChanged(
      ctx.db,
      auditEntry(ctx, "customer.discount_removed", customer.id, { coupon: current.couponId }),
    ),
  ]);
  if (!deleted.meta.changes) throw noDiscount();
  return { customer, discount: null, coupon: null };
}
