import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import {
  asKey,
  type BillingTenant,
  billingTenant,
  makeCustomer,
  makePlan,
  relayConnectEvents,
  tenantEvents,
} from "../billing";
import { call, expectError } from "../harness";
import { payingCustomer } from "../invoicing";
import { payCheckout, stripeObject, stripeRequests } from "../stripe-double";

const CHECKOUT = "/api/v1/auth/checkout/sessions/";
const urls = {
  success_url: "https://shop.example/thanks?s={CHECKOUT_SESSION_ID}",
  cancel_url: "https://shop.example/pricing",
};

let tenant: BillingTenant;
let plan: { id: string; stripe_price_id: string };
beforeAll(async () => {
  tenant = await billingTenant();
  plan = await makePlan(tenant, { name: "Starter", price_cents: 1500, trial_days: 0 });
});

describe("Checkout sessions", () => {
  it("opens a subscription-mode session with the fee; paying it mirrors the customer and subscription and emits checkout.completed", async () => {
    const res = await asKey(tenant.keys.test_public, CHECKOUT, {
      body: { plan: plan.id, customer_email: "buyer@shop.example", ...urls },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({
      id: expect.stringMatching(/^chk_/),
      object: "checkout_session",
      status: "open",
      url: expect.stringMatching(/^http/),
      plan: plan.id,
      customer_email: "buyer@shop.example",
    });
    const [create] = (
      await stripeRequests({ path: "/v1/checkout/sessions", account: tenant.account })
    ).filter((r) => r.headers.idempotency_key === `checkout:${res.body.id}`);
    expect(create?.params).toMatchObject({
      mode: "subscription",
      subscription_data: { application_fee_percent: "15" },
      line_items: { 0: { price: plan.stripe_price_id, quantity: "1" } },
    });

    const paid = await payCheckout(res.body.url);
    expect(paid.status).toBe(302);
    expect(paid.location?.hostname).toBe("shop.example");
    await relayConnectEvents(tenant.account, { shuffle: true });

    const [completed] = await tenantEvents(tenant.tenantId, "checkout.completed");
    expect(completed?.data.object).toMatchObject({
      id: res.body.id,
      status: "complete",
      customer: expect.stringMatching(/^cust_/),
    });
    const customerId = completed?.data.object.customer as string;
    const customer = await call(`/api/v1/auth/customers/${customerId}/`, { token: tenant.tokens.owner });
    expect(customer.body).toMatchObject({ email: "buyer@shop.example" });
    const subs = await call(`/api/v1/auth/subscriptions/?customer=${customerId}`, {
      token: tenant.tokens.owner,
    });
    expect(subs.body.data).toEqual([
      expect.objectContaining({ plan: plan.id, status: "active", application_fee_percent: 15 }),
    ]);
  });

  it("checkout.session.completed mirrored before the subscription's events: the session and checkout.completed name the subscription", async () => {
    const open = await asKey(tenant.keys.test_secret, CHECKOUT, {
      body: { plan: plan.id, customer_email: "early@shop.example", ...urls },
    });
    expect(open.status, JSON.stringify(open.body)).toBe(201);
    expect((await payCheckout(open.body.url)).status).toBe(302);
    await relayConnectEvents(tenant.account, {
      only: (event) =>
        event.type === "checkout.session.completed" &&
        event.data.object.id === open.body.stripe_checkout_session_id,
    });
    const completed = (await tenantEvents(tenant.tenantId, "checkout.completed")).find(
      (event) => event.data.object.id === open.body.id,
    );
    const subscription = completed?.data.object.subscription;
    expect(subscription).toMatch(/^subs_/);

    // The subscription's own events, later, change nothing: one subscription, the one named.
    await relayConnectEvents(tenant.account);
    const row = await env.DB.prepare("SELECT subscription_id FROM checkout_sessions WHERE id = ?")
      .bind(open.body.id)
      .first<{ subscription_id: string | null }>();
    expect(row?.subscription_id).toBe(subscription);
    const subs = await call(`/api/v1/auth/subscriptions/?customer=${completed?.data.object.customer}`, {
      token: tenant.tokens.owner,
    });
    expect(subs.body.data).toEqual([
      expect.objectContaining({ id: subscription, plan: plan.id, status: "active" }),
    ]);
    const created = (await tenantEvents(tenant.tenantId, "subscription.created")).filter(
      (event) => event.data.object.id === subscription,
    );
    expect(created).toHaveLength(1);
  });

  it("secret keys and billing users may name an existing customer; developers may not open sessions", async () => {
    const customer = await makeCustomer(tenant);
    const byKey = await asKey(tenant.keys.test_secret, CHECKOUT, {
      body: { plan: plan.id, customer: customer.id, ...urls },
    });
    expect(byKey.body).toMatchObject({ customer: customer.id, status: "open" });
    const byUser = await call(CHECKOUT, { token: tenant.tokens.billing, body: { plan: plan.id, ...urls } });
    expect(byUser.status).toBe(201);
    expectError(
      await call(CHECKOUT, { token: tenant.tokens.developer, body: { plan: plan.id, ...urls } }),
      403,
      "forbidden",
    );
  });

  it("a publishable key: visible active plans only, no customer, trial or metadata, redirects on the tenant's domain", async () => {
    const hidden = await makePlan(tenant, { name: "Hidden", is_visible: false });
    const pk = (body: Record<string, unknown>) =>
      asKey(tenant.keys.test_public, CHECKOUT, { body: { plan: plan.id, ...urls, ...body } });
    expectError(await pk({ plan: hidden.id }), 404, "not_found");
    const customer = await makeCustomer(tenant);
    expectError(await pk({ customer: customer.id }), 403, "forbidden");
    expectError(await pk({ trial_days: 30 }), 403, "forbidden");
    await env.DB.prepare("UPDATE tenants SET domain = 'tenant.example' WHERE id = ?")
      .bind(tenant.tenantId)
      .run();
    try {
      expectError(await pk({}), 400, "validation_error");
      const ok = await pk({
        success_url: "https://app.tenant.example/ok",
        cancel_url: "https://tenant.example/no",
      });
      expect(ok.status).toBe(201);
    } finally {
      await env.DB.prepare("UPDATE tenants SET domain = NULL WHERE id = ?").bind(tenant.tenantId).run();
    }
  });

  it("metadata: at most 44 keys (Stripe's 50 less all 6 of ours), 400 before Stripe; a full subscription takes a plan change and keeps room for dunning's mark", async () => {
    const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, "v"]));
    const customer = await makeCustomer(tenant);
    const sessions = async () =>
      (await stripeRequests({ path: "/v1/checkout/sessions", account: tenant.account })).length;
    const before = await sessions();
    // 45 and 46 were taken before: 4 of ours at Checkout, then `subscription_id` with a plan
    // change made 51 keys for 46, which Stripe refused (a 502).
    const refused = expectError(
      await asKey(tenant.keys.test_secret, CHECKOUT, {
        body: { plan: plan.id, customer: customer.id, metadata: keys(45), ...urls },
      }),
      400,
      "validation_error",
    );
    expect(refused.details).toEqual([{ field: "metadata", message: expect.stringMatching(/44/) }]);
    expect(await sessions()).toBe(before);

    const full = await asKey(tenant.keys.test_secret, CHECKOUT, {
      body: { plan: plan.id, customer: customer.id, metadata: keys(44), ...urls },
    });
    expect(full.status, JSON.stringify(full.body)).toBe(201);
    expect((await payCheckout(full.body.url)).status).toBe(302);
    await relayConnectEvents(tenant.account);
    const subs = await call(`/api/v1/auth/subscriptions/?customer=${customer.id}`, {
      token: tenant.tokens.owner,
    });
    const [sub] = subs.body.data as { id: string; stripe_subscription_id: string; metadata: object }[];
    expect(Object.keys(sub?.metadata ?? {})).toHaveLength(44);

    const bigger = await makePlan(tenant, { name: "Bigger", price_cents: 2500, trial_days: 0 });
    const changed = await asKey(tenant.keys.test_secret, `/api/v1/auth/subscriptions/${sub?.id}/`, {
      method: "PATCH",
      body: { plan: bigger.id },
    });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    const atStripe = await stripeObject(`/v1/subscriptions/${sub?.stripe_subscription_id}`, tenant.account);
    // All of ours but `dunning_status`, which dunning's mark_unpaid adds: the 50th key.
    expect(Object.keys(atStripe.metadata as object)).toHaveLength(49);
  });

  it("refuses bad URLs and unknown plans", async () => {
    expectError(
      await asKey(tenant.keys.test_secret, CHECKOUT, {
        body: { plan: plan.id, success_url: "javascript:alert(1)", cancel_url: urls.cancel_url },
      }),
      400,
      "validation_error",
    );
    expectError(
      await asKey(tenant.keys.test_secret, CHECKOUT, { body: { plan: "plan_nope", ...urls } }),
      404,
      "not_found",
    );
    // 1500 × 66667 = 100,000,500: past Stripe's cap on one amount (99999999 minor units).
    const before = (await stripeRequests({ path: "/v1/checkout/sessions", account: tenant.account })).length;
    const refused = expectError(
      await asKey(tenant.keys.test_secret, CHECKOUT, { body: { plan: plan.id, quantity: 66_667, ...urls } }),
      400,
      "validation_error",
    );
    expect(refused.details[0].field).toBe("quantity");
    expect((await stripeRequests({ path: "/v1/checkout/sessions", account: tenant.account })).length).toBe(
      before,
    );
  });
});

