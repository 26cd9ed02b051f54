import { z } from "@hono/zod-openapi";
import { BILLING_INTERVALS, type PlatformPlanRow } from "../../db/schema";
import { priceDisplay } from "../../lib/money";
import { UsageLimitsSchema } from "../auth/auth.schemas";

/** A platform plan as tenants see it; the operator API adds its Stripe ids and bookkeeping. */
export const PlatformPlanSchema = z
  .object({
    id: z.string().openapi({ example: "starter" }),
    name: z.string(),
    description: z.string().nullable(),
    tier: z.string().openapi({ example: "starter" }),
    price_cents: z.number().int(),
    currency: z.string(),
    billing_interval: z.enum(BILLING_INTERVALS),
    price_display: z.string().openapi({ example: "$29.00/month" }),
    trial_days: z.number().int().openapi({
      description: "Free trial days of a tenant's first subscription (one trial per tenant, ever)",
      example: 14,
    }),
    limits: UsageLimitsSchema,
  })
  .openapi("PlatformPlan");

export const serializePlatformPlan = (plan: PlatformPlanRow): z.infer<typeof PlatformPlanSchema> => ({
  id: plan.id,
  name: plan.name,
  description: plan.description,
  tier: plan.tier,
  price_cents: plan.priceCents,
  currency: plan.currency,
  billing_interval: plan.billingInterval,
  price_display: priceDisplay(plan.priceCents, plan.currency, plan.billingInterval),
  trial_days: plan.trialDays,
  limits: plan.limits,
});
