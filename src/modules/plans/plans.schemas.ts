import { z } from "@hono/zod-openapi";
import { BILLING_INTERVALS, type PlanRow } from "../../db/schema";
import { stripeMetadata } from "../../lib/metadata";
import { isIsoCurrency, priceDisplay } from "../../lib/money";
import { BooleanQuery } from "../../lib/openapi";
import { PageQuery, pageShape } from "../../lib/pagination";

// Field schemas shared with the platform plans of the operator API.

export const Name = z.string().trim().min(1).max(100).openapi({ example: "Pro" });
export const Description = z
  .string()
  .trim()
  .max(500)
  .nullable()
  .optional()
  .openapi({ example: "For growing teams" });
export const PriceCents = z
  .number()
  .int("price_cents must be an integer number of minor units (cents)")
  .min(0)
  .max(99_999_999)
  .openapi({ example: 2999, description: "Integer minor units of the currency (2999 = $29.99; 500 = ¥500)" });
export const Currency = z
  .string()
  .trim()
  .toLowerCase()
  .refine(isIsoCurrency, "Not an ISO 4217 currency code")
  .openapi({ example: "usd" });
export const Interval = z.enum(BILLING_INTERVALS).openapi({ example: "month" });
const TrialDays = z.number().int().min(0).max(730).openapi({ example: 14 });
const Features = z
  .array(z.string().trim().min(1).max(200))
  .max(50)
  .openapi({ example: ["10 projects", "Email support"] });
const Metadata = stripeMetadata(40, ["tenant_id", "plan_id"]).openapi({ example: { tier: "pro" } });

export const CreatePlanBody = z
  .object({
    name: Name,
    description: Description,
    price_cents: PriceCents,
    currency: Currency.optional().default("usd"),
    billing_interval: Interval,
    trial_days: TrialDays.optional().default(0),
    features: Features.optional().default([]),
    metadata: Metadata.optional().default({}),
    is_visible: z.boolean().optional().default(true),
  })
  .openapi("CreatePlanRequest");

const IMMUTABLE = ["price_cents", "currency", "billing_interval"] as const;

export const UpdatePlanBody = z
  .object({
    name: Name.optional(),
    description: Description,
    trial_days: TrialDays.optional(),
    features: Features.optional(),
    metadata: Metadata.optional(),
    is_visible: z.boolean().optional(),
    price_cents: z.unknown().optional().openapi({ description: "Immutable: sending it is a 400" }),
    currency: z.unknown().optional().openapi({ description: "Immutable: sending it is a 400" }),
    billing_interval: z.unknown().optional().openapi({ description: "Immutable: sending it is a 400" }),
  })
  .superRefine((body, ctx) => {
    for (const field of IMMUTABLE) {
      if (body[field] !== undefined)
        ctx.addIssue({
          code: "custom",
          path: [field],
          message: `${field} cannot be changed; duplicate the plan with a new price instead`,
        });
    }
  })
  .openapi("UpdatePlanRequest");

export const DuplicatePlanBody = z
  .object({
    name: Name,
    price_cents: PriceCents,
    currency: Currency.optional(),
    billing_interval: Interval.optional(),
  })
  .openapi("DuplicatePlanRequest");

export const PlanIdParam = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: "id", in: "path" }, example: "plan_3kTq9sLm2PzR8vXc1bNw4e" }),
});

export const ListPlansQuery = PageQuery.extend({
  is_active: BooleanQuery.optional(),
  billing_interval: Interval.optional(),
  search: z.string().trim().max(100).optional().openapi({ description: "Part of the plan's name" }),
});

export const PlanSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    price_cents: z.number().int(),
    currency: z.string(),
    billing_interval: Interval,
    trial_days: z.number().int(),
    features: z.array(z.string()),
    metadata: z.record(z.string(), z.string()),
    is_active: z.boolean(),
    is_visible: z.boolean(),
    livemode: z.boolean(),
    stripe_product_id: z.string(),
    stripe_price_id: z.string(),
    price_display: z.string().openapi({ example: "$29.99/month" }),
    has_trial: z.boolean(),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .openapi("Plan");

export const PlanListResponse = pageShape(PlanSchema).openapi("PlanList");

export const serializePlan = (plan: PlanRow): z.infer<typeof PlanSchema> => ({
  id: plan.id,
  name: plan.name,
  description: plan.description,
  price_cents: plan.priceCents,
  currency: plan.currency,
  billing_interval: plan.billingInterval,
  trial_days: plan.trialDays,
  features: plan.features,
  metadata: plan.metadata,
  is_active: plan.isActive,
  is_visible: plan.isVisible,
  livemode: plan.livemode,
  stripe_product_id: plan.stripeProductId,
  stripe_price_id: plan.stripePriceId,
  price_display: priceDisplay(plan.priceCents, plan.currency, plan.billingInterval),
  has_trial: plan.trialDays > 0,
  created_at: plan.createdAt.toISOString(),
  updated_at: plan.updatedAt.toISOString(),
});
