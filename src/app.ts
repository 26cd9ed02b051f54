import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { appConfig } from "./config";
import { contextMiddleware } from "./context";
import type { AppEnv } from "./env";
import { createRouter, z } from "./lib/create-app";
import { ApiError, type ErrorCode, errorBody } from "./lib/errors";
import { createLogger, errorFields } from "./lib/logger";
import { jsonResponse } from "./lib/openapi";
import { ADMIN_BEARER_SCHEME, adminRoutes } from "./modules/admin/admin.routes";
import { analyticsRoutes } from "./modules/analytics/analytics.routes";
import { apiKeysRoutes } from "./modules/api-keys/api-keys.routes";
import { auditLogRoutes } from "./modules/audit-log/audit-log.routes";
import { authRoutes } from "./modules/auth/auth.routes";
import { checkoutRoutes } from "./modules/checkout/checkout.routes";
import { couponsRoutes } from "./modules/coupons/coupons.routes";
import { customersRoutes } from "./modules/customers/customers.routes";
import { docsPage } from "./modules/dashboard/assets";
import { dashboardRoutes } from "./modules/dashboard/dashboard.routes";
import { dunningRoutes } from "./modules/dunning/dunning.routes";
import { invoicesRoutes } from "./modules/invoices/invoices.routes";
import { plansRoutes } from "./modules/plans/plans.routes";
import { subscriptionRoutes } from "./modules/platform-billing/subscription.routes";
import { refundsRoutes } from "./modules/refunds/refunds.routes";
import { stripeConnectRoutes } from "./modules/stripe-connect/stripe-connect.routes";
import { stripeEventsRoutes } from "./modules/stripe-events/stripe-events.routes";
import { subscriptionsRoutes } from "./modules/subscriptions/subscriptions.routes";
import { usersRoutes } from "./modules/users/users.routes";
import { webhooksRoutes } from "./modules/webhooks/webhooks.routes";
import { fromStripeError } from "./stripe/errors";

export const MAX_BODY_BYTES = 1024 * 1024;

const STATUS_CODES: Partial<Record<number, ErrorCode>> = {
  400: "validation_error",
  401: "unauthenticated",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  413: "payload_too_large",
  415: "unsupported_media_type",
  429: "rate_limited",
};

const healthRoute = createRoute({
  method: "get",
  path: "/health",
  tags: ["Meta"],
  summary: "Liveness check",
  responses: {
    200: jsonResponse(z.object({ status: z.literal("ok"), time: z.iso.datetime() }), "The Worker is up"),
  },
});

/**
 * Builds the whole HTTP app. Tests call the Worker's own `fetch`, so they run through exactly
 * this middleware stack: request id, security headers, CORS, body limit, services, routes,
 * the contract's error body for everything that goes wrong.
 */
