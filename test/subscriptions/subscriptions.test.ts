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
import { call, expectError, registerTenant } from "../harness";
import { doubleUrl, failNext, stripeObject, stripeRequests } from "../stripe-double";

const SUBS = "/api/v1/auth/subscriptions/";

let tenant: BillingTenant;
let plan: { id: string; stripe_price_id: string };
let bigPlan: { id: string; stripe_price_id: string };
beforeAll(async () => {
  tenant = await billingTenant();
  await env.DB.prepare("UPDATE tenants SET subscription_tier = 'pro' WHERE id = ?")
    .bind(tenant.tenantId)
    .run();
  plan = await makePlan(tenant, { name: "Basic", price_cents: 2000, trial_days: 0 });
  bigPlan = await makePlan(tenant, { name: "Big", price_cents: 5000, trial_days: 0 });
});

const subscribe = (body: Record<string, unknown>) => asKey(tenant.keys.test_secret, SUBS, { body });

/** A customer with a saved default card. */
async function payingCustomer(owner = tenant) {
  const customer = await makeCustomer(owner);
  const attached = await asKey(
    owner.keys.test_secret,
    `/api/v1/auth/customers/${customer.id}/payment-methods/`,
    {
      body: { payment_method: "pm_card_visa" },
    },
  );
  expect(attached.status).toBe(201);
  return customer;
}

async function confirm(clientSecret: string, account: string) {
  const intent = clientSecret.split("_secret_")[0];
  const res = await fetch(`${doubleUrl()}/v1/payment_intents/${intent}/confirm`, {
    method: "POST",
    headers: {
      Authorization: "Bearer sk_test_x",
      "Stripe-Account": account,
      "Content-Type": "application/x-www-form-urlencoded",
    },
    body: "payment_method=pm_card_visa",
  });
  expect(res.status, await res.clone().text()).toBe(200);
}

