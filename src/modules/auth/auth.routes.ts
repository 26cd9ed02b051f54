import { createRoute } from "@hono/zod-openapi";
import { createRouter } from "../../lib/create-app";
import { BEARER_AUTH, errorResponses, jsonBody, jsonResponse, publicErrorResponses } from "../../lib/openapi";
import { SHOWN_ONCE } from "../idempotency/idempotency";
import {
  ChangePasswordBody,
  LoginBody,
  LogoutBody,
  MeResponse,
  MessageResponse,
  RefreshBody,
  RegisterBody,
  RegisterResponse,
  SessionResponse,
  serializeTenant,
  serializeUser,
  TenantDetailsResponse,
  TokenPairSchema,
} from "./auth.schemas";
import * as auth from "./auth.service";
import { requireUser } from "./middleware";
import { tokenPair } from "./sessions";

const tags = ["Auth"];
const BASE = "/api/v1/auth/tenants";

const registerRoute = createRoute({
  method: "post",
  path: `${BASE}/register`,
  tags,
  summary: "Register a tenant and its owner",
  description:
    "Creates the company account, its first user (role `owner`) and a session. Failed registrations are throttled per client IP (429 with `Retry-After`).",
  request: { body: jsonBody(RegisterBody) },
  responses: {
    201: jsonResponse(RegisterResponse, "Tenant registered"),
    409: errorResponses[409],
    ...publicErrorResponses,
  },
});

const loginRoute = createRoute({
  method: "post",
  path: `${BASE}/login`,
  tags,
  summary: "Log in with email and password",
  description:
    "Failed attempts are throttled per email and per client IP (429 with `Retry-After`). The answer never reveals whether an email exists.",
  request: { body: jsonBody(LoginBody) },
  responses: {
    200: jsonResponse(SessionResponse, "Logged in"),
    401: errorResponses[401],
    ...publicErrorResponses,
  },
});

const refreshRoute = createRoute({
  method: "post",
  path: `${BASE}/token/refresh`,
  tags,
  summary: "Rotate a refresh token",
  description:
    "Returns a new access token and a new refresh token. Each refresh token works once; presenting a used one revokes every token of its session (and its access tokens stop working). Invalid tokens are throttled per client IP (429 with `Retry-After`).",
  request: { body: jsonBody(RefreshBody) },
  responses: {
    200: jsonResponse(TokenPairSchema, "New token pair"),
    401: errorResponses[401],
    ...publicErrorResponses,
  },
});

const meRoute = createRoute({
  method: "get",
  path: `${BASE}/me`,
  tags,
  summary: "The authenticated user and their tenant",
  security: BEARER_AUTH,
  middleware: [requireUser] as const,
  responses: { 200: jsonResponse(MeResponse, "Current user"), ...errorResponses },
});

const changePasswordRoute = createRoute({
  method: "post",
  path: `${BASE}/change-password`,
  tags,
  summary: "Change the current user's password",
  description:
    "Verifies the current password (wrong ones are throttled per user: 429 with `Retry-After`). Every other session of the user is signed out, and their access tokens stop working at once.",
  security: BEARER_AUTH,
  middleware: [requireUser] as const,
  request: { body: jsonBody(ChangePasswordBody) },
  responses: { 200: jsonResponse(MessageResponse, "Password changed"), ...errorResponses },
});

const logoutRoute = createRoute({
  method: "post",
  path: `${BASE}/logout`,
  tags,
  summary: "Sign out",
  description:
    'Ends this session (its refresh token and every access token of it stop working at once), or with `{"all": true}` every session of the user.',
  security: BEARER_AUTH,
  middleware: [requireUser] as const,
  request: { body: { required: false, content: { "application/json": { schema: LogoutBody } } } },
  responses: { 200: jsonResponse(MessageResponse, "Signed out"), ...errorResponses },
});

const detailsRoute = createRoute({
  method: "get",
  path: `${BASE}/details`,
  tags: ["Tenant"],
  summary: "Tenant details: tier, usage limits, Stripe Connect status, users",
  security: BEARER_AUTH,
  middleware: [requireUser] as const,
  responses: { 200: jsonResponse(TenantDetailsResponse, "Tenant details"), ...errorResponses },
});

export const authRoutes = createRouter()
  .openapi(registerRoute, async (c) => {
    const { tenant, user, session, apiKeys } = await auth.register(c.var.ctx, c.req.valid("json"));
    return c.json(
      {
        message: "Tenant registered successfully",
        tenant: serializeTenant(tenant),
        user: serializeUser(user),
        tokens: tokenPair(session),
        api_keys: apiKeys,
      },
      201,
      SHOWN_ONCE,
    );
  })
  .openapi(loginRoute, async (c) => {
    const { tenant, user, session } = await auth.login(c.var.ctx, c.req.valid("json"));
    return c.json(
      {
        message: "Login successful",
        tenant: serializeTenant(tenant),
        user: serializeUser(user),
        tokens: tokenPair(session),
      },
      200,
      SHOWN_ONCE,
    );
  })
  .openapi(refreshRoute, async (c) => {
    const session = await auth.refresh(c.var.ctx, c.req.valid("json"));
    return c.json(tokenPair(session), 200, SHOWN_ONCE);
  })
  .openapi(meRoute, async (c) => {
    const { user, tenant } = await auth.me(c.var.ctx);
    return c.json({ ...serializeUser(user), tenant: serializeTenant(tenant) }, 200);
  })
  .openapi(changePasswordRoute, async (c) => {
    await auth.changePassword(c.var.ctx, c.req.valid("json"));
    return c.json({ message: "Password changed successfully. Other sessions have been signed out." }, 200);
  })
  .openapi(logoutRoute, async (c) => {
    const body = (c.req.header("Content-Type")?.includes("json") ? c.req.valid("json") : undefined) ?? {};
    await auth.logout(c.var.ctx, body);
    return c.json({ message: body.all ? "Signed out of every session" : "Signed out of this session" }, 200);
  })
  .openapi(detailsRoute, async (c) => {
    const { tenant, limits, usage, subscription } = await auth.tenantDetails(c.var.ctx);
    return c.json(
      {
        ...serializeTenant(tenant),
        suspended_reason: tenant.suspendedReason,
        suspended_at: tenant.suspendedAt?.toISOString() ?? null,
        usage_limits: limits,
        usage,
        subscription,
        stripe_connect: {
          connected: tenant.stripeConnectAccountId !== null,
          account_id: tenant.stripeConnectAccountId,
          status: tenant.stripeConnectStatus,
        },
        user_count: usage.users,
      },
      200,
    );
  });
