import { createApp } from "../../src/app";
import type { KeyKind, Role } from "../../src/db/schema";
import { accessOf, type RouteAccess } from "../../src/lib/access";
import { ALL_ROLES } from "../harness";

/**
 * Every route of the app, read from the app itself (`app.routes`: one entry per handler of each
 * route's chain) with the guards of its chain (`accessOf`), so a route added to any module is in
 * the shared security suite the moment it is mounted. Nothing here is listed by hand except the
 * public allowlist below.
 */
export interface Route {
  method: string;
  /** Hono's path, e.g. `/api/v1/auth/plans/:id`. */
  path: string;
  /** The OpenAPI form, e.g. `/api/v1/auth/plans/{id}`: the key of fixtures and exemptions. */
  pattern: string;
  /** `POST /api/v1/auth/plans/{id}/duplicate`: how tests name the route. */
  label: string;
  /** Path parameters, in order. */
  params: string[];
  /** What each guard of the chain lets through, in chain order. */
  guards: RouteAccess[];
  kind: "public" | "operator" | "tenant";
  /** Tenant users with an access token get past authentication. */
  users: boolean;
  /** The roles that get through (every role when no guard narrows them); empty if `users` is false. */
  roles: readonly Role[];
  /** API-key kinds that get through; empty if none. */
  apiKeyKinds: readonly KeyKind[];
}

// Hono's parameter syntax: `:name`, `:name{regex}`, `:name?`.
const PARAM = /:(\w+)(\{[^}]*\})?\??/g;

function toRegExp(path: string): RegExp {
  const source = path
    .replace(/[.+^$()|[\]\\]/g, "\\$&")
    .replace(PARAM, "[^/]+")
    .replace(/\*/g, ".*");
  return new RegExp(`^${source}/?$`);
}

/** Guards of `app.use(path, guard)` style apply to every route whose path they match. */
function routeTable(): Route[] {
  const entries = createApp().routes;
  const chains = new Map<string, { method: string; path: string; guards: RouteAccess[] }>();
  const wide = entries.filter((entry) => entry.method === "ALL");
  for (const entry of entries) {
    if (entry.method === "ALL") continue;
    const key = `${entry.method} ${entry.path}`;
    let chain = chains.get(key);
    if (!chain) {
      chain = { method: entry.method, path: entry.path, guards: [] };
      chains.set(key, chain);
      for (const middleware of wide) {
        const access = accessOf(middleware.handler);
        if (access && toRegExp(middleware.path).test(entry.path.replace(PARAM, "x")))
          chain.guards.push(access);
      }
    }
    const access = accessOf(entry.handler);
    if (access) chain.guards.push(access);
  }
  return [...chains.values()].map(({ method, path, guards }) => {
    const params = [...path.matchAll(PARAM)].map((match) => match[1] as string);
    const pattern = path.replace(PARAM, "{$1}");
    const users = guards.some((g) => g.user);
    // Each guard of a chain must pass: the roles and key kinds that get through are those every
    // guard that names some lets through.
    const roles = guards.reduce<readonly Role[]>(
      (allowed, g) => (g.roles ? allowed.filter((role) => g.roles?.includes(role)) : allowed),
      users ? ALL_ROLES : [],
    );
    const keyGuards = guards.filter((g) => g.apiKeyKinds);
    const apiKeyKinds = keyGuards.length
      ? keyGuards.reduce<readonly KeyKind[]>(
          (allowed, g) => allowed.filter((kind) => g.apiKeyKinds?.includes(kind)),
          ["secret", "publishable"],
        )
      : [];
    const kind = guards.length === 0 ? "public" : guards.some((g) => g.operator) ? "operator" : "tenant";
    return {
      method,
      path,
      pattern,
      label: `${method} ${pattern}`,
      params,
      guards,
      kind,
      users,
      roles,
      apiKeyKinds,
    };
  });
}

export const ROUTES: readonly Route[] = routeTable();

/**
 * Routes anyone may call without credentials, each with the reason. A route with no guard that is
 * not listed here fails the suite: give it a guard (`requireUser`, `requireRole`, `requireApiKey`,
 * `requireUserOrApiKey`, `requireAdmin`, or your own made with `guard()` from src/lib/access.ts)
 * or add it here.
 */
