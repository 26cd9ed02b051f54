import { z } from "@hono/zod-openapi";
import { REFUND_REASONS, REFUND_STATUSES, type RefundRow } from "../../db/schema";
import { stripeMetadata } from "../../lib/metadata";
import { moneyDisplay } from "../../lib/money";
import { PageQuery, pageShape } from "../../lib/pagination";
import { REFUND_OWN_KEYS } from "./refund-rows";

const Metadata = stripeMetadata(40, REFUND_OWN_KEYS);

export const CreateRefundBody = z
  .object({
    invoice: z.string().min(1).max(60).openapi({ description: "A paid invoice of the tenant (`inv_...`)" }),
    amount: z
      .number()
      .int()
      .min(1)
      .optional()
      .openapi({ description: "Minor units; default: all that is not refunded yet" }),
    reason: z.enum(REFUND_REASONS).optional(),
    metadata: Metadata.optional(),
  })
  .openapi("CreateRefundRequest");

export const RefundIdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(60)
    .openapi({ param: { name: "id", in: "path" }, example: "rfnd_5b1Zr8lQ0pYd3w2Xk7nTq1" }),
});

export const ListRefundsQuery = PageQuery.extend({
  invoice: z.string().max(60).optional(),
  customer: z
    .string()
    .max(120)
    .optional()
    .openapi({ description: "Our customer id, or `ext:<external_id>`" }),
  status: z.enum(REFUND_STATUSES).optional(),
  "created[gte]": z.iso.datetime().optional(),
  "created[lte]": z.iso.datetime().optional(),
});

export const RefundSchema = z
  .object({
    id: z.string(),
    object: z.literal("refund"),
    invoice: z.string().nullable(),
    customer: z.string().nullable(),
    amount: z.number().int(),
    currency: z.string(),
    amount_display: z.string().openapi({ example: "$12.00" }),
    reason: z.string().nullable(),
    status: z.enum(REFUND_STATUSES),
    failure_reason: z.string().nullable(),
    refund_application_fee: z
      .boolean()
      .openapi({ description: "The platform's fee was refunded in the same proportion as the payment" }),
    metadata: z.record(z.string(), z.string()),
    livemode: z.boolean(),
    stripe_refund_id: z.string(),
    stripe_charge_id: z.string().nullable(),
    stripe_payment_intent_id: z.string().nullable(),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .openapi("Refund");

export const RefundListResponse = pageShape(RefundSchema).openapi("RefundList");

export const serializeRefund = (row: RefundRow): z.infer<typeof RefundSchema> => ({
  id: row.id,
  object: "refund",
  invoice: row.invoiceId,
  customer: row.customerId,
  amount: row.amount,
  currency: row.currency,
  amount_display: moneyDisplay(row.amount, row.currency),
  reason: row.reason,
  status: row.status,
  failure_reason: row.failureReason,
  refund_application_fee: row.refundApplicationFee,
  metadata: row.metadata,
  livemode: row.livemode,
  stripe_refund_id: row.stripeRefundId,
  stripe_charge_id: row.stripeChargeId,
  stripe_payment_intent_id: row.stripePaymentIntentId,
  created_at: row.createdAt.toISOString(),
  updated_at: row.updatedAt.toISOString(),
});
