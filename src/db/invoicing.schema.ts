import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * Collecting the tenant's money: refunds of its customers' invoices, its coupons and promotion
 * codes, the coupon a customer carries, and dunning (the tenant's policy for failing payments and
 * the log of what it did). Refunds follow Stripe's events in any order (`lastEventCreated`, as the
 * mirror's other rows); coupons and promotion codes are made only through our API, so their rows
 * are written from Stripe's answers.
 */

const createdAt = () =>
  integer({ mode: "timestamp_ms" }).notNull().default(sql`(unixepoch('subsec') * 1000)`);
const updatedAt = () => createdAt().$onUpdate(() => new Date());

export const REFUND_STATUSES = ["pending", "requires_action", "succeeded", "failed", "canceled"] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];
export const REFUND_REASONS = ["duplicate", "fraudulent", "requested_by_customer"] as const;

/** A refund of an invoice's payment (made through us, or at Stripe and mirrored from its events). */
export const refunds = sqliteTable(
  "refunds",
  {
    id: text().primaryKey(),
    tenantId: text().notNull(),
    livemode: integer({ mode: "boolean" }).notNull(),
    stripeRefundId: text().notNull(),
    invoiceId: text(),
    customerId: text(),
    stripeChargeId: text(),
    stripePaymentIntentId: text(),
    amount: integer().notNull(),
    currency: text().notNull(),
    reason: text(),
    status: text({ enum: REFUND_STATUSES }).notNull(),
    failureReason: text(),
    /** Whether the platform's application fee was refunded in proportion. */
    refundApplicationFee: integer({ mode: "boolean" }).notNull().default(false),
    metadata: text({ mode: "json" }).$type<Record<string, string>>().notNull(),
    lastEventCreated: integer(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("refunds_stripe_unique").on(t.stripeRefundId),
    index("refunds_tenant_created_idx").on(t.tenantId, t.livemode, t.createdAt, t.id),
    index("refunds_invoice_idx").on(t.invoiceId),
  ],
);

export const COUPON_DURATIONS = ["once", "repeating", "forever"] as const;

/**
 * A coupon on the tenant's connected account. `id` is the Stripe coupon's id (ours, or the
 * tenant's chosen code), so `discounts: [{coupon: id}]` names it at Stripe as it is.
 */
export const coupons = sqliteTable(
  "coupons",
  {
    tenantId: text().notNull(),
    livemode: integer({ mode: "boolean" }).notNull(),
    id: text().notNull(),
    name: text(),
    percentOff: real(),
    amountOff: integer(),
    currency: text(),
    duration: text({ enum: COUPON_DURATIONS }).notNull(),
    durationInMonths: integer(),
    maxRedemptions: integer(),
    redeemBy: integer({ mode: "timestamp_ms" }),
    timesRedeemed: integer().notNull().default(0),
    metadata: text({ mode: "json" }).$type<Record<string, string>>().notNull(),
    deletedAt: integer({ mode: "timestamp_ms" }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.livemode, t.id] }),
    index("coupons_tenant_created_idx").on(t.tenantId, t.livemode, t.createdAt, t.id),
  ],
);

/** A customer-facing code for a coupon (Stripe's promotion code; `id` is Stripe's `promo_...`). */
export const promotionCodes = sqliteTable(
  "promotion_codes",
  {
    id: text().primaryKey(),
    tenantId: text().notNull(),
    livemode: integer({ mode: "boolean" }).notNull(),
    couponId: text().notNull(),
    code: text().notNull(),
    active: integer({ mode: "boolean" }).notNull(),
    /** Our customer the code is restricted to, if any. */
    customerId: text(),
    maxRedemptions: integer(),
    expiresAt: integer({ mode: "timestamp_ms" }),
    firstTimeTransaction: integer({ mode: "boolean" }).notNull().default(false),
    minimumAmount: integer(),
    minimumAmountCurrency: text(),
    metadata: text({ mode: "json" }).$type<Record<string, string>>().notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("promotion_codes_coupon_idx").on(t.tenantId, t.livemode, t.couponId, t.createdAt),
    index("promotion_codes_code_idx").on(t.tenantId, t.livemode, t.code),
  ],
);

/**
 * The coupon (or promotion code) a customer carries: applied by us to the subscriptions and
 * one-off invoices made for the customer afterwards that name no discount of their own (Stripe
 * has no customer-level coupons at this API version).
 */
export const customerDiscounts = sqliteTable("customer_discounts", {
  customerId: text().primaryKey(),
  tenantId: text().notNull(),
  couponId: text().notNull(),
  promotionCodeId: text(),
  createdAt: createdAt(),
});

export const DUNNING_ACTIONS = ["cancel", "mark_unpaid", "leave_past_due"] as const;
export type DunningAction = (typeof DUNNING_ACTIONS)[number];

/** A tenant's policy for its customers' subscriptions whose payment keeps failing. */
export const dunningSettings = sqliteTable("dunning_settings", {
  tenantId: text().primaryKey(),
  /** Failed attempts of one invoice after which `action` is taken (1 to 8). */
  afterAttempts: integer().notNull(),
  action: text({ enum: DUNNING_ACTIONS }).notNull(),
  /** Whether each failed attempt is reported (`invoice.payment_failed`). */
  notifyEachFailure: integer({ mode: "boolean" }).notNull(),
  updatedBy: text(),
  updatedAt: updatedAt(),
});

export const DUNNING_STEP_KINDS = ["failure", "action", "recovery"] as const;

/**
 * What dunning did, one row per step: each failed attempt of an invoice (once per attempt), the
 * policy's action (once per invoice), and the recovery of a subscription marked unpaid when its
 * invoice is paid. The unique index makes a replayed step a no-op.
 */
export const dunningSteps = sqliteTable(
  "dunning_steps",
  {
    id: text().primaryKey(),
    tenantId: text().notNull(),
    livemode: integer({ mode: "boolean" }).notNull(),
    stripeInvoiceId: text().notNull(),
    invoiceId: text(),
    subscriptionId: text(),
    customerId: text(),
    kind: text({ enum: DUNNING_STEP_KINDS }).notNull(),
    attempt: integer().notNull(),
    /** For actions: `cancel`, `mark_unpaid`, `leave_past_due`, `resume_collection`, or `none`. */
    action: text(),
    note: text().notNull(),
    stripeEventId: text(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("dunning_steps_unique").on(t.stripeInvoiceId, t.kind, t.attempt),
    index("dunning_steps_tenant_created_idx").on(t.tenantId, t.createdAt, t.id),
    index("dunning_steps_subscription_idx").on(t.subscriptionId, t.createdAt),
  ],
);

export type RefundRow = typeof refunds.$inferSelect;
export type CouponRow = typeof coupons.$inferSelect;
export type PromotionCodeRow = typeof promotionCodes.$inferSelect;
export type CustomerDiscountRow = typeof customerDiscounts.$inferSelect;
export type DunningSettingsRow = typeof dunningSettings.$inferSelect;
export type DunningStepRow = typeof dunningSteps.$inferSelect;
