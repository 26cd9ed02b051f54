import { z } from "@hono/zod-openapi";
import type { PlatformPlanRow } from "../../db/schema";
import { BooleanQuery } from "../../lib/openapi";
import {
  Currency,
  Interval,
  Description as PlanDescription,
  Name as PlanName,
  PriceCents as PlanPriceCents,
} from "../plans/plans.schemas";
import {
  PlatformPlanSchema as PublicPlatformPlanSchema,
  serializePlatformPlan as serializePublicPlatformPlan,
} from "../platform-billing/platform-plan";

/** Plan ids and tiers are readable slugs: `starter`, `pro`, `team-2026`. */
export const PLAN_SLUG = /^[a-z0-9][a-z0-9_-]{1,39}$/;

const Slug = (what: string, example: string) =>
  z
    .string()
    .regex(
      PLAN_SLUG,
      `${what} must be 2-40 lower-case letters, digits, "-" or "_", starting with a letter or digit`,
    )
    .openapi({ example });

const Name = PlanName.openapi({ example: "Starter" });
const Description = PlanDescription.openapi({ example: "For small teams getting started" });
const PriceCents = PlanPriceCents.openapi({ example: 2900 });

const Unlimited = (min: number) =>
  z.number().int().min(min).nullable().openapi({ description: "null means unlimited" });

export const PlanLimitsSchema = z
  .object({
    api_requests_per_minute: z.number().int().min(1).openapi({ example: 600 }),
    api_requests_per_month: Unlimited(1).openapi({ example: 250_000 }),
    plans: Unlimited(0).openapi({ example: 20 }),
    webhook_endpoints: z.number().int().min(1).openapi({ example: 3 }),
    users: Unlimited(1).openapi({ example: 10 }),
  })
  .openapi("AdminPlanLimits");

const TrialDays = z.number().int().min(0).max(730).openapi({
  description: "Free trial days of a tenant's first subscription to this plan (one trial per tenant, ever)",
  example: 14,
});

export const CreatePlatformPlanBody = z
  .object({
    id: Slug("id", "starter"),
    name: Name,
    description: Description,
    tier: Slug("tier", "starter").openapi({
      description: "The tier a subscriber gets (`free`, `starter` and `pro` have default limits)",
    }),
    price_cents: PriceCents,
    currency: Currency.optional().default("usd"),
    billing_interval: Interval,
    trial_days: TrialDays.optional().default(0),
    limits: PlanLimitsSchema,
    is_active: z.boolean().optional().default(true),
  })
  .openapi("AdminCreatePlatformPlanRequest");

const IMMUTABLE = ["id", "tier"] as const;

export const UpdatePlatformPlanBody = z
  .object({
    name: Name.optional(),
    description: Description,
    limits: PlanLimitsSchema.partial()
      .optional()
      .openapi({ description: "Merged into the current limits: send only what changes" }),
    is_active: z.boolean().optional(),
    price_cents: PriceCents.optional(),
    currency: Currency.optional(),
    billing_interval: Interval.optional(),
    trial_days: TrialDays.optional(),
    id: z.unknown().optional().openapi({ description: "Immutable: sending it is a 400" }),
    tier: z.unknown().optional().openapi({ description: "Immutable: sending it is a 400" }),
  })
  .superRefine((body, ctx) => {
    for (const field of IMMUTABLE) {
      if (body[field] !== undefined)
        ctx.addIssue({
          code: "custom",
          path: [field],
          message: `${field} cannot be changed; create a new plan instead`,
        });
    }
    if (Object.values(body).every((value) => value === undefined))
      ctx.addIssue({ code: "custom", path: [], message: "Send at least one field to change" });
  })
  .openapi("AdminUpdatePlatformPlanRequest");

export const PlatformPlanIdParam = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: "id", in: "path" }, example: "starter" }),
});

export const ListPlatformPlansQuery = z.object({
  is_active: BooleanQuery.optional(),
});

export const PlatformPlanSchema = PublicPlatformPlanSchema.extend({
  limits: PlanLimitsSchema,
  is_active: z.boolean(),
  stripe_product_id: z
    .string()
    .nullable()
    .openapi({ description: "Set by the sync; null until the plan was first synced" }),
  stripe_price_id: z.string().nullable(),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
}).openapi("AdminPlatformPlan");

export const PlatformPlanListResponse = z
  .object({ data: z.array(PlatformPlanSchema) })
  .openapi("AdminPlatformPlanList");

export const SyncPlansBody = z
  .object({
    dry_run: z
      .boolean()
      .optional()
      .default(false)
      .openapi({ description: "Only read Stripe and report what a sync would do" }),
  })
  .openapi("AdminPlanSyncRequest");

export const SYNC_ACTIONS = [
  "create_product",
  "create_price",
  "replace_price",
  "update_product",
  "archive_product",
  "unchanged",
] as const;
export type SyncActionKind = (typeof SYNC_ACTIONS)[number];

export const SyncActionSchema = z.object({
  plan_id: z.string(),
  action: z.enum(SYNC_ACTIONS),
  detail: z.string().openapi({ example: "$29.00/month" }),
  stripe_product_id: z.string().optional(),
  stripe_price_id: z.string().optional(),
});

export const SyncResultSchema = z
  .object({
    dry_run: z.boolean(),
    actions: z.array(SyncActionSchema),
    summary: z
      .object({
        created: z.number().int(),
        updated: z.number().int(),
        archived: z.number().int(),
        unchanged: z.number().int(),
      })
      .openapi({
        description:
          "Counts of actions: created = create_product + create_price, updated = update_product + replace_price",
      }),
  })
  .openapi("AdminPlanSyncResult");

export type SyncAction = z.infer<typeof SyncActionSchema>;
export type SyncResult = z.infer<typeof SyncResultSchema>;

export const serializePlatformPlan = (plan: PlatformPlanRow): z.infer<typeof PlatformPlanSchema> => ({
  ...serializePublicPlatformPlan(plan),
  is_active: plan.isActive,
  stripe_product_id: plan.stripeProductId,
  stripe_price_id: plan.stripePriceId,
  created_at: plan.createdAt.toISOString(),
  updated_at: plan.updatedAt.toISOString(),
});
