import { createRoute } from "@hono/zod-openapi";
import type { RequestContext } from "../../context";
import { createRouter } from "../../lib/create-app";
import { BEARER_AUTH, errorResponses, jsonBody, jsonResponse } from "../../lib/openapi";
import { pageBody } from "../../lib/pagination";
import { requireRole, requireUser } from "../auth/middleware";
import { SHOWN_ONCE } from "../idempotency/idempotency";
import * as endpoints from "./endpoint.service";
import * as events from "./events.service";
import { maskWebhookSecret } from "./signing";
import { sendTestEvent } from "./test-send.service";
import {
  ConfigResponse,
  ConfigureBody,
  ConfigureResponse,
  DeliveryDetailResponse,
  DeliveryListResponse,
  DeliveryQuery,
  EventIdParam,
  RecoverBody,
  RecoverResponse,
  RemoveResponse,
  serializeAttempt,
  serializeDelivery,
  TestBody,
  TestFailureResponse,
  TestResponse,
} from "./webhooks.schemas";

const tags = ["Webhooks"];
const BASE = "/api/v1/auth/tenants/webhooks";
const readers = [requireUser];
const editors = [requireUser, requireRole("owner", "admin")];

const instructions = (ctx: RequestContext) => ({
  message: "Use the webhook secret to verify webhook signatures",
  signature_header: "X-Webhook-Signature",
  standard_webhooks_headers: ["webhook-id", "webhook-timestamp", "webhook-signature"],
  documentation: `${ctx.config.app.PUBLIC_BASE_URL}/docs`,
});

const getConfigRoute = createRoute({
  method: "get",
  path: `${BASE}/config`,
  tags,
  summary: "The webhook configuration (any role; secret masked)",
  security: BEARER_AUTH,
  middleware: readers,
  responses: { 200: jsonResponse(ConfigResponse, "Configuration"), ...errorResponses },
});

const postConfigRoute = createRoute({
  method: "post",
  path: `${BASE}/config`,
  tags,
  summary: "Set the webhook URL (owner, admin)",
  description:
    "The URL must be https with no credentials and no private, loopback, link-local, CGNAT, reserved or documentation address or internal name (checked again at every delivery). The first configuration creates a `whsec_` secret; `regenerate_secret` rotates it and the previous one keeps signing for 24 h. The secret is shown in full only when it is new. Saving re-enables a disabled endpoint. A rotation overtaken by another save at the same moment is 409 `conflict` (read the configuration and rotate again if still wanted).",
  security: BEARER_AUTH,
  middleware: editors,
  request: { body: jsonBody(ConfigureBody) },
  responses: { 200: jsonResponse(ConfigureResponse, "Configured"), ...errorResponses },
});

const deleteConfigRoute = createRoute({
  method: "delete",
  path: `${BASE}/config`,
  tags,
  summary: "Remove the webhook URL (owner; the secret is kept)",
  security: BEARER_AUTH,
  middleware: [requireUser, requireRole("owner")],
  responses: { 200: jsonResponse(RemoveResponse, "Removed"), ...errorResponses },
});

const testRoute = createRoute({
  method: "post",
  path: `${BASE}/test`,
  tags,
  summary: "Send a test event now (owner, admin)",
  description:
    "Signed like every delivery. Answers the receiver's status, time and (truncated) body; 408 after 10 s without an answer; 502 when the receiver cannot be reached; 413 `payload_too_large` when `test_data` makes the event larger than 256 KB, the limit of every event.",
  security: BEARER_AUTH,
  middleware: editors,
  request: { body: { required: false, content: { "application/json": { schema: TestBody } } } },
  responses: {
    200: jsonResponse(TestResponse, "The receiver answered"),
    ...errorResponses,
    408: jsonResponse(TestFailureResponse, "The receiver did not answer within 10 seconds"),
    502: jsonResponse(TestFailureResponse, "The receiver could not be reached"),
  },
});

const listRoute = createRoute({
  method: "get",
  path: `${BASE}/deliveries`,
  tags,
  summary: "Delivery log: events sent to the tenant, newest first (any role)",
  security: BEARER_AUTH,
  middleware: readers,
  request: { query: DeliveryQuery },
  responses: { 200: jsonResponse(DeliveryListResponse, "A page of deliveries"), ...errorResponses },
});

const detailRoute = createRoute({
  method: "get",
  path: `${BASE}/deliveries/{event_id}`,
  tags,
  summary: "One event with its payload and every attempt (any role)",
  security: BEARER_AUTH,
  middleware: readers,
  request: { params: EventIdParam },
  responses: { 200: jsonResponse(DeliveryDetailResponse, "The delivery"), ...errorResponses },
});

