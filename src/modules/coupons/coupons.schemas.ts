import { z } from "@hono/zod-openapi";
import { COUPON_DURATIONS, type CouponRow, type PromotionCodeRow } from "../../db/schema";
import { stripeMetadata } from "../../lib/metadata";
import { isIsoCurrency, moneyDisplay } from "../../lib/money";
import { PageQuery, pageShape } from "../../lib/pagination";

const Metadata = stripeMetadata(40);

const iso = (date: Date | null) => date?.toISOString() ?? null;

export const CreateCouponBody = z
  .object({
    id: z
      .string()
      .regex(/^[A-Za-z0-9_-]{3,50}$/, "3 to 50 letters, digits, _ or -")
      .optional()
      .openapi({ description: "Your own code for it (the Stripe coupon's id); default: a generated one" }),
    name: z.string().min(1).max(40).optional().openapi({ description: "Shown to customers on invoices" }),
    percent_off: z
      .number()
      .gt(0)
      .max(100)
      .multipleOf(0.01)
      .optional()
      .openapi({ description: "0.01 to 100 (two decimals at most)", example: 20 }),
    amount_off: z.number().int().min(1).max(99_999_999).optional().openapi({ description: "Minor units" }),
    currency: z
      .string()
      .refine(isIsoCurrency, "A lower-case ISO 4217 currency (usd, eur, ...)")
      .optional()
      .openapi({ description: "Required with amount_off" }),
    duration: z.enum(COUPON_DURATIONS).optional().default("once"),
    duration_in_months: z
      .number()
      .int()
      .min(1)
      .max(120)
      .optional()
      .openapi({ description: "Required with duration repeating, refused otherwise" }),
    max_redemptions: z.number().int().min(1).max(1_000_000).optional(),
    redeem_by: z.iso.datetime().optional().openapi({ description: "Last moment it can be redeemed" }),
    metadata: Metadata.optional(),
  })
  .refine((body) => (body.percent_off === undefined) !== (body.amount_off === undefined), {
    message: "Give either percent_off or amount_off",
    path: ["percent_off"],
  })
  .refine((body) => (body.amount_off === undefined) === (body.currency === undefined), {
    message: "currency goes with amount_off, and only with it",
    path: ["currency"],
  })
  .refine((body) => (body.duration === "repeating") === (body.duration_in_months !== undefined), {
    message: "duration_in_months goes with duration repeating, and only with it",
    path: ["duration_in_months"],
  })
  .openapi("CreateCouponRequest");

export const CreatePromotionCodeBody = z
  .object({
    code: z
      .string()
      .regex(/^[A-Za-z0-9_-]{3,40}$/, "3 to 40 letters, digits, _ or -")
      .optional()
      .openapi({ description: "What customers type; default: a generated one", example: "SPRING25" }),
    customer: z
      .string()
      .min(1)
      .max(120)
      .optional()
      .openapi({ description: "Only this customer may redeem it (our id or `ext:`)" }),
    max_redemptions: z.number().int().min(1).max(1_000_000).optional(),
    expires_at: z.iso.datetime().optional(),
    first_time_transaction: z
      .boolean()
      .optional()
      .openapi({ description: "Only customers who never paid before" }),
    minimum_amount: z
      .number()
      .int()
      .min(1)
      .optional()
      .openapi({ description: "Minor units, with its currency" }),
    minimum_amount_currency: z.string().refine(isIsoCurrency, "A lower-case ISO 4217 currency").optional(),
    metadata: Metadata.optional(),
  })
  .refine((body) => (body.minimum_amount === undefined) === (body.minimum_amount_currency === undefined), {
    message: "minimum_amount and minimum_amount_currency go together",
    path: ["minimum_amount_currency"],
  })
  .openapi("CreatePromotionCodeRequest");

export const ApplyDiscountBody = z
  .object({
    coupon: z.string().min(1).max(120).optional(),
    promotion_code: z
      .string()
      .min(1)
      .max(120)
      .optional()
      .openapi({ description: "A promotion code's id (`promo_...`) or its code" }),
  })
  .refine((body) => (body.coupon === undefined) !== (body.promotion_code === undefined), {
    message: "Give either coupon or promotion_code",
    path: ["coupon"],
  })
  .openapi("ApplyDiscountRequest");

export const CouponIdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(60)
    .openapi({ param: { name: "id", in: "path" }, example: "SPRING20" }),
});

