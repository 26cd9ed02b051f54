import { z } from "@hono/zod-openapi";
import { CommonQuery, SummarySchema } from "../analytics/analytics.schemas";

const Money = z.number().int().openapi({ description: "Minor units of the currency" });

export const AdminSummaryQuery = CommonQuery.pick({ from: true, to: true, format: true }).extend({
  mode: z
    .enum(["live", "test"])
    .optional()
    .openapi({ description: "Which mode of the tenants' sales (default live: real money)" }),
});

export const AdminTenantAnalyticsQuery = AdminSummaryQuery.omit({ format: true }).extend({
  currency: CommonQuery.shape.currency,
});

export const ReconciliationSchema = z
  .object({
    tenant: z.string(),
    livemode: z.boolean(),
    currency: z.string(),
    checked_at: z.iso.datetime(),
    mirror_mrr: Money.openapi({ description: "MRR recomputed from the subscription mirror" }),
    ledger_mrr: Money.openapi({ description: "MRR the analytics rollups hold" }),
    mirror_subscribers: z.number().int(),
    ledger_subscribers: z.number().int(),
    drift: Money.openapi({ description: "mirror_mrr − ledger_mrr; 0 when they agree" }),
    recently_changed: z.number().int().openapi({
      description: "Subscriptions changed in the 15 minutes before the check (events may be in flight)",
    }),
  })
  .openapi("AnalyticsReconciliation");

export const ReconciliationListQuery = z.object({
  drift: z.enum(["true", "false"]).optional().openapi({ description: "`true`: only the series that drift" }),
  limit: z.coerce.number().int().min(1).max(100).optional().default(50),
  cursor: z.string().max(200).optional(),
  format: CommonQuery.shape.format,
});

export const ReconciliationListSchema = z
  .object({ data: z.array(ReconciliationSchema), has_more: z.boolean(), next_cursor: z.string().nullable() })
  .openapi("AnalyticsReconciliationList");

const PlatformPlanMrr = z.object({
  plan: z.string(),
  name: z.string(),
  tier: z.string(),
  paying_tenants: z.number().int(),
  mrr: Money,
});

export const PlatformSummarySchema = z
  .object({
    from: z.string(),
    to: z.string(),
    platform: z.object({
      currencies: z.array(
        z.object({
          currency: z.string(),
          mrr: Money.openapi({ description: "From tenants' active and past-due platform subscriptions" }),
          arr: Money,
          paying_tenants: z.number().int(),
          trialing_tenants: z.number().int(),
          by_plan: z.array(PlatformPlanMrr),
        }),
      ),
    }),
    tenant_sales: z.object({
      livemode: z.boolean(),
      currencies: z.array(
        z.object({
          currency: z.string(),
          mrr: Money.openapi({ description: "The tenants' combined MRR at `to`" }),
          tenants: z.number().int(),
          revenue: Money,
          refunds: Money,
          net_revenue: Money,
          fees: Money.openapi({ description: "Application fees the platform collected in the period" }),
        }),
      ),
    }),
    tenants: z.record(z.string(), z.number().int()).openapi({ description: "Tenants by status" }),
    reconciliation: z.object({ tenants_checked: z.number().int(), tenants_drifting: z.number().int() }),
  })
  .openapi("PlatformAnalyticsSummary");

export const AdminTenantAnalyticsSchema = z
  .object({
    tenant: z.string(),
    company_name: z.string(),
    status: z.string(),
    platform_subscription: z.object({ plan: z.string().nullable(), status: z.string() }).nullable(),
    summary: SummarySchema,
    reconciliation: z.array(ReconciliationSchema),
  })
  .openapi("AdminTenantAnalytics");

export const ReconcileResultSchema = z
  .object({ data: z.array(ReconciliationSchema) })
  .openapi("AnalyticsReconcileResult");