export const PUBLIC_ROUTES: Record<string, string> = {
  "GET /health": "liveness probe",
  "GET /openapi.json": "the API's own description",
  "GET /docs": "the API reference page",
  "GET /docs/assets/*": "the reference page's scripts and styles",
  "GET /dashboard": "the dashboard's single-page shell (its data comes from guarded routes)",
  "GET /dashboard/*": "the dashboard's client-side routes, same shell",
  "GET /dashboard/assets/*": "the dashboard's scripts and styles",
  "POST /api/v1/auth/tenants/register": "sign-up: creates the tenant and its owner",
  "POST /api/v1/auth/tenants/login": "sign-in with email and password (throttled)",
  "POST /api/v1/auth/tenants/token/refresh": "authenticated by the refresh token in the body",
  "POST /api/v1/auth/tenants/users/setup": "an invited user sets a password with the single-use setup token",
  "GET /api/v1/auth/tenants/stripe/callback":
    "Stripe sends the browser back; authenticated by the single-use state",
  "POST /webhooks/stripe": "Stripe's platform events; authenticated by Stripe-Signature",
  "POST /webhooks/stripe/connect": "Stripe's Connect events; authenticated by Stripe-Signature",
  "POST /webhooks/stripe/account": "seed alias of the Stripe webhook (Stripe-Signature)",
  "POST /webhooks/stripe/payment": "seed alias of the Stripe webhook (Stripe-Signature)",
  "POST /webhooks/stripe/subscription": "seed alias of the Stripe webhook (Stripe-Signature)",
  "POST /api/webhooks/stripe": "seed alias of the Stripe webhook (Stripe-Signature)",
  "POST /api/v1/dashboard/session": "dashboard sign-in (same-origin JSON only, throttled)",
  "POST /api/v1/dashboard/register": "dashboard sign-up (same-origin JSON only)",
  "POST /api/v1/dashboard/setup": "dashboard password setup with the setup token (same-origin JSON only)",
  "POST /api/v1/dashboard/session/refresh":
    "authenticated by the HttpOnly refresh cookie (same-origin JSON only)",
  "DELETE /api/v1/dashboard/session": "dashboard sign-out: ends the session of the refresh cookie, if any",
};

/**
 * Routes a publishable key may call (the contract: public plans, and starting a Checkout session
 * for a visible plan). A route letting publishable keys through that is not listed fails the suite.
 */
export const PUBLISHABLE_KEY_ROUTES: Record<string, string> = {
  "GET /api/v1/auth/tenants/verify": "integration check of any key",
  "POST /api/v1/auth/tenants/verify": "integration check of any key",
  "GET /api/v1/auth/plans": "pricing pages list the visible plans",
  "GET /api/v1/auth/plans/{id}": "pricing pages show a visible plan",
  "POST /api/v1/auth/checkout/sessions": "pricing page → checkout of a visible plan for a new customer",
};

/**
 * Writes a suspended tenant's users may still make (prefixes of the request path), as in
 * `SUSPENDED_WRITES` of src/modules/auth/middleware.ts: fix billing, keep the account and keys safe.
 * Changing that list is a deliberate change of this one.
 */
export const ALLOWED_WHILE_SUSPENDED = [
  "/api/v1/auth/tenants/subscription",
  "/api/v1/auth/tenants/change-password",
  "/api/v1/auth/tenants/logout",
  "/api/v1/auth/tenants/api-keys/",
];

export const allowedWhileSuspended = (route: Route) =>
  ["GET", "HEAD"].includes(route.method) ||
  ALLOWED_WHILE_SUSPENDED.some((prefix) => concretePath(route).startsWith(prefix));

/** A request path for the route: each parameter from `values` (a placeholder otherwise), `*` as `x`. */
export function concretePath(route: Route, values: Record<string, string> = {}): string {
  return route.path
    .replace(PARAM, (_, name: string) => encodeURIComponent(values[name] ?? `missing_${name}`))
    .replace(/\*/g, "x");
}

/** An empty JSON body for methods that may carry one: credential and role checks run before validation. */
export const emptyBody = (route: Route) => (["GET", "HEAD"].includes(route.method) ? undefined : {});

export const byKind = (kind: Route["kind"]) => ROUTES.filter((route) => route.kind === kind);

/** Routes whose users are checked (user-token routes, whatever else they take). */
export const USER_ROUTES = ROUTES.filter((route) => route.users);
/** Routes that take API keys. */
export const KEY_ROUTES = ROUTES.filter((route) => route.apiKeyKinds.length > 0);

/** `[label, route]` rows for `it.each` / `describe.each`, so every test names its route. */
export const labelled = (routes: readonly Route[]) => routes.map((route) => [route.label, route] as const);
