import { z } from "@hono/zod-openapi";
import { type CustomerSubscriptionRow, type InvoiceRow, SUBSCRIPTION_STATES } from "../../db/schema";
import { stripeMetadata } from "../../lib/metadata";
import { moneyDisplay } from "../../lib/money";
import { PageQuery, pageShape } from "../../lib/pagination";
import { OWN_METADATA_KEYS } from "./stripe-subscription";

const Metadata = stripeMetadata(40, OWN_METADATA_KEYS);

const Quantity = z.number().int().min(1).max(100_000);

const ProrationBehavior = z
  .enum(["create_prorations", "none", "always_invoice"])
  .openapi({ description: "How a change is charged (Stripe's): default `create_prorations`" });

export const CreateSubscriptionBody = z
  .object({
    customer: z.string().min(1).max(120).openapi({ description: "Our customer id, or `ext:<external_id>`" }),
    plan: z
      .string()
      .min(1)
      .max(60)
      .openapi({ description: "One of the tenant's active plans", example: "plan_..." }),
    quantity: Quantity.optional().default(1),
    trial_days: z
      .number()
      .int()
      .min(0)
      .max(730)
      .optional()
      .openapi({ description: "Default: the plan's `trial_days`; 0 for none" }),
    coupon: z
      .string()
      .min(1)
      .max(120)
      .optional()
      .openapi({ description: "A coupon of the tenant (`coupons` API)" }),
    promotion_code: z
      .string()
      .min(1)
      .max(120)
      .optional()
      .openapi({ description: "A promotion code's id (`promo_...`) or its code, instead of `coupon`" }),
    default_payment_method: z
      .string()
      .regex(/^pm_\w+$/)
      .optional(),
    payment_behavior: z
      .enum(["default_incomplete", "allow_incomplete", "error_if_incomplete"])
      .optional()
      .default("default_incomplete")
      .openapi({
        description:
          "`default_incomplete` (default): the first invoice waits for the customer to confirm the payment with the returned `client_secret` (SCA-ready). `allow_incomplete` / `error_if_incomplete`: charge the default payment method now.",
      }),
    metadata: Metadata.optional(),
  })
  .refine((body) => !(body.coupon && body.promotion_code), {
    message: "Give a coupon or a promotion_code, not both",
    path: ["promotion_code"],
  })
  .openapi("CreateSubscriptionRequest");

export const UpdateSubscriptionBody = z
  .object({
    plan: z.string().min(1).max(60).optional(),
    quantity: Quantity.optional(),
    proration_behavior: ProrationBehavior.optional().default("create_prorations"),
    coupon: z
      .string()
      .min(1)
      .max(120)
      .nullable()
      .optional()
      .openapi({ description: "One of the tenant's coupons; `null` removes the discount" }),
    promotion_code: z
      .string()
      .min(1)
      .max(120)
      .optional()
      .openapi({ description: "A promotion code's id (`promo_...`) or its code, instead of `coupon`" }),
    metadata: Metadata.optional(),
  })
  .refine((body) => !(body.coupon !== undefined && body.promotion_code !== undefined), {
    message: "Give a coupon or a promotion_code, not both",
    path: ["promotion_code"],
  })
  .openapi("UpdateSubscriptionRequest");

export const PreviewBody = z
  .object({
    plan: z.string().min(1).max(60).optional(),
    quantity: Quantity.optional(),
    proration_behavior: ProrationBehavior.optional().default("create_prorations"),
  })
  .openapi("PreviewSubscriptionRequest");

export const CancelBody = z
  .object({
    at_period_end: z
      .boolean()
      .optional()
      .default(true)
      .openapi({ description: "Default true; false cancels now" }),
    invoice_now: z.boolean().optional().openapi({
      description: "When cancelling now (`at_period_end: false`): invoice pending usage and prorations",
    }),
    prorate: z.boolean().optional().openapi({ description: "When cancelling now: credit the unused time" }),
  })
  // A cancel at period end invoices and prorates nothing (Stripe takes neither there): asked for
  // one, the caller meant to cancel now, and is told so rather than answered as if they had.
  .superRefine((body, check) => {
    if (!body.at_period_end) return;
    for (const field of ["invoice_now", "prorate"] as const) {
      if (body[field] === true)
        check.addIssue({
          code: "custom",
          path: [field],
          message: `${field} applies only when cancelling now: send at_period_end: false with it`,
        });
    }
  })
  .openapi("CancelSubscriptionRequest");

export const PauseBody = z
  .object({
    behavior: z.enum(["keep_as_draft", "mark_uncollectible", "void"]).optional().default("void").openapi({
      description: "What happens to the invoices made while paused (Stripe's `pause_collection`)",
    }),
    resumes_at: z.iso.datetime().optional(),
  })
  .openapi("PauseSubscriptionRequest");

export const SubscriptionIdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(60)
    .openapi({ param: { name: "id", in: "path" }, example: "subs_5b1Zr8lQ0pYd3w2Xk7nTq1" }),
});

export const ListSubscriptionsQuery = PageQuery.extend({
  status: z.enum(SUBSCRIPTION_STATES).optional(),
  customer: z.string().max(120).optional(),
  plan: z.string().max(60).optional(),
  "created[gte]": z.iso.datetime().optional(),
  "created[lte]": z.iso.datetime().optional(),
});

const iso = (date: Date | null | undefined) => date?.toISOString() ?? null;

