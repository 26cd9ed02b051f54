// The request context handed to handlers, their answer, and a tiny path router.
import type { FormObject } from "./form.ts";
import type { State } from "./state.ts";

export interface Ctx {
  state: State;
  method: string;
  path: string;
  /** Parsed query string. */
  query: FormObject;
  /** Parsed form body for POST, parsed query for GET and DELETE (where the SDK puts params). */
  params: FormObject;
  /** The connected account the request acts on (Stripe-Account header or an OAuth key), or null. */
  scope: string | null;
  livemode: boolean;
  apiKey: string | null;
  requestId: string;
  idempotencyKey: string | null;
  /** Base URL of the double, e.g. http://127.0.0.1:12111. */
  baseUrl: string;
  /** Path captures of the matched route. */
  match: string[];
  /** The raw body (control endpoints read JSON from it). */
  rawBody: string;
  /** Top-level params the handler accepted; the rest are reported as ignored (or rejected when strict). */
  allowed: string[] | null;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Handler = (ctx: Ctx) => Reply | Promise<Reply>;
export type RouteKind = "api" | "oauth" | "browser" | "control";

export interface Route {
  method: string;
  pattern: RegExp;
  kind: RouteKind;
  handler: Handler;
}

/** `route("GET", "/v1/products/:id", h)`: `:name` captures one path segment. */
export function route(method: string, path: string, handler: Handler, kind: RouteKind = "api"): Route {
  const source = path
    .split("/")
    .map((seg) => (seg.startsWith(":") ? "([^/]+)" : seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("/");
  return { method, pattern: new RegExp(`^${source}/?$`), kind, handler };
}

export function matchRoute(
  routes: Route[],
  method: string,
  path: string,
): { route: Route; match: string[] } | null {
  for (const r of routes) {
    if (r.method !== method) continue;
    const m = r.pattern.exec(path);
    if (m) return { route: r, match: m.slice(1).map((s) => decodeURIComponent(s)) };
  }
  return null;
}

export function ok(body: unknown, status = 200): Reply {
  return { status, body };
}