export function createApp() {
  const app = createRouter();

  app.use("*", requestId({ headerName: "X-Request-Id" }));
  // The headers that matter for a JSON API (and the /docs page); the browser-document-only ones
  // of the defaults (DNS prefetch, download options, Flash policy, XSS auditor, ...) are left out.
  app.use(
    "*",
    secureHeaders({
      crossOriginResourcePolicy: "cross-origin",
      crossOriginOpenerPolicy: false,
      originAgentCluster: false,
      xDnsPrefetchControl: false,
      xDownloadOptions: false,
      xPermittedCrossDomainPolicies: false,
      xXssProtection: false,
      xFrameOptions: "DENY",
    }),
  );
  // Server-to-server calls carry no Origin; only browsers' requests need the CORS machinery.
  const corsMiddleware = cors({
    origin: (origin, c) => (appConfig(c.env).corsOrigins.includes(origin) ? origin : null),
    allowHeaders: ["Authorization", "Content-Type", "X-API-Key", "Idempotency-Key", "X-Request-Id"],
    allowMethods: ["GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"],
    exposeHeaders: [
      "X-Request-Id",
      "Retry-After",
      "RateLimit-Limit",
      "RateLimit-Remaining",
      "RateLimit-Reset",
    ],
    maxAge: 600,
  });
  app.use("*", (c, next) => (c.req.header("Origin") ? corsMiddleware(c, next) : next()));
  app.use(
    "*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new ApiError("payload_too_large", "Request body is larger than 1 MB");
      },
    }),
  );
  app.use("*", contextMiddleware);

  app.openapi(healthRoute, (c) => c.json({ status: "ok" as const, time: new Date().toISOString() }, 200));
  app.route("/", authRoutes);
  app.route("/", usersRoutes);
  app.route("/", apiKeysRoutes);
  app.route("/", auditLogRoutes);
  app.route("/", stripeConnectRoutes);
  app.route("/", plansRoutes);
  app.route("/", customersRoutes);
  app.route("/", subscriptionsRoutes);
  app.route("/", checkoutRoutes);
  app.route("/", invoicesRoutes);
  app.route("/", refundsRoutes);
  app.route("/", couponsRoutes);
  app.route("/", dunningRoutes);
  app.route("/", analyticsRoutes);
  app.route("/", webhooksRoutes);
  app.route("/", stripeEventsRoutes);
  app.route("/", subscriptionRoutes);
  app.route("/", adminRoutes);
  app.route("/", dashboardRoutes);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "Access token from register, login or token refresh",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "apiKeyHeader", {
    type: "apiKey",
    in: "header",
    name: "X-API-Key",
    description:
      "A tenant API key (`sk_live_...`, `sk_test_...`; publishable `pk_...` keys only on public read routes)",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "apiKeyBearer", {
    type: "http",
    scheme: "bearer",
    description: "The same API key as `Authorization: Bearer sk_...`",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "adminBearer", ADMIN_BEARER_SCHEME);
  app.doc31("/openapi.json", (c) => ({
    openapi: "3.1.0",
    info: {
      title: "Edge Billing API",
      version: "1.0.0",
      description:
        "Multi-tenant billing on Cloudflare Workers. Every path also answers with a trailing slash. Errors share one body: `{error, message, request_id, details?}`.",
    },
    servers: [{ url: appConfig(c.env).PUBLIC_BASE_URL }],
  }));
  app.get("/docs", docsPage);

  app.notFound((c) =>
    c.json(errorBody("not_found", `No route for ${c.req.method} ${c.req.path}`, c.var.requestId), 404),
  );

  app.onError((thrown, c) => {
    const id = c.var.requestId ?? crypto.randomUUID();
    // Stripe's errors are mapped here, once, for every route that calls Stripe.
    const error = fromStripeError(thrown);
    if (error instanceof ApiError) {
      for (const [name, value] of Object.entries(error.headers ?? {})) c.header(name, value);
      if (error.status >= 500) logFailure(c, id, error);
      return c.json(errorBody(error.code, error.message, id, error.details, error.extra), error.status);
    }
    if (error instanceof HTTPException && error.status < 500) {
      const status = error.status as ContentfulStatusCode;
      const code = STATUS_CODES[status] ?? "validation_error";
      const message = error.message || "Bad request";
      // Hono's own refusals of a body (malformed JSON) name no field: the contract's bad-input
      // answer still lists what was wrong, for the body as a whole.
      const details = code === "validation_error" ? [{ field: "body", message }] : undefined;
      return c.json(errorBody(code, message, id, details), status);
    }
    logFailure(c, id, error);
    return c.json(errorBody("internal_error", "An unexpected error occurred", id), 500);
  });

  return app;
}

export type App = ReturnType<typeof createApp>;

/** One log line for a request that failed on our side (5xx), with its cause. */
function logFailure(c: Context<AppEnv>, requestId: string, error: unknown) {
  const caller = c.var.ctx?.caller;
  const status = error instanceof HTTPException ? error.status : 500;
  createLogger().error("request failed", {
    request_id: requestId,
    tenant_id: caller && caller.kind !== "operator" ? caller.tenantId : null,
    route: `${c.req.method} ${c.req.path}`,
    outcome: status,
    // The mapped error, whose message has any key-shaped string masked, not Stripe's raw one;
    // a stack only for what nobody expected (an ApiError says what happened already).
    ...(error instanceof ApiError ? { error: `${error.code}: ${error.message}` } : errorFields(error)),
  });
}