describe("creating subscriptions", () => {
  it("waits for the customer by default (client_secret), carries the fee and an idempotency key, and goes active from Stripe's events", async () => {
    const customer = await makeCustomer(tenant);
    const res = await subscribe({
      customer: customer.id,
      plan: plan.id,
      quantity: 3,
      metadata: { seat: "team" },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({
      id: expect.stringMatching(/^subs_/),
      customer: customer.id,
      plan: plan.id,
      status: "incomplete",
      quantity: 3,
      unit_amount: 2000,
      amount_display: "$60.00/month",
      application_fee_percent: 15,
      client_secret: expect.stringMatching(/_secret_/),
      metadata: { seat: "team" },
    });
    const [create] = (await stripeRequests({ path: "/v1/subscriptions", account: tenant.account })).filter(
      (r) => r.method === "POST" && r.headers.idempotency_key === `subscription:${res.body.id}`,
    );
    expect(create?.params).toMatchObject({
      application_fee_percent: "15",
      payment_behavior: "default_incomplete",
    });

    await confirm(res.body.client_secret, tenant.account);
    await relayConnectEvents(tenant.account);
    const got = await call(`${SUBS}${res.body.id}/`, { token: tenant.tokens.developer });
    expect(got.body).toMatchObject({
      status: "active",
      latest_invoice: { status: "paid", amount_paid: 6000 },
    });
    const types = (await tenantEvents(tenant.tenantId, "subscription.updated")).map((e) => e.data.object.id);
    expect(types).toContain(res.body.id);
    expect(
      (await tenantEvents(tenant.tenantId, "subscription.created")).map((e) => e.data.object.id),
    ).toContain(res.body.id);
    expect(
      (await tenantEvents(tenant.tenantId, "invoice.paid")).some(
        (e) => e.data.object.subscription === res.body.id,
      ),
    ).toBe(true);
  });

  it("charges the default card at once with allow_incomplete", async () => {
    const customer = await payingCustomer();
    const res = await subscribe({
      customer: customer.id,
      plan: plan.id,
      payment_behavior: "allow_incomplete",
    });
    expect(res.body).toMatchObject({ status: "active", client_secret: null });
  });

  it("takes the plan's trial by default; trial_days 0 skips it and 731 is refused", async () => {
    const trialPlan = await makePlan(tenant, { name: "Trial", trial_days: 14 });
    const customer = await makeCustomer(tenant);
    const trialing = await subscribe({ customer: customer.id, plan: trialPlan.id });
    expect(trialing.body).toMatchObject({ status: "trialing", trial_end: expect.any(String) });
    const days = (Date.parse(trialing.body.trial_end) - Date.now()) / 86_400_000;
    expect(Math.round(days)).toBe(14);
    const none = await subscribe({
      customer: customer.id,
      plan: trialPlan.id,
      trial_days: 0,
      payment_behavior: "allow_incomplete",
    });
    expect(none.body.trial_end).toBeNull();
    expectError(
      await subscribe({ customer: customer.id, plan: trialPlan.id, trial_days: 731 }),
      400,
      "validation_error",
    );
  });

  it("refuses unknown or inactive plans, deleted or other tenants' customers, and bad input", async () => {
    const customer = await makeCustomer(tenant);
    expectError(await subscribe({ customer: customer.id, plan: "plan_nope" }), 404, "not_found");
    expectError(await subscribe({ customer: "cust_nope", plan: plan.id }), 404, "not_found");
    expectError(
      await subscribe({ customer: customer.id, plan: plan.id, quantity: 0 }),
      400,
      "validation_error",
    );
    expectError(await subscribe({ customer: customer.id }), 400, "validation_error");
    const other = await billingTenant();
    const theirs = await makeCustomer(other);
    expectError(await subscribe({ customer: theirs.id, plan: plan.id }), 404, "not_found");
  });

  it("a Stripe failure leaves no subscription behind", async () => {
    const customer = await makeCustomer(tenant);
    await failNext({
      method: "POST",
      path: "/v1/subscriptions",
      account: tenant.account,
      status: 500,
      times: 3,
    });
    expectError(await subscribe({ customer: customer.id, plan: plan.id }), 502, "stripe_error");
    const rows = await env.DB.prepare(
      "SELECT count(*) AS n FROM customer_subscriptions WHERE customer_id = ?",
    )
      .bind(customer.id)
      .first<{ n: number }>();
    expect(rows?.n).toBe(0);
  });
});

describe("changing subscriptions", () => {
  it("previews a plan change (proration, nothing changed), then changes plan and quantity with proration", async () => {
    const customer = await payingCustomer();
    const sub = (
      await subscribe({ customer: customer.id, plan: plan.id, payment_behavior: "allow_incomplete" })
    ).body;
    const preview = await asKey(tenant.keys.test_secret, `${SUBS}${sub.id}/preview/`, {
      body: { plan: bigPlan.id },
    });
    expect(preview.status, JSON.stringify(preview.body)).toBe(200);
    expect(preview.body).toMatchObject({ object: "invoice_preview", currency: "usd" });
    expect(preview.body.lines.some((line: { proration: boolean }) => line.proration)).toBe(true);
    expect(preview.body.proration_amount).toBeGreaterThan(0);
    expect((await call(`${SUBS}${sub.id}/`, { token: tenant.tokens.owner })).body.plan).toBe(plan.id);

    const changed = await call(`${SUBS}${sub.id}/`, {
      token: tenant.tokens.billing,
      method: "PATCH",
      body: { plan: bigPlan.id, quantity: 2, proration_behavior: "always_invoice" },
    });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect(changed.body).toMatchObject({ plan: bigPlan.id, quantity: 2, unit_amount: 5000 });
    const atStripe = await stripeObject(`/v1/subscriptions/${sub.stripe_subscription_id}`, tenant.account);
    expect(JSON.stringify(atStripe)).toContain(bigPlan.stripe_price_id);
  });

  it("cancels at period end, resumes, cancels now; verbs that do not apply are 409 with the state", async () => {
    const customer = await payingCustomer();
    const sub = (
      await subscribe({ customer: customer.id, plan: plan.id, payment_behavior: "allow_incomplete" })
    ).body;
    const verb = (name: string, body?: unknown) =>
      asKey(tenant.keys.test_secret, `${SUBS}${sub.id}/${name}/`, {
        method: "POST",
        ...(body ? { body } : {}),
      });
    expectError(await verb("resume"), 409, "invalid_state_transition");
    expect((await verb("cancel")).body).toMatchObject({ status: "active", cancel_at_period_end: true });
    expect((await verb("resume")).body).toMatchObject({ status: "active", cancel_at_period_end: false });
    expect((await verb("pause", { behavior: "keep_as_draft" })).body.pause_collection).toMatchObject({
      behavior: "keep_as_draft",
    });
    expect((await verb("unpause")).body.pause_collection).toBeNull();
    expectError(await verb("unpause"), 409, "invalid_state_transition");
    const now = await verb("cancel", { at_period_end: false });
    expect(now.body).toMatchObject({ status: "canceled", canceled_at: expect.any(String) });
    const again = expectError(await verb("cancel"), 409, "invalid_state_transition");
    expect(again.status).toBe("canceled");
    expectError(
      await asKey(tenant.keys.test_secret, `${SUBS}${sub.id}/`, { body: { quantity: 2 } }),
      409,
      "invalid_state_transition",
    );
    expect(
      (await tenantEvents(tenant.tenantId, "subscription.canceled")).map((e) => e.data.object.id),
    ).toContain(sub.id);
  });
});

describe("reading subscriptions", () => {
  it("lists newest first with status, customer, plan and created filters", async () => {
    const own = await billingTenant();
    const ownPlan = await makePlan(own, { name: "P", trial_days: 0 });
    const a = await makeCustomer(own);
    const b = await makeCustomer(own);
    const make = (customer: string) =>
      asKey(own.keys.test_secret, SUBS, { body: { customer, plan: ownPlan.id } }).then((r) => r.body);
    const first = await make(a.id);
    const second = await make(b.id);
    const list = (query = "") =>
      asKey(own.keys.test_secret, `${SUBS}?${query}`).then((r) =>
        r.body.data.map((s: { id: string }) => s.id),
      );
    expect(await list()).toEqual([second.id, first.id]);
    expect(await list(`customer=${a.id}`)).toEqual([first.id]);
    expect(await list("status=incomplete")).toEqual([second.id, first.id]);
    expect(await list("status=active")).toEqual([]);
    expect(await list(`plan=${ownPlan.id}&limit=1`)).toEqual([second.id]);
    expectError(await asKey(own.keys.test_secret, `${SUBS}?status=nope`), 400, "validation_error");
  });

  it("roles, keys, modes and tenants", async () => {
    const customer = await makeCustomer(tenant);
    const sub = (await subscribe({ customer: customer.id, plan: plan.id })).body;
    for (const role of ["owner", "admin", "developer", "billing"] as const) {
      expect((await call(`${SUBS}${sub.id}/`, { token: tenant.tokens[role] })).status).toBe(200);
    }
    expectError(
      await call(`${SUBS}${sub.id}/cancel/`, { token: tenant.tokens.developer, method: "POST" }),
      403,
      "forbidden",
    );
    expectError(await asKey(tenant.keys.test_public, `${SUBS}${sub.id}/`), 403, "forbidden");
    expectError(await asKey(tenant.keys.live_secret, `${SUBS}${sub.id}/`), 404, "not_found");
    const other = await registerTenant();
    expectError(await call(`${SUBS}${sub.id}/`, { token: other.owner.access }), 404, "not_found");
    expectError(
      await asKey(other.keys.test_secret, `${SUBS}${sub.id}/cancel/`, { method: "POST" }),
      404,
      "not_found",
    );
  });
});
