import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { call, registerTeam, type TeamTenant } from "./harness";
import { CONNECT_SECRET, processed, sendSigned } from "./platform-billing/helpers";
import { connectTenant, type DoubleEvent, doubleEvents } from "./stripe-double";

/** A tenant whose users of every role are signed in, with Stripe connected and its API keys. */
export interface BillingTenant extends TeamTenant {
  account: string;
}

export async function billingTenant(): Promise<BillingTenant> {
  const team = await registerTeam();
  const account = await connectTenant(team.tokens.owner);
  return { ...team, account };
}

/** A plan of the tenant (owner-made). */
export async function makePlan(tenant: BillingTenant, overrides: Record<string, unknown> = {}) {
  const res = await call("/api/v1/auth/plans/", {
    token: tenant.tokens.owner,
    body: {
      name: `Plan ${Math.random().toString(36).slice(2, 8)}`,
      price_cents: 2000,
      currency: "usd",
      billing_interval: "month",
      ...overrides,
    },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; stripe_price_id: string; stripe_product_id: string; price_cents: number };
}

/** Calls with the tenant's test secret key. */
export const asKey = (key: string, path: string, options: Parameters<typeof call>[1] = {}) =>
  call(path, { ...options, headers: { ...options.headers, "X-API-Key": key } });

/** A customer made through the API with the tenant's test secret key. */
export async function makeCustomer(tenant: BillingTenant, body: Record<string, unknown> = {}) {
  const res = await asKey(tenant.keys.test_secret, "/api/v1/auth/customers/", {
    body: { email: `c${Math.random().toString(36).slice(2, 8)}@example.com`, name: "Test Customer", ...body },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; stripe_customer_id: string; email: string };
}

const relayed = new Set<string>();

/**
 * Hands the Connect events the double emitted for `account` (and not relayed yet) to the Worker,
 * signed as Stripe signs them, optionally shuffled and sent twice; waits until all are processed.
 */
export async function relayConnectEvents(
  account: string,
  options: { shuffle?: boolean; twice?: boolean; only?: (event: DoubleEvent) => boolean } = {},
): Promise<DoubleEvent[]> {
  const fresh = (await doubleEvents({ account })).filter(
    (event) => !relayed.has(event.id) && (options.only?.(event) ?? true),
  );
  for (const event of fresh) relayed.add(event.id);
  const order = options.shuffle ? shuffled(fresh) : fresh;
  const batch = options.twice ? [...order, ...shuffled(order)] : order;
  for (const { delivery: _delivery, ...event } of batch) {
    const res = await sendSigned(event, { path: "/webhooks/stripe/connect", secret: CONNECT_SECRET });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  }
  const outcomes = await processed(
    fresh.map((event) => event.id),
    20_000,
  );
  for (const event of fresh)
    expect(outcomes[event.id]?.status, `${event.type}: ${JSON.stringify(outcomes[event.id])}`).toBe(
      "processed",
    );
  return fresh;
}

/** A seeded shuffle, so a failing order can be replayed from its seed. */
export function shuffled<T>(items: T[], seed = Date.now()): T[] {
  const out = [...items];
  let state = seed % 2147483647 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 48271) % 2147483647;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** The tenant events of `type` emitted to the tenant, oldest first (their payloads). */
export async function tenantEvents(tenantId: string, type: string) {
  const rows = await env.DB.prepare(
    "SELECT payload FROM webhook_events WHERE tenant_id = ? AND type = ? ORDER BY created_at, rowid",
  )
    .bind(tenantId, type)
    .all<{ payload: string }>();
  return rows.results.map(
    (row) => JSON.parse(row.payload) as { id: string; data: { object: Record<string, unknown> } },
  );
}
