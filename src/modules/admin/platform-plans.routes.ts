import { createRoute } from "@hono/zod-openapi";
import { createRouter } from "../../lib/create-app";
import { jsonBody, jsonResponse } from "../../lib/openapi";
import { ADMIN_AUTH, requireAdmin } from "./admin.auth";
import { adminErrors, adminStripeErrors, ADMIN_TAGS as tags } from "./admin.openapi";
import { syncPlatformPlans } from "./plan-sync.service";
import {
  CreatePlatformPlanBody,
  ListPlatformPlansQuery,
  PlatformPlanIdParam,
  PlatformPlanListResponse,
  PlatformPlanSchema,
  SyncPlansBody,
  SyncResultSchema,
  serializePlatformPlan,
  UpdatePlatformPlanBody,
} from "./platform-plans.schemas";
import * as platformPlans from "./platform-plans.service";

const BASE = "/api/v1/admin/plans";
const security = ADMIN_AUTH;
const middleware = [requireAdmin];

const listRoute = createRoute({
  method: "get",
  path: BASE,
  tags,
  summary: "List the platform's plans",
  description: "Every plan, inactive ones included (filter with `is_active`), by id.",
  security,
  middleware,
  request: { query: ListPlatformPlansQuery },
  responses: { 200: jsonResponse(PlatformPlanListResponse, "The platform plans"), ...adminErrors },
});

const getRoute = createRoute({
  method: "get",
  path: `${BASE}/{id}`,
  tags,
  summary: "Get a platform plan",
  security,
  middleware,
  request: { params: PlatformPlanIdParam },
  responses: { 200: jsonResponse(PlatformPlanSchema, "The plan"), ...adminErrors },
});

const createPlanRoute = createRoute({
  method: "post",
  path: BASE,
  tags,
  summary: "Create a platform plan",
  description:
    "Stored in D1 only; its Stripe Product and Price are made by `POST /api/v1/admin/plans/sync`, and tenants can subscribe once it is synced. The id is a slug (`starter`) and unique (409).",
  security,
  middleware,
  request: { body: jsonBody(CreatePlatformPlanBody) },
  responses: { 201: jsonResponse(PlatformPlanSchema, "Plan created"), ...adminErrors },
});

const updateRoute = createRoute({
  method: "patch",
  path: `${BASE}/{id}`,
  tags,
  summary: "Update a platform plan",
  description:
    "Name, description, limits (merged), `is_active`, and price, currency or interval. D1 only: the next sync updates the Stripe product, replaces the Price when the price changed (Stripe prices are immutable: a new one is created and the old one archived; existing subscriptions stay on the old one) and archives the product of a deactivated plan. Until then new subscriptions use the last synced price. Limits never go to Stripe. `id` and `tier` cannot change (400).",
  security,
  middleware,
  request: { params: PlatformPlanIdParam, body: jsonBody(UpdatePlatformPlanBody) },
  responses: { 200: jsonResponse(PlatformPlanSchema, "Plan updated"), ...adminErrors },
});

const syncRoute = createRoute({
  method: "post",
  path: `${BASE}/sync`,
  tags,
  summary: "Sync the platform plans to Stripe",
  description:
    "Makes the platform account's Products and Prices match the plans: creates what is missing, updates changed names and descriptions, replaces a Price whose amount, currency or interval changed (archiving the old one), archives the products of inactive plans. Every create has an idempotency key derived from the plan and its price. New Stripe ids are stored as each object is made: if Stripe fails part-way (502) what was done is kept and a rerun continues. With `dry_run` Stripe is only read and nothing is written. `npm run sync-plans` calls this.",
  security,
  middleware,
  request: { body: { ...jsonBody(SyncPlansBody), required: false } },
  responses: { 200: jsonResponse(SyncResultSchema, "What was done (or would be)"), ...adminStripeErrors },
});

export const adminPlatformPlansRoutes = createRouter()
  .openapi(listRoute, async (c) => {
    const plans = await platformPlans.listPlatformPlans(c.var.ctx, c.req.valid("query"));
    return c.json({ data: plans.map(serializePlatformPlan) }, 200);
  })
  .openapi(syncRoute, async (c) => {
    // Without a JSON body (the body is optional) the validated data is `{}`.
    const dryRun = c.req.valid("json").dry_run === true;
    const result = await syncPlatformPlans(c.var.ctx, dryRun);
    return c.json(result, 200);
  })
  .openapi(getRoute, async (c) => {
    const plan = await platformPlans.getPlatformPlan(c.var.ctx, c.req.valid("param").id);
    return c.json(serializePlatformPlan(plan), 200);
  })
  .openapi(createPlanRoute, async (c) => {
    const plan = await platformPlans.createPlatformPlan(c.var.ctx, c.req.valid("json"));
    return c.json(serializePlatformPlan(plan), 201);
  })
  .openapi(updateRoute, async (c) => {
    const { id: _id, tier: _tier, ...changes } = c.req.valid("json");
    const plan = await platformPlans.updatePlatformPlan(c.var.ctx, c.req.valid("param").id, changes);
    return c.json(serializePlatformPlan(plan), 200);
  });
