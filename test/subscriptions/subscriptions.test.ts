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
import { call, expectError, registerTenant, unique } from "../harness";
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

const subscribe = (body: Record<string, unknown>, owner = tenant) =>
  asKey(owner.keys.test_secret, SUBS, { body });

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

/** An active subscription of the owner's to `onPlan`, paid with the customer's saved card. */
async function activeSub(owner: BillingTenant, onPlan: { id: string }) {
  const customer = await payingCustomer(owner);
  const res = await subscribe(
    { customer: customer.id, plan: onPlan.id, payment_behavior: "allow_incomplete" },
    owner,
  );
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  expect(res.body.status).toBe("active");
  return res.body;
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

  it("a declined card with error_if_incomplete is 402 payment_failed with Stripe's reason, and no subscription", async () => {
    const own = await billingTenant();
    const monthly = await makePlan(own, { name: "Monthly", price_cents: 2000, trial_days: 0 });
    const customer = await makeCustomer(own);
    const attached = await asKey(
      own.keys.test_secret,
      `/api/v1/auth/customers/${customer.id}/payment-methods/`,
      {
        body: { payment_method: "pm_card_chargeCustomerFail" },
      },
    );
    expect(attached.status, JSON.stringify(attached.body)).toBe(201);
    const res = await subscribe(
      { customer: customer.id, plan: monthly.id, payment_behavior: "error_if_incomplete" },
      own,
    );
    expect(expectError(res, 402, "payment_failed")).toMatchObject({
      message: expect.stringMatching(/declined/),
      decline_code: expect.any(String),
    });
    const rows = await env.DB.prepare(
      "SELECT count(*) AS n FROM customer_subscriptions WHERE customer_id = ?",
    )
      .bind(customer.id)
      .first<{ n: number }>();
    expect(rows?.n).toBe(0);
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

describe("a create sent again with its Idempotency-Key", () => {
  it("after our write failed (Stripe's subscription cancelled by the undo): Stripe answers the same one, no second charge", async () => {
    const customer = await payingCustomer();
    const send = () =>
      asKey(tenant.keys.test_secret, SUBS, {
        body: { customer: customer.id, plan: plan.id, payment_behavior: "allow_incomplete" },
        headers: { "Idempotency-Key": `subscribe-${customer.id}` },
      });
    await env.DB.exec(
      `CREATE TRIGGER fail_subscription BEFORE INSERT ON customer_subscriptions WHEN NEW.customer_id = '${customer.id}' BEGIN SELECT RAISE(ABORT, 'injected failure'); END`,
    );
    try {
      expectError(await send(), 500, "internal_error");
    } finally {
      await env.DB.exec("DROP TRIGGER fail_subscription");
    }
    const retried = await send();
    expect(retried.status, JSON.stringify(retried.body)).toBe(201);
    const atStripe = (await stripeObject(
      `/v1/subscriptions?customer=${customer.stripe_customer_id}&status=all`,
      tenant.account,
    )) as { data: { id: string }[] };
    expect(atStripe.data).toHaveLength(1);
    // The stored row is Stripe's subscription as it is now (cancelled), not its first answer.
    expect(retried.body).toMatchObject({ stripe_subscription_id: atStripe.data[0]?.id, status: "canceled" });
    const paid = (await stripeObject(
      `/v1/invoices?customer=${customer.stripe_customer_id}&status=paid`,
      tenant.account,
    )) as { data: unknown[] };
    expect(paid.data).toHaveLength(1);
  });
});

describe("a PATCH with nothing to change", () => {
  it("answers the subscription as stored: no Stripe call, nothing told or audited", async () => {
    const sub = await activeSub(tenant, plan);
    const stripeUpdates = async () =>
      (
        await stripeRequests({
          path: `/v1/subscriptions/${sub.stripe_subscription_id}`,
          account: tenant.account,
        })
      ).filter((r) => r.method === "POST").length;
    const told = async () =>
      (await tenantEvents(tenant.tenantId, "subscription.updated")).filter((e) => e.data.object.id === sub.id)
        .length;
    const [updatesBefore, toldBefore] = [await stripeUpdates(), await told()];
    for (const body of [{}, { plan: plan.id }]) {
      const res = await asKey(tenant.keys.test_secret, `${SUBS}${sub.id}/`, { method: "PATCH", body });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({ id: sub.id, plan: plan.id, quantity: 1, status: "active" });
    }
    expect(await stripeUpdates()).toBe(updatesBefore);
    expect(await told()).toBe(toldBefore);
    const audited = await env.DB.prepare(
      "SELECT count(*) AS n FROM audit_log WHERE tenant_id = ? AND target_id = ? AND action = 'subscription.updated'",
    )
      .bind(tenant.tenantId, sub.id)
      .first<{ n: number }>();
    expect(audited?.n).toBe(0);
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

describe("an amount past Stripe's cap", () => {
  it("a plan's price × quantity over 99999999 minor units is 400 on quantity before Stripe: on create, on a change and its preview", async () => {
    const own = await billingTenant();
    const seat = await makePlan(own, { name: "Seat", price_cents: 2000, trial_days: 14 });
    const customer = await payingCustomer(own);
    const stripeCalls = async () =>
      (await stripeRequests({ path: "/v1/subscriptions", account: own.account })).length;
    const before = await stripeCalls();
    // 2000 × 50000 = 100,000,000: one minor unit past the cap (a trial would only put the refusal off).
    const refused = expectError(
      await subscribe({ customer: customer.id, plan: seat.id, quantity: 50_000 }, own),
      400,
      "validation_error",
    );
    expect(refused.details).toEqual([{ field: "quantity", message: expect.stringContaining("99999999") }]);
    expect(await stripeCalls()).toBe(before);
    const sub = await subscribe({ customer: customer.id, plan: seat.id, quantity: 49_999 }, own);
    expect(sub.status, JSON.stringify(sub.body)).toBe(201);

    const path = `${SUBS}${sub.body.id}/`;
    const changed = await stripeCalls();
    for (const [verbPath, body] of [
      [path, { quantity: 50_000 }],
      [`${path}preview/`, { quantity: 50_000 }],
    ] as const) {
      const res = expectError(await asKey(own.keys.test_secret, verbPath, { body }), 400, "validation_error");
      expect(res.details[0].field).toBe("quantity");
    }
    const big = await makePlan(own, { name: "Big seat", price_cents: 5000, trial_days: 0 });
    expectError(await asKey(own.keys.test_secret, path, { body: { plan: big.id } }), 400, "validation_error");
    expect(await stripeCalls()).toBe(changed);
    expect((await asKey(own.keys.test_secret, path, { body: { quantity: 2 } })).status).toBe(200);
  });
});

describe("the same lifecycle verb at once, or again", () => {
  it("cancel at period end, pause, resume and unpause each tell and audit their change once; at once all answer done, and a verb with nothing left to do is 409 after it", async () => {
    const own = await billingTenant();
    const ownPlan = await makePlan(own, { name: "Once", price_cents: 2000, trial_days: 0 });
    const sub = await activeSub(own, ownPlan);
    const verb = (name: string, body?: unknown) =>
      asKey(own.keys.test_secret, `${SUBS}${sub.id}/${name}/`, { method: "POST", ...(body ? { body } : {}) });
    const times = async (name: string, count: number, body?: unknown) =>
      Promise.all(Array.from({ length: count }, () => verb(name, body)));
    const told = async () =>
      (await tenantEvents(own.tenantId, "subscription.updated")).filter((e) => e.data.object.id === sub.id)
        .length;
    const audited = async (action: string) =>
      (
        await env.DB.prepare(
          "SELECT count(*) AS n FROM audit_log WHERE tenant_id = ? AND target_id = ? AND metadata LIKE ?",
        )
          .bind(own.tenantId, sub.id, `%"action":"${action}"%`)
          .first<{ n: number }>()
      )?.n;

    for (const res of await times("cancel", 4)) {
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.cancel_at_period_end).toBe(true);
    }
    expect((await verb("cancel")).body.cancel_at_period_end).toBe(true);
    expect(await told()).toBe(1);
    expect(await audited("cancel_scheduled")).toBe(1);

    // At once, each finds the cancellation and Stripe's answer shows it taken back: all answer done.
    for (const res of await times("resume", 4)) {
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.cancel_at_period_end).toBe(false);
    }
    expectError(await verb("resume"), 409, "invalid_state_transition");
    expect(await told()).toBe(2);
    expect(await audited("resumed")).toBe(1);

    for (const res of await times("pause", 4, { behavior: "keep_as_draft" })) {
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.pause_collection).toMatchObject({ behavior: "keep_as_draft" });
    }
    expect(await told()).toBe(3);
    expect(await audited("paused")).toBe(1);
    // Another behaviour is a change of its own.
    expect((await verb("pause", { behavior: "void" })).body.pause_collection).toMatchObject({
      behavior: "void",
    });
    expect(await told()).toBe(4);

    for (const res of await times("unpause", 4)) {
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.pause_collection).toBeNull();
    }
    expectError(await verb("unpause"), 409, "invalid_state_transition");
    expect(await told()).toBe(5);
    expect(await audited("unpaused")).toBe(1);
  });
});

/** Tests of their own tenant: its secret key's rate limit (per minute) is not shared. */
describe("answers and refusals as Stripe's", () => {
  let own: BillingTenant;
  let basic: { id: string };
  let big: { id: string };
  beforeAll(async () => {
    own = await billingTenant();
    await env.DB.prepare("UPDATE tenants SET subscription_tier = 'pro' WHERE id = ?")
      .bind(own.tenantId)
      .run();
    basic = await makePlan(own, { name: "Basic", price_cents: 2000, trial_days: 0 });
    big = await makePlan(own, { name: "Big", price_cents: 5000, trial_days: 0 });
  });
  const key = () => own.keys.test_secret;
  const stripeSub = (id: string) => stripeObject(`/v1/subscriptions/${id}`, own.account);

  it("answers the latest invoice Stripe made before the mirror has it (the first one; after always_invoice)", async () => {
    const customer = await makeCustomer(own);
    const res = await subscribe({ customer: customer.id, plan: basic.id, quantity: 2 }, own);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const first = (await stripeSub(res.body.stripe_subscription_id)).latest_invoice;
    expect(first).toEqual(expect.any(String));
    expect(res.body.latest_invoice).toMatchObject({
      id: null,
      stripe_invoice_id: first,
      status: "open",
      amount_due: 4000,
      amount_paid: 0,
      currency: "usd",
    });

    const sub = await activeSub(own, basic);
    const changed = await asKey(key(), `${SUBS}${sub.id}/`, {
      method: "PATCH",
      body: { plan: big.id, proration_behavior: "always_invoice" },
    });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    const proration = (await stripeSub(sub.stripe_subscription_id)).latest_invoice;
    expect(proration).not.toBe(sub.latest_invoice?.stripe_invoice_id);
    expect(changed.body.latest_invoice).toMatchObject({
      id: null,
      stripe_invoice_id: proration,
      status: "paid",
    });
    expect(changed.body.latest_invoice.amount_paid).toBeGreaterThan(0);
  });

  it("a monthly → yearly change restarts the billing period now, as Stripe does for a new interval", async () => {
    const yearly = await makePlan(own, {
      name: "Yearly",
      price_cents: 20000,
      billing_interval: "year",
      trial_days: 0,
    });
    const sub = await activeSub(own, basic);
    const res = await asKey(key(), `${SUBS}${sub.id}/`, { method: "PATCH", body: { plan: yearly.id } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ interval: "year", latest_invoice: { status: "paid" } });
    const days = (Date.parse(res.body.current_period_end) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(360);
  });

  describe("changes Stripe refuses", () => {
    it("an incomplete subscription takes only metadata, or cancelling now: other changes are 409 before Stripe", async () => {
      const customer = await makeCustomer(own);
      const sub = (await subscribe({ customer: customer.id, plan: basic.id }, own)).body;
      expect(sub.status).toBe("incomplete");
      const verb = (name: string, body?: unknown) =>
        asKey(key(), `${SUBS}${sub.id}/${name}`, {
          method: name ? "POST" : "PATCH",
          ...(body ? { body } : {}),
        });
      for (const [name, body] of [
        ["pause/", undefined],
        ["", { quantity: 5 }],
        ["", { plan: big.id }],
        ["cancel/", { at_period_end: true }],
      ] as const) {
        const refused = expectError(await verb(name, body), 409, "invalid_state_transition");
        expect(refused.status).toBe("incomplete");
      }
      const changes = await stripeRequests({
        path: `/v1/subscriptions/${sub.stripe_subscription_id}`,
        account: own.account,
      });
      expect(changes.filter((r) => r.method === "POST")).toEqual([]);
      expect((await verb("", { metadata: { seat: "solo" } })).body).toMatchObject({
        status: "incomplete",
        metadata: { seat: "solo" },
      });
      expect((await verb("cancel/", { at_period_end: false })).body.status).toBe("canceled");
    });

    it("a plan in another currency is a 400 validation_error (Stripe keeps one currency per subscription)", async () => {
      const eur = await makePlan(own, { name: "Euro", price_cents: 2000, currency: "eur", trial_days: 0 });
      const sub = await activeSub(own, basic);
      const patch = (path: string) =>
        asKey(key(), `${SUBS}${sub.id}/${path}`, {
          method: path ? "POST" : "PATCH",
          body: { plan: eur.id },
        });
      expect(expectError(await patch(""), 400, "validation_error").details).toEqual([
        { field: "plan", message: expect.stringContaining("eur") },
      ]);
      expectError(await patch("preview/"), 400, "validation_error");
      expect((await stripeSub(sub.stripe_subscription_id)).currency).toBe("usd");
    });

    it("a change on a subscription Stripe already canceled (the mirror not told yet) is 409 with the state", async () => {
      const sub = await activeSub(own, basic);
      const del = await fetch(`${doubleUrl()}/v1/subscriptions/${sub.stripe_subscription_id}`, {
        method: "DELETE",
        headers: { Authorization: "Bearer sk_test_x", "Stripe-Account": own.account },
      });
      expect(del.status).toBe(200);
      const res = await asKey(key(), `${SUBS}${sub.id}/`, {
        method: "PATCH",
        body: { quantity: 2 },
      });
      expect(expectError(res, 409, "invalid_state_transition").status).toBe("canceled");
      // Cancelling it now: Stripe no longer has a live subscription to cancel (404 there).
      const cancel = await asKey(key(), `${SUBS}${sub.id}/cancel/`, { body: { at_period_end: false } });
      expect(expectError(cancel, 409, "invalid_state_transition").status).toBe("canceled");
    });
  });

  describe("a change's Stripe idempotency key", () => {
    const patch = (id: string, quantity: number, requestId: string) =>
      asKey(key(), `${SUBS}${id}/`, {
        method: "PATCH",
        body: { quantity },
        headers: { "X-Request-Id": requestId },
      });

    it("is ours, not the caller's X-Request-Id: a reused one does not make Stripe replay an old change", async () => {
      const sub = await activeSub(own, basic);
      const rid = unique("rid-");
      expect((await patch(sub.id, 2, rid)).status).toBe(200);
      expect((await patch(sub.id, 3, unique("rid-"))).status).toBe(200);
      const again = await patch(sub.id, 2, rid);
      expect(again.status, JSON.stringify(again.body)).toBe(200);
      const item = ((await stripeSub(sub.stripe_subscription_id)).items as { data: { quantity: number }[] })
        .data[0];
      expect({ api: again.body.quantity, stripe: item?.quantity }).toEqual({ api: 2, stripe: 2 });
    });

    it("a reused X-Request-Id with another change is that change, not a Stripe idempotency error", async () => {
      const sub = await activeSub(own, basic);
      const rid = unique("rid-");
      expect((await patch(sub.id, 2, rid)).status).toBe(200);
      const second = await patch(sub.id, 4, rid);
      expect(second.status, JSON.stringify(second.body)).toBe(200);
      expect(second.body.quantity).toBe(4);
    });
  });

  describe("the API's view of a change and the mirror", () => {
    it("never overwrites a newer mirrored state nor lowers its watermark", async () => {
      const sub = await activeSub(own, basic);
      // The mirror has applied a later change already (a Connect event newer on Stripe's clock).
      const later = Math.floor(Date.now() / 1000) + 3600;
      await env.DB.prepare(
        "UPDATE customer_subscriptions SET quantity = 7, last_event_created = ? WHERE id = ?",
      )
        .bind(later, sub.id)
        .run();
      const res = await asKey(key(), `${SUBS}${sub.id}/`, {
        method: "PATCH",
        body: { quantity: 2 },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.quantity).toBe(7);
      const row = await env.DB.prepare(
        "SELECT quantity, last_event_created FROM customer_subscriptions WHERE id = ?",
      )
        .bind(sub.id)
        .first();
      expect(row).toEqual({ quantity: 7, last_event_created: later });
      const told = (await tenantEvents(own.tenantId, "subscription.updated")).filter(
        (e) => e.data.object.id === sub.id,
      );
      expect(told).toEqual([]);
    });
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

describe("discounts in another currency", () => {
  it("an amount-off coupon in another currency than the subscription's is 400 before Stripe, named or by promotion code, and on a change; the customer's own is left out", async () => {
    const own = await billingTenant();
    const usd = await makePlan(own, { name: "Dollars", price_cents: 2000, trial_days: 0 });
    const coupons = "/api/v1/auth/coupons/";
    const makeCoupon = async (body: Record<string, unknown>) => {
      const res = await asKey(own.keys.test_secret, coupons, { body: { duration: "forever", ...body } });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body as { id: string };
    };
    const euros = await makeCoupon({ amount_off: 500, currency: "eur" });
    const code = unique("EUROS").toUpperCase();
    const promo = await asKey(own.keys.test_secret, `${coupons}${euros.id}/promotion-codes/`, {
      body: { code },
    });
    expect(promo.status, JSON.stringify(promo.body)).toBe(201);
    const customer = await payingCustomer(own);
    const creates = async () =>
      (await stripeRequests({ path: "/v1/subscriptions", account: own.account })).filter(
        (r) => r.method === "POST",
      ).length;
    const before = await creates();
    const refused = async (body: Record<string, unknown>, field: string) =>
      expect(
        expectError(
          await subscribe({ customer: customer.id, plan: usd.id, ...body }, own),
          400,
          "validation_error",
        ).details,
      ).toEqual([{ field, message: expect.stringMatching(/eur.*usd/) }]);
    await refused({ coupon: euros.id }, "coupon");
    await refused({ promotion_code: code }, "promotion_code");
    const carried = await asKey(own.keys.test_secret, `/api/v1/auth/customers/${customer.id}/discount/`, {
      body: { coupon: euros.id },
    });
    expect(carried.status, JSON.stringify(carried.body)).toBe(200);
    expect(await creates()).toBe(before);
    // The customer's own euro discount applies to euros only: a dollar plan is billed without it.
    const plain = await subscribe(
      { customer: customer.id, plan: usd.id, payment_behavior: "allow_incomplete" },
      own,
    );
    expect(plain.status, JSON.stringify(plain.body)).toBe(201);
    expect(plain.body.discount).toBeNull();
    const sentCreate = (await stripeRequests({ path: "/v1/subscriptions", account: own.account })).at(-1);
    expect(JSON.stringify(sentCreate)).not.toContain(euros.id);

    const other = await payingCustomer(own);
    const sub = await subscribe(
      { customer: other.id, plan: usd.id, payment_behavior: "allow_incomplete" },
      own,
    );
    expect(sub.status, JSON.stringify(sub.body)).toBe(201);
    const changes = async () =>
      (
        await stripeRequests({
          path: `/v1/subscriptions/${sub.body.stripe_subscription_id}`,
          account: own.account,
        })
      ).length;
    const sent = await changes();
    for (const [body, field] of [
      [{ coupon: euros.id }, "coupon"],
      [{ promotion_code: code }, "promotion_code"],
    ] as const) {
      const res = await asKey(own.keys.test_secret, `${SUBS}${sub.body.id}/`, { method: "PATCH", body });
      expect(expectError(res, 400, "validation_error").details).toEqual([
        { field, message: expect.stringMatching(/eur.*usd/) },
      ]);
    }
    expect(await changes()).toBe(sent);

    const dollars = await makeCoupon({ amount_off: 500, currency: "usd" });
    const ok = await asKey(own.keys.test_secret, `${SUBS}${sub.body.id}/`, {
      method: "PATCH",
      body: { coupon: dollars.id },
    });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
  });
});

describe("cancel options", () => {
  it("invoice_now or prorate without at_period_end: false (a cancel at period end) is 400 before Stripe; with it, they reach Stripe", async () => {
    const own = await billingTenant();
    const monthly = await makePlan(own, { name: "Monthly", price_cents: 2000, trial_days: 0 });
    const sub = await activeSub(own, monthly);
    const cancel = (body: Record<string, unknown>) =>
      asKey(own.keys.test_secret, `${SUBS}${sub.id}/cancel/`, { body });
    const calls = async () =>
      (
        await stripeRequests({
          path: `/v1/subscriptions/${sub.stripe_subscription_id}`,
          account: own.account,
        })
      ).length;
    const before = await calls();
    for (const [body, fields] of [
      [{ invoice_now: true }, ["invoice_now"]],
      [{ prorate: true }, ["prorate"]],
      // Asking for neither (false) is what a cancel at period end does: only `true` is refused.
      [{ at_period_end: true, invoice_now: false, prorate: true }, ["prorate"]],
    ] as const) {
      const refused = expectError(await cancel(body), 400, "validation_error");
      expect(refused.details, JSON.stringify(body)).toEqual(
        fields.map((field) => ({ field, message: expect.stringContaining("at_period_end: false") })),
      );
    }
    expect(await calls()).toBe(before);
    expect((await asKey(own.keys.test_secret, `${SUBS}${sub.id}/`)).body.cancel_at_period_end).toBe(false);

    const now = await cancel({ at_period_end: false, invoice_now: true, prorate: true });
    expect(now.status, JSON.stringify(now.body)).toBe(200);
    expect(now.body.status).toBe("canceled");
    const [sent] = (
      await stripeRequests({ path: `/v1/subscriptions/${sub.stripe_subscription_id}`, account: own.account })
    ).filter((r) => r.method === "DELETE");
    expect(sent?.params).toMatchObject({ invoice_now: "true", prorate: "true" });
  });
});

describe("one currency per customer", () => {
  it("a plan in another currency than the customer's running subscription is 400 before Stripe; once that one ended, it is fine", async () => {
    const own = await billingTenant();
    const dollars = await makePlan(own, { name: "Dollars", price_cents: 2000, trial_days: 0 });
    const euros = await makePlan(own, { name: "Euros", price_cents: 2000, currency: "eur", trial_days: 0 });
    const first = await activeSub(own, dollars);
    const creates = async () =>
      (await stripeRequests({ path: "/v1/subscriptions", account: own.account })).filter(
        (r) => r.method === "POST",
      ).length;
    const before = await creates();
    const refused = await subscribe(
      { customer: first.customer, plan: euros.id, payment_behavior: "allow_incomplete" },
      own,
    );
    expect(expectError(refused, 400, "validation_error").details).toEqual([
      { field: "plan", message: expect.stringMatching(/eur.*usd|usd.*eur/) },
    ]);
    expect(await creates()).toBe(before);
    const same = await subscribe(
      { customer: first.customer, plan: dollars.id, payment_behavior: "allow_incomplete" },
      own,
    );
    expect(same.status, JSON.stringify(same.body)).toBe(201);

    for (const sub of [first.id, same.body.id]) {
      const ended = await asKey(own.keys.test_secret, `${SUBS}${sub}/cancel/`, {
        body: { at_period_end: false },
      });
      expect(ended.body.status).toBe("canceled");
    }
    const after = await subscribe(
      { customer: first.customer, plan: euros.id, payment_behavior: "allow_incomplete" },
      own,
    );
    expect(after.status, JSON.stringify(after.body)).toBe(201);
  });
});
