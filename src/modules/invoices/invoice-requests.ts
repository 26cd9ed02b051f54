import { z } from "@hono/zod-openapi";
import { INVOICE_STATUSES } from "../../db/schema";
import { stripeMetadata } from "../../lib/metadata";
import { isIsoCurrency, MAX_STRIPE_AMOUNT } from "../../lib/money";
import { PageQuery, pageShape } from "../../lib/pagination";
import { InvoiceSchema } from "./invoices.schemas";
import { INVOICE_OWN_KEYS } from "./stripe-invoice";

const Metadata = stripeMetadata(40, INVOICE_OWN_KEYS);

/** The most minor units Stripe takes for one amount: an item's unit_amount × quantity, and an invoice's items together. */
export const MAX_ITEM_AMOUNT = MAX_STRIPE_AMOUNT;

const InvoiceItem = z
  .object({
    plan: z
      .string()
      .min(1)
      .max(60)
      .optional()
      .openapi({ description: "One of the tenant's active plans: its price, billed once" }),
    unit_amount: z
      .number()
      .int()
      .min(1)
      .max(MAX_ITEM_AMOUNT)
      .optional()
      .openapi({ description: "Minor units per unit (cents), when no plan is given", example: 2500 }),
    quantity: z.number().int().min(1).max(10_000).optional().default(1),
    description: z.string().min(1).max(500).optional(),
  })
  .refine((item) => (item.plan === undefined) !== (item.unit_amount === undefined), {
    message: "Give either plan or unit_amount",
  })
  .refine((item) => (item.unit_amount ?? 0) * item.quantity <= MAX_ITEM_AMOUNT, {
    message: `An item's amount (unit_amount × quantity) is at most ${MAX_ITEM_AMOUNT} minor units`,
  })
  .refine((item) => item.plan !== undefined || item.description !== undefined, {
    message: "An item with a unit_amount needs a description",
    path: ["description"],
  })
  .openapi("InvoiceItemInput");

export const CreateInvoiceBody = z
  .object({
    customer: z.string().min(1).max(120).openapi({ description: "Our customer id, or `ext:<external_id>`" }),
    items: z.array(InvoiceItem).min(1).max(50),
    currency: z
      .string()
      .refine(isIsoCurrency, "A lower-case ISO 4217 currency (usd, eur, ...)")
      .optional()
      .openapi({ description: "Default: the plans' currency; required with only unit_amount items" }),
    collection_method: z
      .enum(["charge_automatically", "send_invoice"])
      .optional()
      .default("charge_automatically")
      .openapi({
        description:
          "`charge_automatically` (default): the customer's default payment method is charged (`pay`, or by Stripe an hour after `finalize`); `send_invoice`: Stripe emails the invoice, payable on its hosted page within `days_until_due`",
      }),
    days_until_due: z
      .number()
      .int()
      .min(1)
      .max(365)
      .optional()
      .openapi({ description: "Required with `send_invoice`, refused otherwise" }),
    coupon: z.string().min(1).max(120).optional().openapi({ description: "One of the tenant's coupons" }),
    promotion_code: z
      .string()
      .min(1)
      .max(120)
      .optional()
      .openapi({ description: "A promotion code's id (`promo_...`) or its code" }),
    description: z.string().max(1000).optional(),
    metadata: Metadata.optional(),
  })
  .refine((body) => !(body.coupon && body.promotion_code), {
    message: "Give a coupon or a promotion_code, not both",
    path: ["promotion_code"],
  })
  .refine((body) => (body.collection_method === "send_invoice") === (body.days_until_due !== undefined), {
    message: "days_until_due goes with collection_method send_invoice, and only with it",
    path: ["days_until_due"],
  })
  .openapi("CreateInvoiceRequest");

export const PayInvoiceBody = z
  .object({
    payment_method: z
      .string()
      .regex(/^pm_\w+$/, "A payment method id (pm_...)")
      .optional()
      .openapi({ description: "Default: the invoice's, then the customer's default payment method" }),
    paid_out_of_band: z.boolean().optional().openapi({
      description: "Record a payment made outside Stripe (cash, bank transfer): nothing is charged",
    }),
  })
  .refine((body) => !(body.payment_method && body.paid_out_of_band), {
    message: "A payment made out of band takes no payment_method",
    path: ["payment_method"],
  })
  .openapi("PayInvoiceRequest");

export const InvoiceIdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(60)
    .openapi({ param: { name: "id", in: "path" }, example: "inv_5b1Zr8lQ0pYd3w2Xk7nTq1" }),
});

const range = (name: string) => ({
  [`${name}[gte]`]: z.iso.datetime().optional(),
  [`${name}[lte]`]: z.iso.datetime().optional(),
});

export const ListInvoicesQuery = PageQuery.extend({
  status: z.enum(INVOICE_STATUSES).optional(),
  customer: z
    .string()
    .max(120)
    .optional()
    .openapi({ description: "Our customer id, or `ext:<external_id>`" }),
  subscription: z.string().max(60).optional(),
  ...range("created"),
  ...range("due_date"),
});

export const InvoiceListResponse = pageShape(InvoiceSchema).openapi("InvoiceList");