const resendRoute = createRoute({
  method: "post",
  path: `${BASE}/deliveries/{event_id}/resend`,
  tags,
  summary: "Send one event again, with the same id (owner, admin)",
  security: BEARER_AUTH,
  middleware: editors,
  request: { params: EventIdParam },
  responses: {
    202: jsonResponse(DeliveryDetailResponse.omit({ attempt_log: true, payload: true }), "Queued"),
    ...errorResponses,
  },
});

const recoverRoute = createRoute({
  method: "post",
  path: `${BASE}/recover`,
  tags,
  summary: "Queue every failed event since a time again (owner, admin)",
  security: BEARER_AUTH,
  middleware: editors,
  request: { body: jsonBody(RecoverBody) },
  responses: { 202: jsonResponse(RecoverResponse, "Queued"), ...errorResponses },
});

export const webhooksRoutes = createRouter()
  .openapi(getConfigRoute, async (c) => {
    const endpoint = await endpoints.getEndpoint(c.var.ctx);
    return c.json(
      {
        webhook_url: endpoint?.url ?? null,
        webhook_secret: endpoint ? maskWebhookSecret(endpoint.secret) : null,
        configured: Boolean(endpoint?.url),
        enabled_events: endpoint?.enabledEvents ?? ["*"],
        status: endpoint?.url ? endpoint.status : null,
        disabled_reason: endpoint?.disabledReason ?? null,
        disabled_at: endpoint?.disabledAt?.toISOString() ?? null,
        previous_secret_expires_at: endpoint?.previousSecretExpiresAt?.toISOString() ?? null,
        instructions: instructions(c.var.ctx),
      },
      200,
    );
  })
  .openapi(postConfigRoute, async (c) => {
    const { endpoint, secretIsNew } = await endpoints.configureEndpoint(c.var.ctx, c.req.valid("json"));
    return c.json(
      {
        message: "Webhook configured successfully",
        webhook_url: endpoint.url ?? "",
        webhook_secret: secretIsNew ? endpoint.secret : maskWebhookSecret(endpoint.secret),
        enabled_events: endpoint.enabledEvents ?? ["*"],
        test_url: `${BASE}/test/`,
        ...(secretIsNew
          ? { warning: "New webhook secret generated. Update your webhook handler to verify signatures." }
          : {}),
      },
      200,
      secretIsNew ? SHOWN_ONCE : {},
    );
  })
  .openapi(deleteConfigRoute, async (c) => {
    await endpoints.removeEndpointUrl(c.var.ctx);
    return c.json(
      {
        message: "Webhook configuration removed",
        note: "Webhook secret was preserved. You can reconfigure the URL anytime.",
      },
      200,
    );
  })
  .openapi(testRoute, async (c) => {
    const body = c.req.header("Content-Type")?.includes("json") ? c.req.valid("json") : {};
    const { endpoint, event, result } = await sendTestEvent(c.var.ctx, body ?? {});
    const success = result.status >= 200 && result.status < 300;
    return c.json(
      {
        message: success
          ? "Test webhook sent successfully"
          : `Your webhook endpoint answered ${result.status}`,
        webhook_url: endpoint.url,
        status_code: result.status,
        response_time_ms: result.durationMs,
        response_body: result.responseBody,
        success,
        event_sent: event as unknown as Record<string, unknown>,
      },
      200,
    );
  })
  .openapi(listRoute, async (c) => {
    const page = await events.listDeliveries(c.var.ctx, c.req.valid("query"));
    return c.json(pageBody(page, serializeDelivery), 200);
  })
  .openapi(detailRoute, async (c) => {
    const { event, attempts } = await events.getDelivery(c.var.ctx, c.req.valid("param").event_id);
    return c.json(
      {
        ...serializeDelivery(event),
        payload: JSON.parse(event.payload) as Record<string, unknown>,
        attempt_log: attempts.map(serializeAttempt),
      },
      200,
    );
  })
  .openapi(resendRoute, async (c) => {
    const event = await events.resendEvent(c.var.ctx, c.req.valid("param").event_id);
    return c.json({ ...serializeDelivery(event), status: "pending" as const }, 202);
  })
  .openapi(recoverRoute, async (c) => {
    const requeued = await events.recoverFailed(c.var.ctx, new Date(c.req.valid("json").since));
    return c.json({ message: `${requeued} failed event(s) queued for delivery again`, requeued }, 202);
  });
