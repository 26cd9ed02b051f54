import { z } from "@hono/zod-openapi";
import { SUBSCRIPTION_STATUSES, TENANT_STATUSES } from "../../db/schema";
import { PageQuery, pageShape } from "../../lib/pagination";
import type { AdminTenantRow } from "./tenants.service";

export const ListTenantsQuery = PageQuery.extend({
  status: z.enum(TENANT_STATUSES).optional(),
  search: z
    .string()
    .trim()
    .max(100)
    .optional()
    .openapi({ description: "Part of the company name or slug (case-insensitive)" }),
});

export const TenantIdParam = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: "id", in: "path" }, example: "ten_4f9XbQ2mKc8RzT1uVw3yLp" }),
});

export const AdminSubscriptionSchema = z
  .object({
    plan_id: z.string().nullable().openapi({ example: "starter" }),
    status: z.enum(SUBSCRIPTION_STATUSES),
    stripe_customer_id: z.string().nullable(),
    stripe_subscription_id: z.string().nullable(),
    current_period_end: z.iso.datetime().nullable(),
    cancel_at_period_end: z.boolean(),
  })
  .openapi("AdminTenantSubscription");

export const AdminTenantSchema = z
  .object({
    id: z.string().openapi({ example: "ten_4f9XbQ2mKc8RzT1uVw3yLp" }),
    company_name: z.string().openapi({ example: "Acme Corp" }),
    slug: z.string().openapi({ example: "acme-corp" }),
    status: z.enum(TENANT_STATUSES),
    suspended_reason: z.string().nullable().openapi({ example: "payment_failed" }),
    suspended_at: z.iso.datetime().nullable(),
    subscription_tier: z.string().openapi({ example: "starter" }),
    stripe_connect_status: z.string().openapi({ example: "active" }),
    subscription: AdminSubscriptionSchema.nullable().openapi({
      description: "The tenant's platform subscription; null if it never had one",
    }),
    created_at: z.iso.datetime(),
  })
  .openapi("AdminTenant");

export const AdminTenantListResponse = pageShape(AdminTenantSchema).openapi("AdminTenantList");

export const serializeAdminTenant = (row: AdminTenantRow): z.infer<typeof AdminTenantSchema> => ({
  id: row.id,
  company_name: row.companyName,
  slug: row.slug,
  status: row.status,
  suspended_reason: row.suspendedReason,
  suspended_at: row.suspendedAt?.toISOString() ?? null,
  subscription_tier: row.subscriptionTier,
  stripe_connect_status: row.stripeConnectStatus,
  subscription: row.subscription
    ? {
        plan_id: row.subscription.planId,
        status: row.subscription.status,
        stripe_customer_id: row.subscription.stripeCustomerId,
        stripe_subscription_id: row.subscription.stripeSubscriptionId,
        current_period_end: row.subscription.currentPeriodEnd?.toISOString() ?? null,
        cancel_at_period_end: row.subscription.cancelAtPeriodEnd,
      }
    : null,
  created_at: row.createdAt.toISOString(),
});
