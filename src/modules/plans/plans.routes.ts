import { createRoute } from "@hono/zod-openapi";
import { createRouter } from "../../lib/create-app";
import {
  API_KEY_AUTH,
  BEARER_AUTH,
  errorResponses,
  jsonBody,
  jsonResponse,
  stripeErrorResponses,
} from "../../lib/openapi";
import { pageBody } from "../../lib/pagination";
import { requireUserOrApiKey } from "../api-keys/middleware";
import { requireRole, requireUser } from "../auth/middleware";
import {
  CreatePlanBody,
  DuplicatePlanBody,
  ListPlansQuery,
  PlanIdParam,
  PlanListResponse,
  PlanSchema,
  serializePlan,
  UpdatePlanBody,
} from "./plans.schemas";
import * as plansService from "./plans.service";

const tags = ["Plans"];
const BASE = "/api/v1/auth/plans";
const editors = [requireUser, requireRole("owner", "admin")];
const readers = [requireUserOrApiKey(["secret", "publishable"])];
const READ_AUTH = [...BEARER_AUTH, ...API_KEY_AUTH];

const listRoute = createRoute({
  method: "get",
  path: BASE,
  tags,
  summary: "List plans, newest first",
  description:
    "Any user of the tenant; secret API keys (their mode's plans); publishable keys (only visible, active plans: for pricing pages).",
  security: READ_AUTH,
  middleware: readers,
  request: { query: ListPlansQuery },
  responses: { 200: jsonResponse(PlanListResponse, "A page of plans"), ...errorResponses },
});

const getRoute = createRoute({
  method: "get",
  path: `${BASE}/{id}`,
  tags,
  summary: "Get a plan",
  security: READ_AUTH,
  middleware: readers,
  request: { params: PlanIdParam },
  responses: { 200: jsonResponse(PlanSchema, "The plan"), ...errorResponses },
});

const createPlanRoute = createRoute({
  method: "post",
  path: BASE,
  tags,
  summary: "Create a plan (owner, admin)",
  description:
    "Creates a Stripe Product and recurring Price on the tenant's connected account, then the plan: all or nothing. Needs a connected account (409 `stripe_not_connected`). Names are unique per tenant (409).",
  security: BEARER_AUTH,
  middleware: editors,
  request: { body: jsonBody(CreatePlanBody) },
  responses: { 201: jsonResponse(PlanSchema, "Plan created"), ...stripeErrorResponses },
});

const updateRoute = createRoute({
  method: "patch",
  path: `${BASE}/{id}`,
  tags,
  summary: "Update a plan (owner, admin)",
  description:
    "Name, description, features, metadata, trial days and visibility. Price, currency and interval are immutable (400): duplicate the plan instead. Stripe is updated first; if it refuses, the plan is unchanged.",
  security: BEARER_AUTH,
  middleware: editors,
  request: { params: PlanIdParam, body: jsonBody(UpdatePlanBody) },
  responses: { 200: jsonResponse(PlanSchema, "Plan updated"), ...stripeErrorResponses },
});

const deleteRoute = createRoute({
  method: "delete",
  path: `${BASE}/{id}`,
  tags,
  summary: "Deactivate a plan (owner, admin)",
  description:
    "Soft delete: `is_active=false` and the Stripe product archived. Existing subscriptions go on.",
  security: BEARER_AUTH,
  middleware: editors,
  request: { params: PlanIdParam },
  responses: { 200: jsonResponse(PlanSchema, "Plan deactivated"), ...stripeErrorResponses },
});

const duplicateRoute = createRoute({
  method: "post",
  path: `${BASE}/{id}/duplicate`,
  tags,
  summary: "Duplicate a plan with a new name and price (owner, admin)",
  description:
    "Features, metadata, trial and visibility are copied; `metadata.duplicated_from` names the origin.",
  security: BEARER_AUTH,
  middleware: editors,
  request: { params: PlanIdParam, body: jsonBody(DuplicatePlanBody) },
  responses: { 201: jsonResponse(PlanSchema, "Plan created"), ...stripeErrorResponses },
});

export const plansRoutes = createRouter()
  .openapi(listRoute, async (c) => {
    const page = await plansService.listPlans(c.var.ctx, c.req.valid("query"));
    return c.json(pageBody(page, serializePlan), 200);
  })
  .openapi(getRoute, async (c) => {
    const plan = await plansService.getPlan(c.var.ctx, c.req.valid("param").id);
    return c.json(serializePlan(plan), 200);
  })
  .openapi(createPlanRoute, async (c) => {
    const plan = await plansService.createPlan(c.var.ctx, c.req.valid("json"));
    return c.json(serializePlan(plan), 201);
  })
  .openapi(updateRoute, async (c) => {
    const { price_cents: _p, currency: _c, billing_interval: _b, ...changes } = c.req.valid("json");
    const plan = await plansService.updatePlan(c.var.ctx, c.req.valid("param").id, changes);
    return c.json(serializePlan(plan), 200);
  })
  .openapi(deleteRoute, async (c) => {
    const plan = await plansService.deactivatePlan(c.var.ctx, c.req.valid("param").id);
    return c.json(serializePlan(plan), 200);
  })
  .openapi(duplicateRoute, async (c) => {
    const plan = await plansService.duplicatePlan(c.var.ctx, c.req.valid("param").id, c.req.valid("json"));
    return c.json(serializePlan(plan), 201);
  });
