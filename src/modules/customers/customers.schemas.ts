import { z } from "@hono/zod-openapi";
import type { CustomerRow } from "../../db/schema";
import { STRIPE_METADATA_KEYS, stripeMetadata } from "../../lib/metadata";
import { PageQuery, pageShape } from "../../lib/pagination";
import { BillingStateSchema } from "./billing-state";

/** Our own keys in a customer's Stripe metadata; the rest is the tenant's. */
export const CUSTOMER_OWN_KEYS = ["tenant_id", "customer_id", "external_id"];

/** Stripe keeps 50 metadata keys on a customer, ours among them: the tenant has the other 47. */
export const MAX_CUSTOMER_METADATA_KEYS = STRIPE_METADATA_KEYS - CUSTOMER_OWN_KEYS.length;

const Metadata = stripeMetadata(MAX_CUSTOMER_METADATA_KEYS, CUSTOMER_OWN_KEYS).openapi({
  example: { crm_id: "A-1042" },
});

export const AddressSchema = z
  .object({
    line1: z.string().max(200).nullish(),
    line2: z.string().max(200).nullish(),
    city: z.string().max(100).nullish(),
    state: z.string().max(100).nullish(),
    postal_code: z.string().max(20).nullish(),
    country: z
      .string()
      .regex(/^[A-Z]{2}$/, "A two-letter ISO country code (US, FR, ...)")
      .nullish(),
  })
  .openapi("Address");

const ExternalId = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[\w.:@-]+$/, "Letters, digits and . _ : @ - only")
  .openapi({ description: "The tenant's own id for the customer, unique per mode", example: "user_1042" });

const CustomerFields = {
  email: z.email().max(254).nullish(),
  name: z.string().max(200).nullish(),
  phone: z.string().max(40).nullish(),
  description: z.string().max(1000).nullish(),
  address: AddressSchema.nullish(),
  metadata: Metadata.optional(),
};

export const CreateCustomerBody = z
  .object({ ...CustomerFields, external_id: ExternalId.optional() })
  .openapi("CreateCustomerRequest");

export const UpdateCustomerBody = z
  .object({ ...CustomerFields, external_id: ExternalId.nullish() })
  .openapi("UpdateCustomerRequest");

export const CustomerIdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(120)
    .openapi({
      param: { name: "id", in: "path" },
      description: "Our id (`cust_...`), or `ext:<external_id>`",
      example: "cust_5b1Zr8lQ0pYd3w2Xk7nTq1",
    }),
});

const timestampRange = (name: string) => ({
  [`${name}[gte]`]: z.iso.datetime().optional(),
  [`${name}[lte]`]: z.iso.datetime().optional(),
});

export const ListCustomersQuery = PageQuery.extend({
  email: z.string().max(254).optional().openapi({ description: "Exact email (case-insensitive)" }),
  search: z
    .string()
    .min(1)
    .max(100)
    .optional()
    .openapi({ description: "Words matched as prefixes against name and email (`jan doe`, `jane@exa`)" }),
  ...timestampRange("created"),
  include_deleted: z.enum(["true", "false"]).optional(),
  delinquent: z
    .enum(["true", "false"])
    .optional()
    .openapi({ description: "Only customers with (true) or without (false) an overdue open invoice" }),
})
  .catchall(z.string().max(500))
  .openapi({ description: "Also `metadata[key]=value` filters" });

export const CustomerSchema = z
  .object({
    id: z.string(),
    object: z.literal("customer"),
    external_id: z.string().nullable(),
    email: z.string().nullable(),
    name: z.string().nullable(),
    phone: z.string().nullable(),
    description: z.string().nullable(),
    address: AddressSchema.nullable(),
    metadata: z.record(z.string(), z.string()),
    default_payment_method: z.string().nullable(),
    deleted: z.boolean(),
    livemode: z.boolean(),
    stripe_customer_id: z.string(),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .openapi("Customer");

/** A customer as reads answer it: with its billing state (open and overdue invoices). */
export const CustomerWithBillingSchema = CustomerSchema.extend({ billing: BillingStateSchema }).openapi(
  "CustomerWithBilling",
);

export const CustomerListResponse = pageShape(CustomerWithBillingSchema).openapi("CustomerList");

export const serializeCustomer = (row: CustomerRow): z.infer<typeof CustomerSchema> => ({
  id: row.id,
  object: "customer",
  external_id: row.externalId,
  email: row.email,
  name: row.name,
  phone: row.phone,
  description: row.description,
  address: row.address ?? null,
  metadata: row.metadata,
  default_payment_method: row.defaultPaymentMethod,
  deleted: row.status === "deleted",
  livemode: row.livemode,
  stripe_customer_id: row.stripeCustomerId,
  created_at: row.createdAt.toISOString(),
  updated_at: row.updatedAt.toISOString(),
});

export const PaymentMethodSchema = z
  .object({
    id: z.string(),
    type: z.string(),
    card: z
      .object({ brand: z.string(), last4: z.string(), exp_month: z.number(), exp_year: z.number() })
      .nullable(),
    is_default: z.boolean(),
    created_at: z.iso.datetime(),
  })
  .openapi("PaymentMethod");

export const PaymentMethodListResponse = z
  .object({ data: z.array(PaymentMethodSchema) })
  .openapi("PaymentMethodList");

export const AttachPaymentMethodBody = z
  .object({
    payment_method: z
      .string()
      .regex(/^pm_\w+$/, "A payment method id (pm_...) from Stripe.js, or a test one (pm_card_visa)")
      .openapi({ example: "pm_card_visa" }),
    set_default: z.boolean().optional().default(false),
  })
  .openapi("AttachPaymentMethodRequest");

export const PaymentMethodParams = CustomerIdParam.extend({
  payment_method: z
    .string()
    .regex(/^pm_\w+$/)
    .openapi({ param: { name: "payment_method", in: "path" }, example: "pm_1Q..." }),
});

export const SetupIntentResponse = z
  .object({
    id: z.string(),
    client_secret: z.string(),
    status: z.string(),
    customer: z.string(),
    publishable_key: z.string().nullable().openapi({ description: "Stripe.js key of the platform" }),
    stripe_account: z.string().openapi({ description: "Pass to Stripe.js as `stripeAccount`" }),
  })
  .openapi("SetupIntent");

export const PortalSessionBody = z.object({ return_url: z.url().max(2000) }).openapi("PortalSessionRequest");

export const PortalSessionResponse = z
  .object({ id: z.string(), url: z.string(), return_url: z.string(), customer: z.string() })
  .openapi("PortalSession");
