import { createRoute } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../../env";
import { createRouter } from "../../lib/create-app";
import { errorResponses, jsonBody, jsonResponse, publicErrorResponses } from "../../lib/openapi";
import * as auth from "../auth/auth.service";
import { SHOWN_ONCE } from "../idempotency/idempotency";
import * as usersService from "../users/users.service";
import { assetRoutes } from "./assets";
import {
  DashboardRegistrationResponse,
  DashboardSessionResponse,
  LoginBody,
  RegisterBody,
  SetupPasswordBody,
  SignedOutResponse,
} from "./dashboard.schemas";
import {
  assertSameOriginJson,
  endSession,
  REFRESH_COOKIE_HEADER_NAME,
  refreshSession,
  SESSION_MARK_COOKIE_HEADER_NAME,
  startSession,
} from "./dashboard.service";

const tags = ["Dashboard session"];
const BASE = "/api/v1/dashboard";

/** Same-origin, JSON-only: runs before the body is even parsed. */
const sameOriginJson = createMiddleware<AppEnv>(async (c, next) => {
  assertSameOriginJson(c);
  await next();
});

const COOKIE_SECURITY = [{ dashboardSession: [] }];
const setCookieHeader = {
  "Set-Cookie": {
    description: `\`${REFRESH_COOKIE_HEADER_NAME}=<refresh token>; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=<refresh lifetime>\`, and \`${SESSION_MARK_COOKIE_HEADER_NAME}=<random>\` with the same attributes but readable by the page: a value that changes with every rotation, so a page can tell that a refresh's answer has landed`,
    schema: { type: "string" as const },
  },
};
const csrfNote =
  "For the web dashboard. Only from the dashboard's own origin (`Origin` must match) with `Content-Type: application/json`; anything else is 403 or 415. The refresh token is set as an HttpOnly cookie and never appears in the body.";

const loginRoute = createRoute({
  method: "post",
  path: `${BASE}/session`,
  tags,
  summary: "Sign in to the dashboard (sets the session cookie)",
  description: `${csrfNote} Same throttling and answers as \`POST /api/v1/auth/tenants/login\`.`,
  middleware: [sameOriginJson] as const,
  request: { body: jsonBody(LoginBody) },
  responses: {
    200: { ...jsonResponse(DashboardSessionResponse, "Signed in"), headers: setCookieHeader },
    401: errorResponses[401],
    403: errorResponses[403],
    415: errorResponses[400],
    ...publicErrorResponses,
  },
});

const registerRoute = createRoute({
  method: "post",
  path: `${BASE}/register`,
  tags,
  summary: "Register a tenant from the dashboard (sets the session cookie)",
  description: `${csrfNote} Same rules as \`POST /api/v1/auth/tenants/register\`; the four API keys are in the answer this once.`,
  middleware: [sameOriginJson] as const,
  request: { body: jsonBody(RegisterBody) },
  responses: {
    201: {
      ...jsonResponse(DashboardRegistrationResponse, "Registered and signed in"),
      headers: setCookieHeader,
    },
    403: errorResponses[403],
    409: errorResponses[409],
    ...publicErrorResponses,
  },
});

const setupRoute = createRoute({
  method: "post",
  path: `${BASE}/setup`,
  tags,
  summary: "Accept an invitation: set a password with a setup token (sets the session cookie)",
  description: `${csrfNote} Same rules as \`POST /api/v1/auth/tenants/users/setup\`.`,
  middleware: [sameOriginJson] as const,
  request: { body: jsonBody(SetupPasswordBody) },
  responses: {
    200: { ...jsonResponse(DashboardSessionResponse, "Password set; signed in"), headers: setCookieHeader },
    401: errorResponses[401],
    403: errorResponses[403],
    ...publicErrorResponses,
  },
});

const refreshRoute = createRoute({
  method: "post",
  path: `${BASE}/session/refresh`,
  tags,
  summary: "A new access token from the session cookie (rotates the cookie)",
  description: `${csrfNote} The cookie's refresh token is consumed once and replaced; presenting a used one revokes the whole session, like \`POST /api/v1/auth/tenants/token/refresh\`. A missing or dead session is 401 and clears the cookie.`,
  security: COOKIE_SECURITY,
  middleware: [sameOriginJson] as const,
  responses: {
    200: { ...jsonResponse(DashboardSessionResponse, "A new access token"), headers: setCookieHeader },
    401: errorResponses[401],
    403: errorResponses[403],
    ...publicErrorResponses,
  },
});

const logoutRoute = createRoute({
  method: "delete",
  path: `${BASE}/session`,
  tags,
  summary: "Sign out of the dashboard (revokes the session, clears the cookie)",
  description: `${csrfNote} Revokes every refresh token of the cookie's session. Answers 200 even without a live session.`,
  security: COOKIE_SECURITY,
  middleware: [sameOriginJson] as const,
  responses: {
    200: jsonResponse(SignedOutResponse, "Signed out"),
    403: errorResponses[403],
    ...publicErrorResponses,
  },
});

const sessionRoutes = createRouter()
  .openapi(loginRoute, async (c) => {
    const result = await auth.login(c.var.ctx, c.req.valid("json"));
    return c.json(await startSession(c, result), 200, SHOWN_ONCE);
  })
  .openapi(registerRoute, async (c) => {
    const result = await auth.register(c.var.ctx, c.req.valid("json"));
    return c.json({ ...(await startSession(c, result)), api_keys: result.apiKeys }, 201, SHOWN_ONCE);
  })
  .openapi(setupRoute, async (c) => {
    const result = await usersService.completeSetup(c.var.ctx, c.req.valid("json"));
    return c.json(await startSession(c, result), 200, SHOWN_ONCE);
  })
  .openapi(refreshRoute, async (c) => c.json(await refreshSession(c), 200, SHOWN_ONCE))
  .openapi(logoutRoute, async (c) => {
    await endSession(c);
    return c.json({ message: "Signed out" }, 200);
  });

sessionRoutes.openAPIRegistry.registerComponent("securitySchemes", "dashboardSession", {
  type: "apiKey",
  in: "cookie",
  name: REFRESH_COOKIE_HEADER_NAME,
  description: "The dashboard's HttpOnly refresh cookie, set by the dashboard session routes",
});

/** The dashboard's session API, its pages (`/dashboard/*`) and their static files. */
export const dashboardRoutes = createRouter().route("/", sessionRoutes).route("/", assetRoutes);
