import { createRoute, type RouteConfig } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../../env";
import { createRouter } from "../../lib/create-app";
import { jsonBody, jsonResponse, stripeErrorResponses, USER_OR_KEY_AUTH } from "../../lib/openapi";
import { billingReaders, billingWriters } from "../api-keys/middleware";
import * as lifecycle from "./subscription-lifecycle";
import { previewSubscription } from "./subscription-preview";
import { type SubscriptionChanges, updateSubscription } from "./subscription-update";
import { listSubscriptions } from "./subscriptions.queries";
import {
  CancelBody,
  CreatedSubscriptionSchema,
  CreateSubscriptionBody,
  ListSubscriptionsQuery,
  PauseBody,
  PreviewBody,
  PreviewSchema,
  SubscriptionIdParam,
  SubscriptionListResponse,
  SubscriptionSchema,
  serializeSubscription,
  UpdateSubscriptionBody,
} from "./subscriptions.schemas";
import * as service from "./subscriptions.service";

const tags = ["Subscriptions"];
const BASE = "/api/v1/auth/subscriptions";
const security = USER_OR_KEY_AUTH;
const who =
  "Reads: every role and secret keys; changes: owner, admin, billing and secret keys. A verb that does not apply to the subscription's state is 409 `invalid_state_transition` naming the state.";

const listRoute = createRoute({
  method: "get",
  path: BASE,
  tags,
  summary: "List subscriptions, newest first",
  description: `Filters: \`status\`, \`customer\` (id or ext:), \`plan\`, \`created[gte]\`/\`created[lte]\`. ${who}`,
  security,
  middleware: billingReaders,
  request: { query: ListSubscriptionsQuery },
  responses: {
    200: jsonResponse(SubscriptionListResponse, "A page of subscriptions"),
    ...stripeErrorResponses,
  },
});

const createSubscriptionRoute = createRoute({
  method: "post",
  path: BASE,
  tags,
  summary: "Subscribe a customer to a plan",
  description: `On the tenant's connected account, with the platform's fee (\`application_fee_percent\`). \`trial_days\` defaults to the plan's (0 to 730). By default the first payment waits for the customer: confirm it on your page with the answer's \`client_secret\` (Stripe.js \`confirmPayment\`). Send \`Idempotency-Key\` to retry safely. ${who}`,
  security,
  middleware: billingWriters,
  request: { body: jsonBody(CreateSubscriptionBody) },
  responses: {
    201: jsonResponse(CreatedSubscriptionSchema, "Subscription created"),
    ...stripeErrorResponses,
  },
});

const getRoute = createRoute({
  method: "get",
  path: `${BASE}/{id}`,
  tags,
  summary: "Get a subscription: current period, trial, cancellation, pause and latest invoice",
  security,
  middleware: billingReaders,
  request: { params: SubscriptionIdParam },
  responses: { 200: jsonResponse(SubscriptionSchema, "The subscription"), ...stripeErrorResponses },
});

const updateConfig = (method: "patch" | "post") =>
  ({
    method,
    path: `${BASE}/{id}`,
    tags,
    summary: "Change plan, quantity, coupon or metadata (PATCH, or POST as Stripe does)",
    description: `With Stripe's proration (\`proration_behavior\`: \`create_prorations\` default, \`none\`, \`always_invoice\`). Preview the cost first with \`POST .../preview/\`. ${who}`,
    security,
    middleware: billingWriters,
    request: { params: SubscriptionIdParam, body: jsonBody(UpdateSubscriptionBody) },
    responses: { 200: jsonResponse(SubscriptionSchema, "Subscription changed"), ...stripeErrorResponses },
  }) satisfies RouteConfig;

const previewRoute = createRoute({
  method: "post",
  path: `${BASE}/{id}/preview`,
  tags,
  summary: "Preview a change: the proration and the next invoice, changing nothing",
  security,
  middleware: billingReaders,
  request: {
    params: SubscriptionIdParam,
    body: { required: false, content: { "application/json": { schema: PreviewBody } } },
  },
  responses: {
    200: jsonResponse(
      PreviewSchema,
      "Preview a change: the proration and the next invoice, changing nothing",
    ),
    ...stripeErrorResponses,
  },
});

const cancelRoute = createRoute({
  method: "post",
  path: `${BASE}/{id}/cancel`,
  tags,
  summary: "Cancel at the period end (default) or now",
  security,
  middleware: billingWriters,
  request: {
    params: SubscriptionIdParam,
    body: { required: false, content: { "application/json": { schema: CancelBody } } },
  },
  responses: {
    200: jsonResponse(SubscriptionSchema, "Cancel at the period end (default) or now"),
    ...stripeErrorResponses,
  },
});

