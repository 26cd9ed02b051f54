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

const API_KEY = "sk_test_inspect";

async function control<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${doubleUrl()}/__double${path}`, {
    method,
    headers: { "Content-Type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  expect(res.status, text).toBeLessThan(300);
  return JSON.parse(text) as T;
}

async function api<T = Record<string, unknown>>(
  method: string,
  path: string,
  params: Record<string, string> = {},
  account?: string,
): Promise<T> {
  const body = new URLSearchParams(params).toString();
  const res = await fetch(`${doubleUrl()}${path}${method === "GET" && body ? `?${body}` : ""}`, {
    method,
    headers: {
      Authorization: `Bearer ${API_KEY}`,
      "Content-Type": "application/x-www-form-urlencoded",
      ...(account ? { "Stripe-Account": account } : {}),
    },
    ...(method === "GET" ? {} : { body }),
  });
  const text = await res.text();
  expect(res.status, text).toBeLessThan(300);
  return JSON.parse(text) as T;
}

export interface DoubleEvent {
  id: string;
  type: string;
  account?: string;
  created: number;
  data: { object: Record<string, unknown>; previous_attributes?: Record<string, unknown> };
  delivery: { url: string | null; status: string; response_status: number | null };
}

/** Events the double emitted, oldest first (filter by type and by connected account). */
export function doubleEvents(filter: { type?: string; account?: string } = {}): Promise<DoubleEvent[]> {
  const q = new URLSearchParams();
  if (filter.type) q.set("type", filter.type);
  if (filter.account) q.set("account", filter.account);
  return control("GET", `/events?${q}`);
}

/** Waits until every webhook delivery the double started has finished. */
export async function flushStripeWebhooks(): Promise<void> {
  await control("POST", "/flush");
}

/** A test clock at `frozenTime` (unix seconds), in the connected account when given. */
export function createTestClock(frozenTime: number, account?: string, name?: string) {
  return api<{ id: string; frozen_time: number }>(
    "POST",
    "/v1/test_helpers/test_clocks",
    { frozen_time: String(frozenTime), ...(name ? { name } : {}) },
    account,
  );
}

/**
 * Advances a test clock by `seconds` (or to `frozenTime`), running everything due on its customers
 * (trial ends, renewals, payment retries...). Resolves with the clock, `ready` again.
 */
export async function advanceTestClock(
  clockId: string,
  to: { seconds: number } | { frozenTime: number },
  account?: string,
) {
  const path = `/v1/test_helpers/test_clocks/${clockId}`;
  const current = await api<{ frozen_time: number }>("GET", path, {}, account);
  const target = "seconds" in to ? current.frozen_time + to.seconds : to.frozenTime;
  await api("POST", `${path}/advance`, { frozen_time: String(target) }, account);
  return api<{ id: string; frozen_time: number; status: string }>("GET", path, {}, account);
}

export interface RetrySchedule {
  /** Days after each failed attempt until the next one (default [1, 3, 5, 7]). */
  delays_days?: number[];
  /** Status of the subscription once the last retry failed (default canceled). */
  after?: "canceled" | "unpaid" | "past_due";
}

/** Sets the payment retry schedule of a connected account (or the platform: null) or a customer. */
export function setRetrySchedule(
  target: { account?: string | null; customer?: string },
  schedule: RetrySchedule,
) {
  return control("POST", "/retry_schedule", { ...target, ...schedule });
}

export async function clearRetrySchedule(target: { account?: string; customer?: string }): Promise<void> {
  const q = new URLSearchParams(target as Record<string, string>);
  await control("DELETE", `/retry_schedule?${q}`);
}

/**
 * Skews the double's clock (`created`, the Date header) for the matching requests. Scope it with
 * `account` or `idempotency_key_prefix` so parallel files are unaffected.
 */
export function skewClock(rule: {
  offset_seconds: number;
  account?: string;
  idempotency_key_prefix?: string;
}) {
  return control("POST", "/clock", rule);
}

/** Moves a subscription to its next period (or, with `retry`, runs its next payment retry now). */
export function advanceSubscription(
  subscriptionId: string,
  options: { fail?: boolean; retry?: boolean } = {},
) {
  return control<Record<string, unknown>>("POST", `/subscriptions/${subscriptionId}/advance`, options);
}

/** At Stripe, the account's requirements fall past due: charges and payouts disabled (restricted). */
export function restrictAccount(accountId: string) {
  return control<Record<string, unknown>>("POST", `/accounts/${accountId}/restrict`);
}

/** At Stripe, the account finishes onboarding (everything enabled). */
export function onboardAccount(accountId: string) {
  return control<Record<string, unknown>>("POST", `/accounts/${accountId}/onboard`);
}

/** The account's owner disconnects the platform in their Stripe Dashboard. */
export function deauthorizeAtStripe(accountId: string) {
  return control<Record<string, unknown>>("POST", `/accounts/${accountId}/deauthorize`);
}

/** A pending refund succeeds (or a `pm_card_refundFail` refund fails). */
export function settleRefund(refundId: string, status?: "succeeded" | "failed") {
  return control<Record<string, unknown>>("POST", `/refunds/${refundId}/settle`, status ? { status } : {});
}

/**
 * Visits a Checkout Session's `url` as a buyer: pays with `card` (default pm_card_visa), or cancels.
 * Resolves with the HTTP status and, on a redirect, where to (the success or cancel URL).
 */
export async function payCheckout(
  url: string,
  options: { card?: string; cancel?: boolean; promotionCode?: string; email?: string; name?: string } = {},
): Promise<{ status: number; location: URL | null }> {
  const target = new URL(url);
  if (options.card) target.searchParams.set("card", options.card);
  if (options.cancel) target.searchParams.set("cancel", "1");
  if (options.promotionCode) target.searchParams.set("promotion_code", options.promotionCode);
  if (options.email) target.searchParams.set("email", options.email);
  if (options.name) target.searchParams.set("name", options.name);
  const res = await fetch(target, { redirect: "manual" });
  await res.arrayBuffer();
  const location = res.headers.get("Location");
  return { status: res.status, location: location ? new URL(location) : null };
}

/** On a Billing Portal session's `url`: cancels a subscription at period end, or renews it. */
export async function usePortal(
  url: string,
  action: { cancel: string } | { renew: string },
): Promise<string> {
  const target = new URL(url);
  if ("cancel" in action) target.searchParams.set("cancel", action.cancel);
  else target.searchParams.set("renew", action.renew);
  const res = await fetch(target);
  const html = await res.text();
  expect(res.status, html).toBe(200);
  return html;
}

/** Completes (or fails) the 3D Secure step of an intent in `requires_action` (its next_action URL). */
export async function authenticate3DS(url: string, succeed = true): Promise<void> {
  const target = new URL(url);
  if (!succeed) target.searchParams.set("fail", "1");
  const res = await fetch(target, { redirect: "manual" });
  await res.arrayBuffer();
  expect([200, 302]).toContain(res.status);
}

/** Pays an open invoice on its `hosted_invoice_url` with a test card. */
export async function payHostedInvoice(hostedInvoiceUrl: string, card = "pm_card_visa"): Promise<number> {
  const target = new URL(hostedInvoiceUrl);
  target.searchParams.set("pay", "1");
  target.searchParams.set("card", card);
  const res = await fetch(target);
  await res.arrayBuffer();
  return res.status;
}

/** A call made at Stripe directly on a connected account (its owner's dashboard), not through our API. */
export async function atStripeDashboard(path: string, params: Record<string, string>, account: string) {
  const res = await fetch(`${doubleUrl()}${path}`, {
    method: "POST",
    headers: {
      Authorization: "Bearer sk_test_dashboard",
      "Stripe-Account": account,
      "Content-Type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams(params).toString(),
  });
  const body = (await res.json()) as Record<string, unknown> & { id: string };
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body;
}
