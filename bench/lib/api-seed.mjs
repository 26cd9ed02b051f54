// Seeds through the Worker's own API (and the Stripe double it talks to), for scenarios whose data
// must also exist on the Stripe side: a registered tenant, connected by the Account Links flow,
// with a plan and customers made as a tenant would make them.
import { randomUUID } from "node:crypto";

async function api(baseUrl, path, { method = "POST", token, key, body } = {}) {
  const response = await fetch(new URL(path, baseUrl), {
    method,
    headers: {
      ...(body ? { "content-type": "application/json" } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(key ? { "x-api-key": key } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : {};
}

/**
 * Registers a tenant, moves it to the `pro` tier (its limits, not the free tier's, are what a
 * load of creates meets) and connects it to Stripe (the double) through Account Links.
 * Returns its id, the owner's access token and its four API keys.
 */
export async function connectedTenant({ baseUrl, db }) {
  const registered = await api(baseUrl, "/api/v1/auth/tenants/register/", {
    body: {
      company_name: "Bench Billing Co",
      email: `bench-${randomUUID().slice(0, 8)}@example.com`,
      password: "CorrectHorse42battery",
    },
  });
  const tenantId = registered.tenant.id;
  const token = registered.tokens.access;
  await db.prepare("UPDATE tenants SET subscription_tier = 'pro' WHERE id = ?").bind(tenantId).run();
  // New keys carry the pro tier's limits in their edge records (those of registration: free's 60/min).
  const regenerated = await api(baseUrl, "/api/v1/auth/tenants/api-keys/regenerate/", {
    token,
    body: { key_type: "all", confirm: true },
  });
  const started = await api(baseUrl, "/api/v1/auth/tenants/stripe/connect/", { token });
  const page = await fetch(started.url, { redirect: "manual" });
  const back = new URL(page.headers.get("location") ?? "");
  await api(baseUrl, `${back.pathname}${back.search}`, { method: "GET" });
  return { tenantId, token, keys: regenerated.keys };
}

export async function createPlan({ baseUrl }, token) {
  return api(baseUrl, "/api/v1/auth/plans/", {
    token,
    body: {
      name: "Bench Plan",
      price_cents: 2000,
      currency: "usd",
      billing_interval: "month",
      trial_days: 0,
    },
  });
}

/** `count` customers made with the tenant's test secret key (each one also in the double). */
export async function createCustomers({ baseUrl }, key, count) {
  const made = [];
  for (let i = 0; i < count; i++) {
    made.push(
      await api(baseUrl, "/api/v1/auth/customers/", {
        key,
        body: { email: `sub${i}@example.com`, name: `Subscriber ${i}` },
      }),
    );
  }
  return made;
}