const LatestInvoiceSchema = z
  .object({
    id: z.string().nullable().openapi({
      description:
        "Our invoice id (`GET /api/v1/auth/invoices/{id}`); null in the answer to a create or a change whose invoice, just made by Stripe, the invoice mirror does not hold yet (moments later it does)",
    }),
    stripe_invoice_id: z.string().openapi({ description: "Stripe's invoice id (`in_...`)" }),
    status: z.string(),
    amount_due: z.number().int(),
    amount_paid: z.number().int(),
    currency: z.string(),
    hosted_invoice_url: z.string().nullable(),
  })
  .openapi("SubscriptionLatestInvoice");

export const SubscriptionSchema = z
  .object({
    id: z.string(),
    object: z.literal("subscription"),
    customer: z.string(),
    plan: z.string().nullable(),
    status: z.enum(SUBSCRIPTION_STATES),
    quantity: z.number().int(),
    unit_amount: z.number().int(),
    currency: z.string(),
    interval: z.string(),
    interval_count: z.number().int(),
    amount_display: z.string().openapi({ example: "$60.00/month" }),
    current_period_start: z.iso.datetime().nullable(),
    current_period_end: z.iso.datetime().nullable(),
    trial_start: z.iso.datetime().nullable(),
    trial_end: z.iso.datetime().nullable(),
    cancel_at_period_end: z.boolean(),
    cancel_at: z.iso.datetime().nullable(),
    canceled_at: z.iso.datetime().nullable(),
    ended_at: z.iso.datetime().nullable(),
    pause_collection: z.object({ behavior: z.string(), resumes_at: z.iso.datetime().nullable() }).nullable(),
    discount: z
      .object({
        coupon: z.string(),
        percent_off: z.number().nullable(),
        amount_off: z.number().nullable(),
        duration: z.string(),
        end: z.iso.datetime().nullable(),
      })
      .nullable(),
    application_fee_percent: z.number().nullable(),
    latest_invoice: LatestInvoiceSchema.nullable(),
    metadata: z.record(z.string(), z.string()),
    livemode: z.boolean(),
    stripe_subscription_id: z.string(),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .openapi("Subscription");

export const CreatedSubscriptionSchema = SubscriptionSchema.extend({
  client_secret: z.string().nullable().openapi({
    description:
      "When the first payment waits for the customer (status `incomplete`): confirm it with Stripe.js `confirmPayment` on your page",
  }),
}).openapi("CreatedSubscription");

export const SubscriptionListResponse = pageShape(SubscriptionSchema).openapi("SubscriptionList");

export const PreviewSchema = z
  .object({
    object: z.literal("invoice_preview"),
    currency: z.string(),
    subtotal: z.number().int(),
    total: z.number().int(),
    amount_due: z.number().int(),
    amount_due_display: z.string(),
    proration_amount: z
      .number()
      .int()
      .openapi({ description: "The sum of the proration lines (credits negative)" }),
    lines: z.array(
      z.object({
        description: z.string().nullable(),
        amount: z.number().int(),
        quantity: z.number().nullable(),
        proration: z.boolean(),
      }),
    ),
    period_start: z.iso.datetime().nullable(),
    period_end: z.iso.datetime().nullable(),
  })
  .openapi("SubscriptionPreview");

export type LatestInvoice = z.infer<typeof LatestInvoiceSchema>;

/** The latest invoice as the subscription's answers show it, from the invoice mirror. */
export function latestInvoiceOf(invoice: InvoiceRow): LatestInvoice {
  return {
    id: invoice.id,
    stripe_invoice_id: invoice.stripeInvoiceId,
    status: invoice.status,
    amount_due: invoice.amountDue,
    amount_paid: invoice.amountPaid,
    currency: invoice.currency,
    hosted_invoice_url: invoice.hostedInvoiceUrl,
  };
}

export function serializeSubscription(
  row: CustomerSubscriptionRow,
  latestInvoice: LatestInvoice | null = null,
): z.infer<typeof SubscriptionSchema> {
  const per = row.intervalCount === 1 ? row.interval : `${row.intervalCount} ${row.interval}s`;
  return {
    id: row.id,
    object: "subscription",
    customer: row.customerId,
    plan: row.planId,
    status: row.status,
    quantity: row.quantity,
    unit_amount: row.unitAmount,
    currency: row.currency,
    interval: row.interval,
    interval_count: row.intervalCount,
    amount_display: `${moneyDisplay(row.unitAmount * row.quantity, row.currency)}/${per}`,
    current_period_start: iso(row.currentPeriodStart),
    current_period_end: iso(row.currentPeriodEnd),
    trial_start: iso(row.trialStart),
    trial_end: iso(row.trialEnd),
    cancel_at_period_end: row.cancelAtPeriodEnd,
    cancel_at: iso(row.cancelAt),
    canceled_at: iso(row.canceledAt),
    ended_at: iso(row.endedAt),
    pause_collection: row.pauseBehavior
      ? { behavior: row.pauseBehavior, resumes_at: iso(row.pauseResumesAt) }
      : null,
    discount: row.discount
      ? {
          coupon: row.discount.coupon,
          percent_off: row.discount.percent_off,
          amount_off: row.discount.amount_off,
          duration: row.discount.duration,
          end: row.discount.end ? new Date(row.discount.end * 1000).toISOString() : null,
        }
      : null,
    application_fee_percent: row.applicationFeePercent === null ? null : Number(row.applicationFeePercent),
    latest_invoice: latestInvoice,
    metadata: row.metadata,
    livemode: row.livemode,
    stripe_subscription_id: row.stripeSubscriptionId,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}
