import { createRoute } from "@hono/zod-openapi";
import { loadTenant } from "../../db/tenants";
import { createRouter } from "../../lib/create-app";
import { answer } from "../../lib/csv";
import { jsonResponse } from "../../lib/openapi";
import { jsonOrCsv } from "../analytics/analytics.schemas";
import {
  listReconciliations,
  platformSummary,
  serializeReconciliation,
  tenantAnalytics,
} from "../analytics/platform.service";
import { reconcileTenant } from "../analytics/reconcile";
import { ADMIN_AUTH, requireAdmin } from "./admin.auth";
import { adminErrors, ADMIN_TAGS as tags } from "./admin.openapi";
import {
  AdminSummaryQuery,
  AdminTenantAnalyticsQuery,
  AdminTenantAnalyticsSchema,
  PlatformSummarySchema,
  ReconcileResultSchema,
  ReconciliationListQuery,
  ReconciliationListSchema,
} from "./analytics.schemas";
import { TenantIdParam } from "./tenants.schemas";

const BASE = "/api/v1/admin/analytics";

const summaryRoute = createRoute({
  method: "get",
  path: `${BASE}/summary`,
  tags,
  summary: "Platform MRR (tenants' platform subscriptions) and the tenants' sales and fees",
  description:
    "Platform MRR now, by currency and plan; over `from`..`to` (default the last 30 days): the tenants' revenue, refunds and the application fees the platform collected (live mode unless `mode=test`), from the tenants' rollups. `?format=csv` answers the tenant-sales rows as CSV.",
  security: ADMIN_AUTH,
  middleware: [requireAdmin],
  request: { query: AdminSummaryQuery },
  responses: { 200: jsonOrCsv(PlatformSummarySchema, "The platform's figures"), ...adminErrors },
});

const tenantRoute = createRoute({
  method: "get",
  path: `${BASE}/tenants/{id}`,
  tags,
  summary: "One tenant's analytics summary and its last reconciliation",
  description: "The tenant's summary as its own API gives it (live mode unless `mode=test`).",
  security: ADMIN_AUTH,
  middleware: [requireAdmin],
  request: { params: TenantIdParam, query: AdminTenantAnalyticsQuery },
  responses: { 200: jsonResponse(AdminTenantAnalyticsSchema, "The tenant's analytics"), ...adminErrors },
});

const reconcileRoute = createRoute({
  method: "post",
  path: `${BASE}/tenants/{id}/reconcile`,
  tags,
  summary: "Reconcile one tenant now",
  description:
    "Recomputes the tenant's current MRR and subscribers from its subscription mirror and compares them with the analytics rollups, per mode and currency. The cron does this for every tenant once a day; drift is logged (`analytics drift`) and listed by the reconciliations route, never repaired silently.",
  security: ADMIN_AUTH,
  middleware: [requireAdmin],
  request: { params: TenantIdParam },
  responses: { 200: jsonResponse(ReconcileResultSchema, "The check, per series"), ...adminErrors },
});

const listRoute = createRoute({
  method: "get",
  path: `${BASE}/reconciliations`,
  tags,
  summary: "The last reconciliation of every tenant",
  description: "`drift=true` lists only the series whose mirror and ledger disagree.",
  security: ADMIN_AUTH,
  middleware: [requireAdmin],
  request: { query: ReconciliationListQuery },
  responses: { 200: jsonOrCsv(ReconciliationListSchema, "A page of series checks"), ...adminErrors },
});

export const adminAnalyticsRoutes = createRouter()
  .openapi(summaryRoute, async (c) => {
    const query = c.req.valid("query");
    const body = await platformSummary(c.var.ctx, query);
    return answer(c, query.format, body, () =>
      body.tenant_sales.currencies.map((row) => ({
        from: body.from,
        to: body.to,
        livemode: body.tenant_sales.livemode,
        ...row,
      })),
    );
  })
  .openapi(tenantRoute, async (c) => {
    const body = await tenantAnalytics(c.var.ctx, c.req.valid("param").id, c.req.valid("query"));
    return c.json(body, 200);
  })
  .openapi(reconcileRoute, async (c) => {
    const { id } = c.req.valid("param");
    const tenant = await loadTenant(c.var.ctx.db, id);
    const rows = await reconcileTenant(c.var.ctx, tenant.id);
    return c.json({ data: rows.map(serializeReconciliation) }, 200);
  })
  .openapi(listRoute, async (c) => {
    const query = c.req.valid("query");
    const body = await listReconciliations(c.var.ctx, query);
    return answer(c, query.format, body, () => body.data);
  });
