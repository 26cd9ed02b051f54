import { createRoute, type RouteConfig } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../../env";
import { createRouter } from "../../lib/create-app";
import { BEARER_AUTH, jsonResponse, publicErrorResponses, stripeErrorResponses } from "../../lib/openapi";
import { requireRole, requireUser } from "../auth/middleware";
import {
  CallbackErrorResponse,
  CallbackQuery,
  CallbackResponse,
  ConnectBody,
  ConnectQuery,
  ConnectResponse,
  DisconnectResponse,
  StatusResponse,
} from "./stripe-connect.schemas";
import * as connect from "./stripe-connect.service";

const tags = ["Stripe Connect"];
const BASE = "/api/v1/auth/tenants/stripe";

const connectDescription =
  "Owner only. Default flow: Account Links (an Express-dashboard account controlled by the platform, then an onboarding link). `flow: oauth` uses legacy Connect OAuth (needs STRIPE_CONNECT_CLIENT_ID). Answers `{url, state, redirect_uri}`; send the browser to `url`. The `state` is single-use, bound to tenant and user, and valid 10 minutes. 409 `conflict` while an account is connected and active, or connected through OAuth in any state (disconnect first: that deauthorizes it).";

const connectPost = createRoute({
  method: "post",
  path: `${BASE}/connect`,
  tags,
  summary: "Start connecting a Stripe account",
  description: connectDescription,
  security: BEARER_AUTH,
  middleware: [requireUser, requireRole("owner")],
  request: { body: { required: false, content: { "application/json": { schema: ConnectBody } } } },
  responses: { 200: jsonResponse(ConnectResponse, "Onboarding URL"), ...stripeErrorResponses },
});

const connectGet = createRoute({
  method: "get",
  path: `${BASE}/connect`,
  tags,
  summary: "Start connecting a Stripe account (GET form)",
  description: connectDescription,
  security: BEARER_AUTH,
  middleware: [requireUser, requireRole("owner")],
  request: { query: ConnectQuery },
  responses: { 200: jsonResponse(ConnectResponse, "Onboarding URL"), ...stripeErrorResponses },
});

const callbackRoute = createRoute({
  method: "get",
  path: `${BASE}/callback`,
  tags,
  summary: "Where Stripe sends the browser back (public, state-verified)",
  description:
    "OAuth: exchanges `code` for the account. Account Links: syncs the account named by the `state`. A missing, expired, reused or forged state is 400 `invalid_state`; `error=access_denied` answers the seed's `{error, description}` body. An expired onboarding link (`refresh=1`) redirects to a fresh one.",
  request: { query: CallbackQuery },
  responses: {
    200: jsonResponse(CallbackResponse, "Account connected"),
    ...publicErrorResponses,
    302: { description: "Redirect to a fresh onboarding link" },
    400: jsonResponse(CallbackErrorResponse, "Denied at Stripe, or `invalid_state`"),
    409: jsonResponse(
      CallbackErrorResponse,
      "`account_already_connected`: the Stripe account belongs to another tenant; `conflict`: the tenant connected an active account since this OAuth state was issued (disconnect it first)",
    ),
  },
});

const statusRoute = createRoute({
  method: "get",
  path: `${BASE}/status`,
  tags,
  summary: "Connected account status (any role)",
  description: "From Stripe (charges, payouts, requirements, details), cached for 30 s.",
  security: BEARER_AUTH,
  middleware: [requireUser],
  responses: { 200: jsonResponse(StatusResponse, "Connection status"), ...stripeErrorResponses },
});

const disconnectConfig = (method: "post" | "delete") =>
  ({
    method,
    path: `${BASE}/disconnect`,
    tags,
    summary: "Disconnect the Stripe account (owner)",
    description:
      "Deauthorizes an OAuth-connected account at Stripe, or detaches a platform-controlled one (the Stripe account itself is not deleted). POST and DELETE answer the same.",
    security: BEARER_AUTH,
    middleware: [requireUser, requireRole("owner")],
    responses: { 200: jsonResponse(DisconnectResponse, "Disconnected"), ...stripeErrorResponses },
  }) satisfies RouteConfig;

const disconnectHandler = async (c: Context<AppEnv>) => {
  const tenant = await connect.disconnect(c.var.ctx);
  return c.json(
    {
      message: "Stripe account disconnected successfully",
      tenant: {
        id: tenant.id,
        stripe_connect_account_id: tenant.stripeConnectAccountId,
        stripe_connect_status: tenant.stripeConnectStatus,
      },
    },
    200,
  );
};

export const stripeConnectRoutes = createRouter()
  .openapi(connectPost, async (c) => {
    const body = c.req.header("Content-Type")?.includes("json") ? c.req.valid("json") : {};
    const started = await connect.startConnect(c.var.ctx, body?.flow ?? "account_links");
    return c.json(started, 200);
  })
  .openapi(connectGet, async (c) => {
    const started = await connect.startConnect(c.var.ctx, c.req.valid("query").flow ?? "account_links");
    return c.json(started, 200);
  })
  .openapi(callbackRoute, async (c) => {
    const outcome = await connect.handleCallback(c.var.ctx, c.req.valid("query"));
    if (outcome.kind === "redirect") return c.redirect(outcome.url, 302);
    const { tenant, accountId } = outcome;
    return c.json(
      {
        message: "Stripe account connected successfully",
        account_id: accountId,
        tenant: {
          id: tenant.id,
          company_name: tenant.companyName,
          stripe_connect_account_id: tenant.stripeConnectAccountId,
          stripe_connect_status: tenant.stripeConnectStatus,
        },
      },
      200,
    );
  })
  .openapi(statusRoute, async (c) => {
    const result = await connect.connectStatus(c.var.ctx);
    if (!result) {
      return c.json(
        { connected: false as const, status: "not_connected", message: "No Stripe account connected" },
        200,
      );
    }
    const { account, status } = result;
    return c.json(
      {
        connected: true as const,
        account_id: account.id,
        status,
        charges_enabled: account.charges_enabled ?? false,
        payouts_enabled: account.payouts_enabled ?? false,
        requirements: {
          currently_due: account.requirements?.currently_due ?? [],
          eventually_due: account.requirements?.eventually_due ?? [],
          past_due: account.requirements?.past_due ?? [],
          disabled_reason: account.requirements?.disabled_reason ?? null,
        },
        account_details: {
          email: account.email ?? null,
          business_type: account.business_type ?? null,
          country: account.country ?? null,
          default_currency: account.default_currency ?? null,
          details_submitted: account.details_submitted ?? false,
        },
      },
      200,
    );
  })
  .openapi(disconnectConfig("post"), disconnectHandler)
  .openapi(disconnectConfig("delete"), disconnectHandler);
