import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import {
  asKey,
  type BillingTenant,
  billingTenant,
  makeCustomer,
  makePlan,
  relayConnectEvents,
} from "../billing";
import { call, expectError, registerTenant, unique } from "../harness";
import { COUPONS, makeCoupon, makeInvoice, payingCustomer } from "../invoicing";
import { stripeObject, stripeRequests } from "../stripe-double";

const SUBS = "/api/v1/auth/subscriptions/";

let tenant: BillingTenant;
let plan: { id: string };
beforeAll(async () => {
  tenant = await billingTenant();
  plan = await makePlan(tenant, { name: "Team", price_cents: 5000, trial_days: 0 });
});

const subscribe = (body: Record<string, unknown>) => asKey(tenant.keys.test_secret, SUBS, { body });
const discountOf = (customer: string) => `/api/v1/auth/customers/${customer}/discount/`;

/** What the subscription's first invoice charged (its mirror, once Stripe's events are in). */
async function firstPayment(subscription: string) {
  await relayConnectEvents(tenant.account);
  const got = await asKey(tenant.keys.test_secret, `${SUBS}${subscription}/`);
  return got.body.latest_invoice?.amount_paid;
}

describe("coupons", () => {
  it("creates percent and amount coupons on the connected account, under our id or the tenant's code", async () => {
    const code = unique("SPRING").toUpperCase();
    const res = await asKey(tenant.keys.test_secret, COUPONS, {
      body: {
        id: code,
        name: "Spring",
        percent_off: 12.5,
        duration: "repeating",
        duration_in_months: 3,
        max_redemptions: 100,
        redeem_by: new Date(Date.now() + 30 * 86_400_000).toISOString(),
        metadata: { campaign: "spring" },
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({
      id: code,
      object: "coupon",
      percent_off: 12.5,
      amount_off: null,
      duration: "repeating",
      duration_in_months: 3,
      max_redemptions: 100,
      times_redeemed: 0,
      valid: true,
      deleted: false,
      livemode: false,
    });
    expect(await stripeObject(`/v1/coupons/${code}`, tenant.account)).toMatchObject({
      id: code,
      percent_off: 12.5,
      metadata: { tenant_id: tenant.tenantId, campaign: "spring" },
    });
    const amount = await makeCoupon(tenant, {
      percent_off: undefined,
      amount_off: 500,
      currency: "usd",
      duration: "once",
    });
    expect(amount).toMatchObject({
      id: expect.stringMatching(/^coupon_/),
      amount_off: 500,
      amount_off_display: "$5.00",
    });
    const [create] = (await stripeRequests({ path: "/v1/coupons", account: tenant.account })).filter(
      (r) => r.method === "POST" && r.params.id === amount.id,
    );
    expect(create?.headers.idempotency_key).toMatch(
      new RegExp(`^coupon:${tenant.tenantId}:test:${amount.id}:try_\\w+$`),
    );
    expectError(
      await asKey(tenant.keys.test_secret, COUPONS, { body: { id: code, percent_off: 5 } }),
      409,
      "conflict",
    );
  });

  it("two creates of one code at once: one 201, the other 409; the coupon stays at Stripe", async () => {
    const own = await billingTenant();
    const code = unique("TWICE").toUpperCase();
    const answers = await Promise.all(
      [0, 1].map(() =>
        asKey(own.keys.test_secret, COUPONS, { body: { id: code, percent_off: 20, duration: "forever" } }),
      ),
    );
    expect(answers.map((res) => `${res.status} ${res.body.error ?? ""}`.trim()).sort()).toEqual([
      "201",
      "409 conflict",
    ]);
    expect((await asKey(own.keys.test_secret, `${COUPONS}${code}/`)).body).toMatchObject({
      id: code,
      valid: true,
      deleted: false,
    });
    expect(await stripeObject(`/v1/coupons/${code}`, own.account)).toMatchObject({
      id: code,
      valid: true,
    });
  });

  it("refuses bad input (400)", async () => {
    for (const body of [
      {},
      { percent_off: 10, amount_off: 100, currency: "usd" },
      { amount_off: 100 },
      { percent_off: 10, currency: "usd" },
      { percent_off: 0 },
      { percent_off: 101 },
      { percent_off: 10.123 },
      { percent_off: 10, duration: "repeating" },
      { percent_off: 10, duration: "forever", duration_in_months: 2 },
      { percent_off: 10, id: "has space" },
      { percent_off: 10, redeem_by: new Date(Date.now() - 60_000).toISOString() },
      { percent_off: 10, max_redemptions: 0 },
    ])
      expectError(await asKey(tenant.keys.test_secret, COUPONS, { body }), 400, "validation_error");
  });

  it("lists, gets (with Stripe's redemption count) and deletes; a deleted coupon can no longer be applied", async () => {
    const own = await billingTenant();
    const ownPlan = await makePlan(own, { name: "P", trial_days: 0 });
    const first = await makeCoupon(own);
    const second = await makeCoupon(own, { percent_off: 50, max_redemptions: 1 });
    const ids = async (query = "") =>
      (await asKey(own.keys.test_secret, `${COUPONS}?${query}`)).body.data.map((c: { id: string }) => c.id);
    expect(await ids()).toEqual([second.id, first.id]);
    const customer = await makeCustomer(own);
    const sub = await asKey(own.keys.test_secret, SUBS, {
      body: { customer: customer.id, plan: ownPlan.id, coupon: second.id },
    });
    expect(sub.status, JSON.stringify(sub.body)).toBe(201);
    const got = await call(`${COUPONS}${second.id}/`, { token: own.tokens.developer });
    expect(got.body).toMatchObject({ times_redeemed: 1, valid: false });
    const usedUp = await asKey(own.keys.test_secret, SUBS, {
      body: { customer: customer.id, plan: ownPlan.id, coupon: second.id },
    });
    expect(expectError(usedUp, 409, "invalid_state_transition").status).toBe("used_up");

    const deleted = await asKey(own.keys.test_secret, `${COUPONS}${first.id}/`, { method: "DELETE" });
    expect(deleted.body).toMatchObject({ id: first.id, deleted: true, valid: false });
    expect(await ids()).toEqual([second.id]);
    expect(await ids("include_deleted=true")).toEqual([second.id, first.id]);
    const refused = await asKey(own.keys.test_secret, SUBS, {
      body: { customer: customer.id, plan: ownPlan.id, coupon: first.id },
    });
    expect(expectError(refused, 409, "invalid_state_transition").status).toBe("deleted");
    expect(JSON.stringify(await stripeObject(`/v1/coupons/${first.id}`, own.account))).toMatch(
      /"deleted":true|resource_missing/,
    );
  });

  it("applies to a subscription at creation and later, and is removed; unknown or another tenant's coupon is 404", async () => {
    const coupon = await makeCoupon(tenant, { percent_off: 10 });
    const customer = await payingCustomer(tenant);
    const sub = await subscribe({
      customer: customer.id,
      plan: plan.id,
      coupon: coupon.id,
      payment_behavior: "allow_incomplete",
    });
    expect(sub.status, JSON.stringify(sub.body)).toBe(201);
    expect(sub.body).toMatchObject({ discount: { coupon: coupon.id, percent_off: 10, duration: "forever" } });
    expect(await firstPayment(sub.body.id)).toBe(4500);

    const later = await makeCoupon(tenant, { percent_off: 30 });
    const changed = await asKey(tenant.keys.test_secret, `${SUBS}${sub.body.id}/`, {
      method: "PATCH",
      body: { coupon: later.id },
    });
    expect(changed.body.discount).toMatchObject({ coupon: later.id, percent_off: 30 });
    const removed = await asKey(tenant.keys.test_secret, `${SUBS}${sub.body.id}/`, {
      method: "PATCH",
      body: { coupon: null },
    });
    expect(removed.body.discount).toBeNull();

    expectError(
      await subscribe({ customer: customer.id, plan: plan.id, coupon: "NOPE_NOT_HERE" }),
      404,
      "not_found",
    );
    const other = await billingTenant();
    const theirs = await makeCoupon(other);
    expectError(
      await subscribe({ customer: customer.id, plan: plan.id, coupon: theirs.id }),
      404,
      "not_found",
    );
    expectError(
      await asKey(tenant.keys.test_secret, `${SUBS}${sub.body.id}/`, {
        method: "PATCH",
        body: { coupon: theirs.id },
      }),
      404,
      "not_found",
    );
    expectError(await call(`${COUPONS}${theirs.id}/`, { token: tenant.tokens.owner }), 404, "not_found");
  });

  it("two deletes of one coupon at once: both answer it deleted, and one audit record tells it", async () => {
    const own = await billingTenant();
    const coupon = await makeCoupon(own);
    const [first, second] = await Promise.all(
      [0, 1].map(() => asKey(own.keys.test_secret, `${COUPONS}${coupon.id}/`, { method: "DELETE" })),
    );
    expect([first?.status, second?.status]).toEqual([200, 200]);
    expect([first?.body.deleted, second?.body.deleted]).toEqual([true, true]);
    const audits = await env.DB.prepare(
      "SELECT count(*) AS n FROM audit_log WHERE tenant_id = ? AND action = 'coupon.deleted' AND target_id = ?",
    )
      .bind(own.tenantId, coupon.id)
      .first<{ n: number }>();
    expect(audits?.n).toBe(1);
  });

  it("promotion codes: created for a coupon, redeemed by code at subscription creation, deactivated", async () => {
    const coupon = await makeCoupon(tenant, { percent_off: 25 });
    const code = unique("WELCOME").toUpperCase();
    const made = await asKey(tenant.keys.test_secret, `${COUPONS}${coupon.id}/promotion-codes/`, {
      body: { code, max_redemptions: 5, first_time_transaction: true },
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.body).toMatchObject({
      id: expect.stringMatching(/^promo_/),
      object: "promotion_code",
      coupon: coupon.id,
      code,
      active: true,
      first_time_transaction: true,
    });
    const generated = await asKey(tenant.keys.test_secret, `${COUPONS}${coupon.id}/promotion-codes/`, {
      body: {},
    });
    expect(generated.body.code).toMatch(/^[A-Z0-9]{8}$/);
    const listed = await asKey(tenant.keys.test_secret, `${COUPONS}${coupon.id}/promotion-codes/`);
    expect(listed.body.data.map((row: { id: string }) => row.id)).toEqual([generated.body.id, made.body.id]);
    expectError(
      await asKey(tenant.keys.test_secret, `${COUPONS}${coupon.id}/promotion-codes/`, { body: { code } }),
      409,
      "conflict",
    );

    const customer = await payingCustomer(tenant);
    const sub = await subscribe({
      customer: customer.id,
      plan: plan.id,
      promotion_code: code.toLowerCase(),
      payment_behavior: "allow_incomplete",
    });
    expect(sub.status, JSON.stringify(sub.body)).toBe(201);
    expect(await firstPayment(sub.body.id)).toBe(3750);
    const [create] = (await stripeRequests({ path: "/v1/subscriptions", account: tenant.account })).filter(
      (r) => r.headers.idempotency_key === `subscription:${sub.body.id}`,
    );
    expect(create?.params.discounts).toEqual([{ promotion_code: made.body.id }]);

    const off = await asKey(
      tenant.keys.test_secret,
      `${COUPONS}${coupon.id}/promotion-codes/${made.body.id}/deactivate/`,
      {
        method: "POST",
      },
    );
    expect(off.body).toMatchObject({ active: false });
    const refused = await subscribe({ customer: customer.id, plan: plan.id, promotion_code: code });
    expect(expectError(refused, 409, "invalid_state_transition").status).toBe("inactive");
    expectError(
      await subscribe({ customer: customer.id, plan: plan.id, promotion_code: "NOSUCHCODE" }),
      404,
      "not_found",
    );
  });

  it("promotion codes: an expires_at already past is 400 before Stripe; a code past its expires_at is refused up front", async () => {
    const own = await billingTenant();
    const ownPlan = await makePlan(own, { name: "P", trial_days: 0 });
    const coupon = await makeCoupon(own, { percent_off: 10 });
    const codes = `${COUPONS}${coupon.id}/promotion-codes/`;
    const created = async () =>
      (await stripeRequests({ path: "/v1/promotion_codes", account: own.account })).length;
    const before = await created();
    const past = expectError(
      await asKey(own.keys.test_secret, codes, {
        body: { code: unique("PAST").toUpperCase(), expires_at: new Date(Date.now() - 60_000).toISOString() },
      }),
      400,
      "validation_error",
    );
    expect(past.details).toEqual([{ field: "expires_at", message: expect.any(String) }]);
    expect(await created()).toBe(before);

    const code = unique("SOON").toUpperCase();
    const soon = await asKey(own.keys.test_secret, codes, {
      body: { code, expires_at: new Date(Date.now() + 1_500).toISOString() },
    });
    expect(soon.status, JSON.stringify(soon.body)).toBe(201);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const customer = await payingCustomer(own);
    const subscriptions = async () =>
      (await stripeRequests({ path: "/v1/subscriptions", account: own.account })).length;
    const sent = await subscriptions();
    const refused = await asKey(own.keys.test_secret, SUBS, {
      body: { customer: customer.id, plan: ownPlan.id, promotion_code: code },
    });
    expect(expectError(refused, 409, "invalid_state_transition").status).toBe("expired");
    expect(await subscriptions()).toBe(sent);
  });

  it("promotion codes: two creates of one code at once are 201 and 409; one whose D1 write fails is deactivated at Stripe again", async () => {
    const own = await billingTenant();
    const coupon = await makeCoupon(own, { percent_off: 10 });
    const codes = `${COUPONS}${coupon.id}/promotion-codes/`;
    const code = unique("BOTH").toUpperCase();
    const answers = await Promise.all(
      [0, 1].map(() => asKey(own.keys.test_secret, codes, { body: { code } })),
    );
    expect(answers.map((res) => `${res.status} ${res.body.error ?? ""}`.trim()).sort()).toEqual([
      "201",
      "409 conflict",
    ]);

    const lost = unique("LOST").toUpperCase();
    await env.DB.exec(
      `CREATE TRIGGER fail_promotion_code BEFORE INSERT ON promotion_codes WHEN NEW.code = '${lost}' BEGIN SELECT RAISE(ABORT, 'injected failure'); END`,
    );
    try {
      expectError(await asKey(own.keys.test_secret, codes, { body: { code: lost } }), 500, "internal_error");
    } finally {
      await env.DB.exec("DROP TRIGGER fail_promotion_code");
    }
    const atStripe = await stripeObject(`/v1/promotion_codes?code=${lost}`, own.account);
    expect(atStripe.data).toEqual([expect.objectContaining({ code: lost, active: false })]);
    const again = await asKey(own.keys.test_secret, codes, { body: { code: lost } });
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    expect(again.body).toMatchObject({ code: lost, active: true });
  });

  it("a customer's coupon: applied to its later subscriptions and one-off invoices without their own, then removed", async () => {
    const coupon = await makeCoupon(tenant, { percent_off: 20 });
    const customer = await payingCustomer(tenant);
    expect((await asKey(tenant.keys.test_secret, discountOf(customer.id))).body).toMatchObject({
      coupon: null,
    });
    const set = await asKey(tenant.keys.test_secret, discountOf(customer.id), {
      body: { coupon: coupon.id },
    });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body).toMatchObject({
      object: "customer_discount",
      customer: customer.id,
      coupon: { id: coupon.id },
    });
    const sub = await subscribe({
      customer: customer.id,
      plan: plan.id,
      payment_behavior: "allow_incomplete",
    });
    expect(sub.body).toMatchObject({ discount: { coupon: coupon.id } });
    expect(await firstPayment(sub.body.id)).toBe(4000);
    const invoice = await makeInvoice(tenant, { customer: customer.id, items: [{ plan: plan.id }] });
    expect(invoice).toMatchObject({ subtotal: 5000, discount_amount: 1000, total: 4000 });
    const own = await makeCoupon(tenant, { percent_off: 50 });
    const named = await subscribe({
      customer: customer.id,
      plan: plan.id,
      coupon: own.id,
      payment_behavior: "allow_incomplete",
    });
    expect(named.body.discount).toMatchObject({ coupon: own.id });

    const removed = await asKey(tenant.keys.test_secret, discountOf(customer.id), { method: "DELETE" });
    expect(removed.body).toMatchObject({ coupon: null });
    expectError(
      await asKey(tenant.keys.test_secret, discountOf(customer.id), { method: "DELETE" }),
      409,
      "invalid_state_transition",
    );
    const plain = await subscribe({
      customer: customer.id,
      plan: plan.id,
      payment_behavior: "allow_incomplete",
    });
    expect(plain.body.discount).toBeNull();
    for (const body of [{}, { coupon: coupon.id, promotion_code: "X" }])
      expectError(
        await asKey(tenant.keys.test_secret, discountOf(customer.id), { body }),
        400,
        "validation_error",
      );
    expectError(
      await asKey(tenant.keys.test_secret, discountOf(customer.id), { body: { coupon: "NOPE_X" } }),
      404,
      "not_found",
    );
  });

  it("roles, keys, modes and tenants", async () => {
    const coupon = await makeCoupon(tenant);
    for (const role of ["owner", "admin", "developer", "billing"] as const)
      expect((await call(`${COUPONS}${coupon.id}/`, { token: tenant.tokens[role] })).status).toBe(200);
    expectError(
      await call(COUPONS, { token: tenant.tokens.developer, body: { percent_off: 5 } }),
      403,
      "forbidden",
    );
    expectError(
      await call(`${COUPONS}${coupon.id}/`, { token: tenant.tokens.developer, method: "DELETE" }),
      403,
      "forbidden",
    );
    expect((await call(COUPONS, { token: tenant.tokens.billing, body: { percent_off: 5 } })).status).toBe(
      201,
    );
    expectError(await asKey(tenant.keys.test_public, `${COUPONS}${coupon.id}/`), 403, "forbidden");
    expectError(await asKey(tenant.keys.live_secret, `${COUPONS}${coupon.id}/`), 404, "not_found");
    expectError(
      await asKey(tenant.keys.live_secret, COUPONS, { body: { percent_off: 5 } }),
      409,
      "livemode_mismatch",
    );
    const other = await registerTenant();
    expectError(await call(`${COUPONS}${coupon.id}/`, { token: other.owner.access }), 404, "not_found");
    expectError(
      await asKey(other.keys.test_secret, `${COUPONS}${coupon.id}/promotion-codes/`, { body: {} }),
      404,
      "not_found",
    );
  });
});
