import { createRoute } from "@hono/zod-openapi";
import { createRouter } from "../../lib/create-app";
import { jsonResponse } from "../../lib/openapi";
import { pageBody } from "../../lib/pagination";
import { ADMIN_AUTH, requireAdmin } from "./admin.auth";
import { adminErrors, ADMIN_TAGS as tags } from "./admin.openapi";
import {
  ListStripeEventsQuery,
  RetryStripeEventResponse,
  StripeEventDetailSchema,
  StripeEventIdParam,
  StripeEventListResponse,
  serializeStripeEvent,
  serializeStripeEventDetail,
} from "./stripe-events.schemas";
import { getStripeEvent, listStripeEvents, retryStripeEvent } from "./stripe-events.service";

const BASE = "/api/v1/admin/stripe-events";

const listRoute = createRoute({
  method: "get",
  path: BASE,
  tags,
  summary: "List received Stripe events, newest first",
  description:
    "Every event of both Stripe endpoints (platform and Connect) with its processing status, without payloads. Filters: `status`, `type`, `tenant_id`.",
  security: ADMIN_AUTH,
  middleware: [requireAdmin],
  request: { query: ListStripeEventsQuery },
  responses: { 200: jsonResponse(StripeEventListResponse, "A page of events"), ...adminErrors },
});

const getRoute = createRoute({
  method: "get",
  path: `${BASE}/{id}`,
  tags,
  summary: "Get a Stripe event with its payload",
  security: ADMIN_AUTH,
  middleware: [requireAdmin],
  request: { params: StripeEventIdParam },
  responses: { 200: jsonResponse(StripeEventDetailSchema, "The event"), ...adminErrors },
});

const retryRoute = createRoute({
  method: "post",
  path: `${BASE}/{id}/retry`,
  tags,
  summary: "Process a failed or ignored event again",
  description:
    "Sets the event back to `received` and queues it for the consumer. Only `failed` and `ignored` events (409 otherwise).",
  security: ADMIN_AUTH,
  middleware: [requireAdmin],
  request: { params: StripeEventIdParam },
  responses: { 202: jsonResponse(RetryStripeEventResponse, "Queued for processing"), ...adminErrors },
});

export const adminStripeEventsRoutes = createRouter()
  .openapi(listRoute, async (c) => {
    const page = await listStripeEvents(c.var.ctx, c.req.valid("query"));
    return c.json(pageBody(page, serializeStripeEvent), 200);
  })
  .openapi(getRoute, async (c) => {
    const event = await getStripeEvent(c.var.ctx, c.req.valid("param").id);
    return c.json(serializeStripeEventDetail(event), 200);
  })
  .openapi(retryRoute, async (c) => {
    const event = await retryStripeEvent(c.var.ctx, c.req.valid("param").id);
    return c.json({ message: "Event queued for processing", event: serializeStripeEvent(event) }, 202);
  });