const resumeRoute = createRoute({
  method: "post",
  path: `${BASE}/{id}/resume`,
  tags,
  summary: "Take back a cancellation scheduled for the period end",
  security,
  middleware: billingWriters,
  request: { params: SubscriptionIdParam },
  responses: {
    200: jsonResponse(SubscriptionSchema, "Take back a cancellation scheduled for the period end"),
    ...stripeErrorResponses,
  },
});

const pauseRoute = createRoute({
  method: "post",
  path: `${BASE}/{id}/pause`,
  tags,
  summary: "Pause payment collection",
  security,
  middleware: billingWriters,
  request: {
    params: SubscriptionIdParam,
    body: { required: false, content: { "application/json": { schema: PauseBody } } },
  },
  responses: { 200: jsonResponse(SubscriptionSchema, "Pause payment collection"), ...stripeErrorResponses },
});

const unpauseRoute = createRoute({
  method: "post",
  path: `${BASE}/{id}/unpause`,
  tags,
  summary: "Resume payment collection",
  security,
  middleware: billingWriters,
  request: { params: SubscriptionIdParam },
  responses: { 200: jsonResponse(SubscriptionSchema, "Resume payment collection"), ...stripeErrorResponses },
});

const jsonOf = <T>(c: Context<AppEnv>, fallback: T): T =>
  c.req.header("Content-Type")?.includes("json") ? (c.req.valid("json" as never) as T) : fallback;

const update = async (c: Context<AppEnv>, id: string, body: SubscriptionChanges) => {
  const { row, subscription } = await updateSubscription(c.var.ctx, id, body);
  return c.json(await service.subscriptionView(c.var.ctx, row, subscription), 200);
};

export const subscriptionsRoutes = createRouter()
  .openapi(listRoute, async (c) => {
    const { page, hasMore, nextCursor } = await listSubscriptions(c.var.ctx, c.req.valid("query"));
    return c.json(
      { data: page.map((row) => serializeSubscription(row)), has_more: hasMore, next_cursor: nextCursor },
      200,
    );
  })
  .openapi(createSubscriptionRoute, async (c) => {
    const { row, clientSecret, subscription } = await service.createSubscription(
      c.var.ctx,
      c.req.valid("json"),
    );
    return c.json(
      { ...(await service.subscriptionView(c.var.ctx, row, subscription)), client_secret: clientSecret },
      201,
    );
  })
  .openapi(getRoute, async (c) => {
    const row = await service.findSubscription(c.var.ctx, c.req.valid("param").id);
    return c.json(await service.subscriptionView(c.var.ctx, row), 200);
  })
  .openapi(updateConfig("patch"), (c) => update(c, c.req.valid("param").id, c.req.valid("json")))
  .openapi(updateConfig("post"), (c) => update(c, c.req.valid("param").id, c.req.valid("json")))
  .openapi(previewRoute, async (c) => {
    const body = jsonOf(c, { proration_behavior: "create_prorations" as const });
    return c.json(await previewSubscription(c.var.ctx, c.req.valid("param").id, body), 200);
  })
  .openapi(cancelRoute, async (c) => {
    const body = jsonOf(c, { at_period_end: true });
    const { row, subscription } = await lifecycle.cancelSubscription(
      c.var.ctx,
      c.req.valid("param").id,
      body,
    );
    return c.json(await service.subscriptionView(c.var.ctx, row, subscription), 200);
  })
  .openapi(resumeRoute, async (c) => {
    const { row, subscription } = await lifecycle.resumeSubscription(c.var.ctx, c.req.valid("param").id);
    return c.json(await service.subscriptionView(c.var.ctx, row, subscription), 200);
  })
  .openapi(pauseRoute, async (c) => {
    const body = jsonOf(c, { behavior: "void" as const });
    const { row, subscription } = await lifecycle.setPaused(c.var.ctx, c.req.valid("param").id, body);
    return c.json(await service.subscriptionView(c.var.ctx, row, subscription), 200);
  })
  .openapi(unpauseRoute, async (c) => {
    const { row, subscription } = await lifecycle.setPaused(c.var.ctx, c.req.valid("param").id, null);
    return c.json(await service.subscriptionView(c.var.ctx, row, subscription), 200);
  });