describe("one currency per customer", () => {
  it("a plan in another currency than the customer's running subscription is 400 on plan before Stripe, as subscription create; the same currency opens", async () => {
    const own = await billingTenant();
    const dollars = await makePlan(own, { name: "Dollars", price_cents: 2000, trial_days: 0 });
    const euros = await makePlan(own, { name: "Euros", price_cents: 2000, currency: "eur", trial_days: 0 });
    const customer = await payingCustomer(own);
    const running = await asKey(own.keys.test_secret, "/api/v1/auth/subscriptions/", {
      body: { customer: customer.id, plan: dollars.id, payment_behavior: "allow_incomplete" },
    });
    expect(running.body.status, JSON.stringify(running.body)).toBe("active");
    const sessions = async () =>
      (await stripeRequests({ path: "/v1/checkout/sessions", account: own.account })).length;
    const before = await sessions();
    const refused = await asKey(own.keys.test_secret, CHECKOUT, {
      body: { plan: euros.id, customer: customer.id, ...urls },
    });
    expect(expectError(refused, 400, "validation_error").details).toEqual([
      { field: "plan", message: expect.stringMatching(/eur.*usd/) },
    ]);
    expect(await sessions()).toBe(before);
    const same = await asKey(own.keys.test_secret, CHECKOUT, {
      body: { plan: dollars.id, customer: customer.id, ...urls },
    });
    expect(same.status, JSON.stringify(same.body)).toBe(201);
  });
});
