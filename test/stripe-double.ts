import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { call } from "./harness";

/** The local Stripe double the Worker talks to in tests (started by test/global-setup.ts). */
export const doubleUrl = () => {
  const url = env.STRIPE_API_BASE;
  if (!url) throw new Error("STRIPE_API_BASE is not set: the Stripe double is not running");
  return url;
};

export interface FailureSpec {
  method?: string;
  path?: string;
  /** Only requests made on behalf of this connected account (Stripe-Account header). */
  account?: string;
  /** Only requests whose Idempotency-Key starts with this. */
  idempotency_key_prefix?: string;
  status?: number;
  error?: Record<string, string>;
  times?: number;
  delay_ms?: number;
}

/** Makes the next matching Stripe call fail. Scope it (account, idempotency key) so parallel files are unaffected. */
export async function failNext(spec: FailureSpec) {
  const res = await fetch(`${doubleUrl()}/__double/fail`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(spec),
  });
  expect(res.status).toBeLessThan(300);
}

export interface LoggedStripeRequest {
  method: string;
  path: string;
  params: Record<string, unknown>;
  headers: { stripe_account: string | null; idempotency_key: string | null; host: string | null };
}

export async function stripeRequests(
  filter: { path?: string; account?: string } = {},
): Promise<LoggedStripeRequest[]> {
  const url = new URL(`${doubleUrl()}/__double/requests`);
  if (filter.path) url.searchParams.set("path", filter.path);
  const all = (await (await fetch(url)).json()) as LoggedStripeRequest[];
  return filter.account ? all.filter((r) => r.headers.stripe_account === filter.account) : all;
}

export async function stripeObject(path: string, account?: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${doubleUrl()}${path}`, {
    headers: { Authorization: "Bearer sk_test_inspect", ...(account ? { "Stripe-Account": account } : {}) },
  });
  return (await res.json()) as Record<string, unknown>;
}

/** Follows one redirect of a URL the API handed out (Stripe's pages) and returns the Location. */
export async function visit(url: string): Promise<URL> {
  const res = await fetch(url, { redirect: "manual" });
  expect(res.status, await res.clone().text()).toBe(302);
  return new URL(res.headers.get("Location") ?? "");
}

/** Calls our own callback with the path and query Stripe redirected the browser to. */
export const followToApi = (location: URL) => call(`${location.pathname}${location.search}`);

/** Connects the tenant through the default Account Links flow; returns the account id. */
export async function connectTenant(ownerToken: string): Promise<string> {
  const started = await call("/api/v1/auth/tenants/stripe/connect/", { token: ownerToken, method: "POST" });
  expect(started.status, JSON.stringify(started.body)).toBe(200);
  const back = await followToApi(await visit(started.body.url));
  expect(back.status, JSON.stringify(back.body)).toBe(200);
  return back.body.account_id;
}