export const PromotionCodeParams = CouponIdParam.extend({
  code_id: z
    .string()
    .min(1)
    .max(60)
    .openapi({ param: { name: "code_id", in: "path" }, example: "promo_1Q..." }),
});

export const CustomerParam = z.object({
  id: z
    .string()
    .min(1)
    .max(120)
    .openapi({ param: { name: "id", in: "path" }, description: "Our customer id, or `ext:<external_id>`" }),
});

export const ListCouponsQuery = PageQuery.extend({
  include_deleted: z.enum(["true", "false"]).optional(),
});

export const CouponSchema = z
  .object({
    id: z.string(),
    object: z.literal("coupon"),
    name: z.string().nullable(),
    percent_off: z.number().nullable(),
    amount_off: z.number().int().nullable(),
    currency: z.string().nullable(),
    amount_off_display: z.string().nullable().openapi({ example: "$5.00" }),
    duration: z.enum(COUPON_DURATIONS),
    duration_in_months: z.number().int().nullable(),
    max_redemptions: z.number().int().nullable(),
    redeem_by: z.iso.datetime().nullable(),
    times_redeemed: z.number().int(),
    valid: z.boolean().openapi({ description: "Whether it can still be redeemed" }),
    deleted: z.boolean(),
    metadata: z.record(z.string(), z.string()),
    livemode: z.boolean(),
    created_at: z.iso.datetime(),
  })
  .openapi("Coupon");

export const PromotionCodeSchema = z
  .object({
    id: z.string(),
    object: z.literal("promotion_code"),
    coupon: z.string(),
    code: z.string(),
    active: z.boolean(),
    customer: z.string().nullable(),
    max_redemptions: z.number().int().nullable(),
    expires_at: z.iso.datetime().nullable(),
    first_time_transaction: z.boolean(),
    minimum_amount: z.number().int().nullable(),
    minimum_amount_currency: z.string().nullable(),
    metadata: z.record(z.string(), z.string()),
    livemode: z.boolean(),
    created_at: z.iso.datetime(),
  })
  .openapi("PromotionCode");

export const CustomerDiscountSchema = z
  .object({
    object: z.literal("customer_discount"),
    customer: z.string(),
    coupon: CouponSchema.nullable(),
    promotion_code: z.string().nullable(),
    created_at: z.iso.datetime().nullable(),
  })
  .openapi("CustomerDiscount");

export const CouponListResponse = pageShape(CouponSchema).openapi("CouponList");
export const PromotionCodeListResponse = pageShape(PromotionCodeSchema).openapi("PromotionCodeList");

/** Whether a coupon can still be redeemed, as far as we know (Stripe checks it again). */
export function couponValid(row: CouponRow, now: Date): boolean {
  return (
    row.deletedAt === null &&
    (row.redeemBy === null || row.redeemBy > now) &&
    (row.maxRedemptions === null || row.timesRedeemed < row.maxRedemptions)
  );
}

export const serializeCoupon = (row: CouponRow, now = new Date()): z.infer<typeof CouponSchema> => ({
  id: row.id,
  object: "coupon",
  name: row.name,
  percent_off: row.percentOff,
  amount_off: row.amountOff,
  currency: row.currency,
  amount_off_display:
    row.amountOff !== null && row.currency ? moneyDisplay(row.amountOff, row.currency) : null,
  duration: row.duration,
  duration_in_months: row.durationInMonths,
  max_redemptions: row.maxRedemptions,
  redeem_by: iso(row.redeemBy),
  times_redeemed: row.timesRedeemed,
  valid: couponValid(row, now),
  deleted: row.deletedAt !== null,
  metadata: row.metadata,
  livemode: row.livemode,
  created_at: row.createdAt.toISOString(),
});

export const serializePromotionCode = (row: PromotionCodeRow): z.infer<typeof PromotionCodeSchema> => ({
  id: row.id,
  object: "promotion_code",
  coupon: row.couponId,
  code: row.code,
  active: row.active,
  customer: row.customerId,
  max_redemptions: row.maxRedemptions,
  expires_at: iso(row.expiresAt),
  first_time_transaction: row.firstTimeTransaction,
  minimum_amount: row.minimumAmount,
  minimum_amount_currency: row.minimumAmountCurrency,
  metadata: row.metadata,
  livemode: row.livemode,
  created_at: row.createdAt.toISOString(),
});
