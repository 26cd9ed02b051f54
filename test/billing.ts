import { expect } from "vitest";
import { call, registerTeam, type TeamTenant } from "./harness";
import { connectTenant } from "./stripe-double";

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
  return res.body as { id: string; stripe_price_id: string; price_cents: number };
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
