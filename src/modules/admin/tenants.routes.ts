import { createRoute } from "@hono/zod-openapi";
import { createRouter } from "../../lib/create-app";
import { jsonResponse } from "../../lib/openapi";
import { pageBody } from "../../lib/pagination";
import { ADMIN_AUTH, requireAdmin } from "./admin.auth";
import { adminErrors, ADMIN_TAGS as tags } from "./admin.openapi";
import {
  AdminTenantListResponse,
  AdminTenantSchema,
  ListTenantsQuery,
  serializeAdminTenant,
  TenantIdParam,
} from "./tenants.schemas";
import { getTenant, listTenants } from "./tenants.service";

const BASE = "/api/v1/admin/tenants";

const listRoute = createRoute({
  method: "get",
  path: BASE,
  tags,
  summary: "List every tenant, newest first",
  description:
    "With status, suspension and the platform subscription of each. Filters: `status`, `search` (part of the company name or slug).",
  security: ADMIN_AUTH,
  middleware: [requireAdmin],
  request: { query: ListTenantsQuery },
  responses: { 200: jsonResponse(AdminTenantListResponse, "A page of tenants"), ...adminErrors },
});

const getRoute = createRoute({
  method: "get",
  path: `${BASE}/{id}`,
  tags,
  summary: "Get a tenant",
  security: ADMIN_AUTH,
  middleware: [requireAdmin],
  request: { params: TenantIdParam },
  responses: { 200: jsonResponse(AdminTenantSchema, "The tenant"), ...adminErrors },
});

export const adminTenantsRoutes = createRouter()
  .openapi(listRoute, async (c) => {
    const page = await listTenants(c.var.ctx, c.req.valid("query"));
    return c.json(pageBody(page, serializeAdminTenant), 200);
  })
  .openapi(getRoute, async (c) => {
    const tenant = await getTenant(c.var.ctx, c.req.valid("param").id);
    return c.json(serializeAdminTenant(tenant), 200);
  });
