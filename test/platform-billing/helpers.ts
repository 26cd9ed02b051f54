import { env } from "cloudflare:workers";
import Stripe from "stripe";
import { expect } from "vitest";
import { processStripeEvents } from "../../src/modules/platform-billing/billing-runs";
import { testContext } from "../context";
import { eventually } from "../eventually";
import { call, unique } from "../harness";
import { type DoubleEvent, doubleEvents, doubleUrl, failNext } from "../stripe-double";

const crypto = Stripe.createSubtleCryptoProvider();
export const PLATFORM_SECRET = "whsec_test_platform";
export const CONNECT_SECRET = "whsec_test_connect";

let sequence = 0;

/** A Stripe-shaped event, with a unique id. */
export function stripeEvent(
  type: string,
  object: Record<string, unknown>,
  created: number,
  extra: Record<string, unknown> = {},
) {
  return {
    id: `evt_${unique("t")}${++sequence}`,
    object: "event",
    api_version: "2026-10-28.endive",
    created,
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
    ...extra,
  };
}

/** Posts an event signed by the official stripe package's test-header helper. */
export async function sendSigned(
  event: Record<string, unknown>,
  options: { path?: string; secret?: string; timestamp?: number } = {},
) {
  const payload = JSON.stringify(event);
  const header = await Stripe.webhooks.generateTestHeaderStringAsync({
    payload,
    secret: options.secret ?? PLATFORM_SECRET,
    ...(options.timestamp ? { timestamp: options.timestamp } : {}),
    cryptoProvider: crypto,
  });
  return call(options.path ?? "/webhooks/stripe", {
    method: "POST",
    rawBody: payload,
    headers: { "Stripe-Signature": header, "Content-Type": "application/json" },
  });
}

type StripeEventRows = Record<string, { status: string; outcome: string | null }>;

/**
 * Records Connect events as received and not yet processed, without queueing them: for a test
 * that runs `processStripeEvents` on them itself, as one run.
 */
export async function recordReceivedConnectEvents(
  account: string,
  events: { id: string; type: string; created: number }[],
) {
  await env.DB.batch(
    events.map((event) =>
      env.DB.prepare(
        `INSERT INTO stripe_events (id, endpoint, type, account, livemode, created, payload, status, attempts, received_at)
         VALUES (?, 'connect', ?, ?, 0, ?, ?, 'received', 0, ?)`,
      ).bind(event.id, event.type, account, event.created, JSON.stringify(event), Date.now()),
    ),
  );
}

/**
 * Starts one mirror run of `event` that holds what it has read for `holdMs` before it commits: a
 * customer.updated of the same second as the stored customer goes first, and the run settles that
 * tie by reading the customer at Stripe, which the double answers late. Meanwhile a test changes
 * the same objects through the API. Answers the run as `committed` (await it for its commit) and
 * the tie's event id.
 */
export async function heldMirrorRun(
  tenant: { tenantId: string; account: string },
  customerId: string,
  event: { id: string; type: string; created: number },
  { holdMs = 4_000, settleMs = 500, ctx = testContext() } = {},
) {
  const customer = await env.DB.prepare(
    "SELECT stripe_customer_id AS stripeId, last_event_created AS stamp FROM customers WHERE id = ?",
  )
    .bind(customerId)
    .first<{ stripeId: string; stamp: number }>();
  if (!customer) throw new Error(`no customer row ${customerId}`);
  await failNext({
    method: "GET",
    path: `/v1/customers/${customer.stripeId}`,
    account: tenant.account,
    delay_ms: holdMs,
  });
  const tie = {
    id: `evt_tie_${Date.now()}_${Math.random().toString(36).slice(2, 8)}`,
    object: "event",
    type: "customer.updated",
    account: tenant.account,
    created: customer.stamp,
    livemode: false,
    data: { object: { id: customer.stripeId, object: "customer", name: "Not the name", livemode: false } },
  };
  await recordReceivedConnectEvents(tenant.account, [tie, event]);
  const run = processStripeEvents(ctx, tenant.tenantId, [tie.id, event.id]);
  // Until the run has read its rows and waits on the customer.
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  // Wrapped: an async function's answer that is a promise would be awaited with it.
  return { committed: run, tieId: tie.id };
}

/** The `stripe_events` rows of these ids as they are now (an id never recorded is absent). */
export async function stripeEventRows(eventIds: string[]): Promise<StripeEventRows> {
  const rows = await env.DB.prepare(
    `SELECT id, status, outcome FROM stripe_events WHERE id IN (${eventIds.map(() => "?").join(",")})`,
  )
    .bind(...eventIds)
    .all<{ id: string; status: string; outcome: string | null }>();
  return Object.fromEntries(
    rows.results.map((row) => [row.id, { status: row.status, outcome: row.outcome }]),
  );
}

/**
 * Waits until every event is processed (or ignored, or failed) by the consumer and coordinator,
 * and returns their rows; fails naming the events still waiting when the time is up.
 */
export function processed(eventIds: string[], timeoutMs = 10_000): Promise<StripeEventRows> {
  return eventually(
    async () => {
      const rows = await stripeEventRows(eventIds);
      const waiting = eventIds.filter((id) => (rows[id]?.status ?? "received") === "received");
      expect(waiting, "Stripe events not processed yet").toEqual([]);
      return rows;
    },
    { timeoutMs },
  );
}

/** A form POST to the double as the platform (its own objects; tests that set a scene at Stripe). */
export async function stripePost(path: string, params: Record<string, string>) {
  const res = await fetch(`${doubleUrl()}${path}`, {
    method: "POST",
    headers: {
      Authorization: "Bearer sk_test_platform_tests",
      "Content-Type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams(params).toString(),
  });
  return (await res.json()) as { id: string };
}

/** A platform plan synced to the platform's Stripe account (Product + Price at the double). */
export async function platformPlan(
  tier = "starter",
  limits: Record<string, unknown> = {},
  options: { trialDays?: number; priceCents?: number; interval?: "month" | "year" } = {},
) {
  const id = unique("pp").toLowerCase();
  const priceCents = options.priceCents ?? 2900;
  const interval = options.interval ?? "month";
  const product = await stripePost("/v1/products", { name: `Plan ${id}`, "metadata[platform_plan_id]": id });
  const price = await stripePost("/v1/prices", {
    product: product.id,
    unit_amount: String(priceCents),
    currency: "usd",
    "recurring[interval]": interval,
  });
  const planLimits = {
    api_requests_per_minute: 600,
    api_requests_per_month: 250000,
    plans: 20,
    webhook_endpoints: 3,
    users: 10,
    ...limits,
  };
  await env.DB.prepare(
    "INSERT INTO platform_plans (id, name, tier, price_cents, currency, billing_interval, trial_days, limits, is_active, stripe_product_id, stripe_price_id, created_at, updated_at) VALUES (?, ?, ?, ?, 'usd', ?, ?, ?, 1, ?, ?, ?, ?)",
  )
    .bind(
      id,
      `Plan ${id}`,
      tier,
      priceCents,
      interval,
      options.trialDays ?? 0,
      JSON.stringify(planLimits),
      product.id,
      price.id,
      Date.now(),
      Date.now(),
    )
    .run();
  return { id, priceId: price.id };
}

export async function subscribed(ownerToken: string, planId: string) {
  const res = await call("/api/v1/auth/tenants/subscription/", {
    token: ownerToken,
    body: { plan_id: planId, payment_method_id: "pm_card_visa" },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as {
    stripe_customer_id: string;
    stripe_subscription_id: string;
    status: string;
    tier: string;
  };
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);

export function invoice(
  subscriptionId: string,
  customerId: string,
  attemptCount: number,
  extra: Record<string, unknown> = {},
) {
  return {
    id: `in_${unique("i")}`,
    object: "invoice",
    customer: customerId,
    subscription: subscriptionId,
    attempt_count: attemptCount,
    amount_due: 2900,
    amount_paid: 0,
    currency: "usd",
    ...extra,
  };
}

export function subscriptionObject(
  id: string,
  customerId: string,
  status: string,
  extra: Record<string, unknown> = {},
) {
  const now = nowSeconds();
  return {
    id,
    object: "subscription",
    customer: customerId,
    status,
    cancel_at_period_end: false,
    trial_end: null,
    items: {
      object: "list",
      data: [
        {
          id: "si_x",
          current_period_start: now,
          current_period_end: now + 2_592_000,
          price: { id: "price_x" },
        },
      ],
    },
    metadata: {},
    ...extra,
  };
}

const relayedPlatformEvents = new Set<string>();

/**
 * Hands the platform events the double emitted about one Stripe customer (its invoices,
 * subscriptions, payment methods) and not relayed yet to the Worker's platform endpoint, signed as
 * Stripe signs them, and waits until each is processed. Answers them, oldest first.
 */
export async function relayPlatformEvents(customer: string): Promise<DoubleEvent[]> {
  const fresh = (await doubleEvents()).filter(
    (event) =>
      !event.account &&
      !relayedPlatformEvents.has(event.id) &&
      (event.data.object.customer === customer || event.data.object.id === customer),
  );
  for (const { delivery: _delivery, ...event } of fresh) {
    relayedPlatformEvents.add(event.id);
    const res = await sendSigned(event);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  }
  const outcomes = await processed(fresh.map((event) => event.id));
  for (const event of fresh)
    expect(outcomes[event.id]?.status, `${event.type}: ${JSON.stringify(outcomes[event.id])}`).not.toBe(
      "failed",
    );
  return fresh;
}
