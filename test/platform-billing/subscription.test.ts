import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { applyBillingEvents } from "../../src/modules/platform-billing/billing-runs";
import { toBillingEvent } from "../../src/modules/platform-billing/stripe-mapping";
import { testContext } from "../context";
import { call, expectError, registerTeam, registerTenant, unique } from "../harness";
import { hookUrl } from "../receiver";
import {
  connectTenant,
  deauthorizeAtStripe,
  failNext,
  restrictAccount,
  stripeObject,
  stripeRequests,
} from "../stripe-double";
import {
  CONNECT_SECRET,
  nowSeconds,
  platformPlan,
  processed,
  sendSigned,
  stripeEvent,
  subscribed,
  subscriptionObject,
} from "./helpers";

const SUBSCRIPTION = "/api/v1/auth/tenants/subscription/";

describe("the tenant's platform subscription", () => {
  it("subscribes (customer with metadata.tenant_id), changes plan with proration, and shows tier and limits", async () => {
    const tenant = await registerTenant();
    const starter = await platformPlan("starter", { users: 10 });
    const pro = await platformPlan("pro", { api_requests_per_minute: 6000, users: null });
    const listed = await call(`${SUBSCRIPTION}plans/`, { token: tenant.owner.access });
    expect(listed.body.data.map((p: { id: string }) => p.id)).toEqual(
      expect.arrayContaining([starter.id, pro.id]),
    );

    const sub = await subscribed(tenant.owner.access, starter.id);
    expect(sub).toMatchObject({
      status: "active",
      tier: "starter",
      stripe_customer_id: expect.stringMatching(/^cus_/),
    });
    const customer = await fetch(`${env.STRIPE_API_BASE}/v1/customers/${sub.stripe_customer_id}`, {
      headers: { Authorization: "Bearer sk_test_x" },
    }).then((r) => r.json() as Promise<{ metadata: Record<string, string> }>);
    expect(customer.metadata.tenant_id).toBe(tenant.tenantId);

    const changed = await call(SUBSCRIPTION, {
      token: tenant.owner.access,
      method: "PATCH",
      body: { plan_id: pro.id },
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({
      tier: "pro",
      plan: { id: pro.id },
      limits: { api_requests_per_minute: 6000, users: null },
    });
    const details = await call("/api/v1/auth/tenants/details/", { token: tenant.owner.access });
    expect(details.body).toMatchObject({
      subscription_tier: "pro",
      usage_limits: { api_requests_per_minute: 6000 },
    });

    expectError(
      await call(SUBSCRIPTION, {
        token: tenant.owner.access,
        body: { plan_id: pro.id, payment_method_id: "pm_card_visa" },
      }),
      409,
      "conflict",
    );
  });

  it("cancels at period end, or now (then the tenant is suspended at once)", async () => {
    const tenant = await registerTenant();
    const plan = await platformPlan();
    await subscribed(tenant.owner.access, plan.id);
    const later = await call(SUBSCRIPTION, {
      token: tenant.owner.access,
      method: "DELETE",
      body: { at_period_end: true },
    });
    expect(later.body).toMatchObject({
      status: "active",
      cancel_at_period_end: true,
      tenant_status: "active",
    });
    const now = await call(SUBSCRIPTION, {
      token: tenant.owner.access,
      method: "DELETE",
      body: { at_period_end: false },
    });
    expect(now.body).toMatchObject({
      status: "cancelled",
      tenant_status: "suspended",
      suspended_reason: "subscription_cancelled",
    });
    // A suspended tenant's owner can fix billing by subscribing again.
    const again = await call(SUBSCRIPTION, {
      token: tenant.owner.access,
      body: { plan_id: plan.id, payment_method_id: "pm_card_visa" },
    });
    expect(again.status).toBe(201);
    expect(again.body).toMatchObject({ status: "active", tenant_status: "active", suspended_reason: null });
  });

  it("answers a declined card with 402 payment_failed and Stripe's reason, and stores no subscription", async () => {
    const tenant = await registerTenant();
    const plan = await platformPlan();
    const res = await call(SUBSCRIPTION, {
      token: tenant.owner.access,
      body: { plan_id: plan.id, payment_method_id: "pm_card_chargeDeclined" },
    });
    expectError(res, 402, "payment_failed");
    expect(res.body.message).toMatch(/declined/i);
    expect((await call(SUBSCRIPTION, { token: tenant.owner.access })).body).toMatchObject({
      status: "none",
      stripe_subscription_id: null,
    });
  });

  it("is for owners; every role reads it; unknown plans are 404", async () => {
    const team = await registerTeam();
    expectError(
      await call(SUBSCRIPTION, {
        token: team.tokens.admin,
        body: { plan_id: "x", payment_method_id: "pm_card_visa" },
      }),
      403,
      "forbidden",
    );
    expect((await call(SUBSCRIPTION, { token: team.tokens.billing })).body).toMatchObject({
      status: "none",
      tier: "free",
    });
    expectError(
      await call(SUBSCRIPTION, {
        token: team.tokens.owner,
        body: { plan_id: "no-such-plan", payment_method_id: "pm_card_visa" },
      }),
      404,
      "not_found",
    );
    expectError(
      await call(SUBSCRIPTION, {
        token: team.tokens.owner,
        body: { plan_id: "x", payment_method_id: "card_123" },
      }),
      400,
      "validation_error",
    );
  });
});

describe("Connect events", () => {
  it("mirrors the tenant's own customers' events into tenant events and keeps the account status true", {
    timeout: 30_000,
  }, async () => {
    const tenant = await registerTenant();
    const account = await connectTenant(tenant.owner.access);
    const t = nowSeconds();
    const created = stripeEvent(
      "customer.subscription.created",
      subscriptionObject("sub_conn1", "cus_conn1", "active"),
      t,
      { account },
    );
    const restricted = stripeEvent("account.updated", await restrictAccount(account), t + 1, { account });
    for (const event of [created, restricted]) {
      expect(
        (await sendSigned(event, { path: "/webhooks/stripe/connect", secret: CONNECT_SECRET })).status,
      ).toBe(200);
    }
    const outcomes = await processed([created.id, restricted.id]);
    expect(outcomes[created.id]?.outcome).toBe("mirrored: subscription.created");
    const forwarded = await env.DB.prepare(
      "SELECT payload FROM webhook_events WHERE tenant_id = ? AND type = 'subscription.created'",
    )
      .bind(tenant.tenantId)
      .first<{ payload: string }>();
    expect(JSON.parse(forwarded?.payload ?? "{}").data.object).toMatchObject({
      object: "subscription",
      stripe_subscription_id: "sub_conn1",
      status: "active",
    });
    const status = await env.DB.prepare("SELECT stripe_connect_status FROM tenants WHERE id = ?")
      .bind(tenant.tenantId)
      .first();
    expect(status).toEqual({ stripe_connect_status: "restricted" });

    await deauthorizeAtStripe(account); // the owner disconnects the platform in their Dashboard
    const deauthorized = stripeEvent(
      "account.application.deauthorized",
      { id: "ca_x", object: "application" },
      t + 2,
      { account },
    );
    await sendSigned(deauthorized, { path: "/webhooks/stripe/connect", secret: CONNECT_SECRET });
    await processed([deauthorized.id]);
    const after = await env.DB.prepare(
      "SELECT stripe_connect_account_id, stripe_connect_status FROM tenants WHERE id = ?",
    )
      .bind(tenant.tenantId)
      .first();
    expect(after).toEqual({ stripe_connect_account_id: null, stripe_connect_status: "deauthorized" });
  });
});

describe("a suspended tenant's users", () => {
  it("read, fix billing and secure their account, but change nothing else until billing is fixed", async () => {
    const tenant = await registerTenant();
    const plan = await platformPlan();
    // A receiver that answers: a URL that does not resolve here makes workerd log its own
    // uncaught DNS errors when the tenant's events are delivered later in the file.
    const webhookUrl = hookUrl(unique("suspended"));
    await subscribed(tenant.owner.access, plan.id);
    const cancelled = await call(SUBSCRIPTION, {
      token: tenant.owner.access,
      method: "DELETE",
      body: { at_period_end: false },
    });
    expect(cancelled.body.tenant_status).toBe("suspended");

    expect((await call("/api/v1/auth/tenants/details/", { token: tenant.owner.access })).body).toMatchObject({
      status: "suspended",
      subscription: { status: "cancelled", plan_id: plan.id },
      usage: { users: 1, plans: 0, webhook_endpoints: 0 },
    });
    expectError(
      await call("/api/v1/auth/tenants/webhooks/config/", {
        token: tenant.owner.access,
        body: { webhook_url: webhookUrl },
      }),
      402,
      "tenant_suspended",
    );
    const rotated = await call("/api/v1/auth/tenants/api-keys/regenerate/", {
      token: tenant.owner.access,
      body: { key_type: "test", confirm: true },
    });
    expect(rotated.status).toBe(200);
    const fixed = await call(SUBSCRIPTION, {
      token: tenant.owner.access,
      body: { plan_id: plan.id, payment_method_id: "pm_card_visa" },
    });
    expect(fixed.body.tenant_status).toBe("active");
    const saved = await call("/api/v1/auth/tenants/webhooks/config/", {
      token: tenant.owner.access,
      body: { webhook_url: webhookUrl },
    });
    expect(saved.status).toBe(200);
  });
});

describe("platform plan limits changed by the operator", () => {
  it("apply to the plan's subscribers at once, API-key rate limits included", async () => {
    const tenant = await registerTenant();
    const plan = await platformPlan("starter", { api_requests_per_minute: 600 });
    await subscribed(tenant.owner.access, plan.id);
    const keys = await call("/api/v1/auth/tenants/api-keys/regenerate/", {
      token: tenant.owner.access,
      body: { key_type: "test", confirm: true },
    });
    const verify = () =>
      call("/api/v1/auth/tenants/verify/", { headers: { "X-API-Key": keys.body.keys.test_secret } });
    expect((await verify()).headers.get("RateLimit-Limit")).toBe("600");

    const patched = await call(`/api/v1/admin/plans/${plan.id}/`, {
      method: "PATCH",
      headers: { Authorization: "Bearer test-platform-admin-token" },
      body: { limits: { api_requests_per_minute: 1200, users: 50 } },
    });
    expect(patched.status).toBe(200);
    const details = await call("/api/v1/auth/tenants/details/", { token: tenant.owner.access });
    expect(details.body.usage_limits).toMatchObject({ api_requests_per_minute: 1200, users: 50 });
    expect((await verify()).headers.get("RateLimit-Limit")).toBe("1200");
  });
});

describe("subscribing twice at once", () => {
  const liveAtStripe = async (customer: string) => {
    const list = (await stripeObject(`/v1/subscriptions?customer=${customer}&status=all`)) as {
      data: { id: string; status: string }[];
    };
    return list.data.filter((sub) => !["canceled", "incomplete_expired"].includes(sub.status));
  };

  it("one request (of two, different plans) subscribes; the other is 409 and changes nothing", async () => {
    const tenant = await registerTenant();
    const plans = await Promise.all([platformPlan("starter"), platformPlan("pro")]);
    // Stripe answers the creates slowly, so the two requests are sure to overlap.
    await failNext({
      method: "POST",
      path: "/v1/subscriptions",
      idempotency_key_prefix: `tenant-subscription:${tenant.tenantId}:`,
      delay_ms: 300,
      times: 2,
    });
    const answers = await Promise.all(
      plans.map((plan) =>
        call(SUBSCRIPTION, {
          token: tenant.owner.access,
          body: { plan_id: plan.id, payment_method_id: "pm_card_visa" },
        }),
      ),
    );
    expect(answers.map((res) => res.status).sort()).toEqual([201, 409]);
    const [won, lost] = answers[0]?.status === 201 ? answers : [answers[1], answers[0]];
    expectError(lost as never, 409, "conflict");
    const now = (await call(SUBSCRIPTION, { token: tenant.owner.access })).body;
    expect(now).toMatchObject({
      stripe_subscription_id: won?.body.stripe_subscription_id,
      plan: { id: won?.body.plan.id },
    });
    const live = await liveAtStripe(now.stripe_customer_id as string);
    expect(live.map((sub) => sub.id)).toEqual([now.stripe_subscription_id]);
  });

  it("a card Stripe declined at the create releases the claim: another card then subscribes", async () => {
    const tenant = await registerTenant();
    const plan = await platformPlan();
    const subscribe = (card: string) =>
      call(SUBSCRIPTION, { token: tenant.owner.access, body: { plan_id: plan.id, payment_method_id: card } });
    // Attached fine, declined when the subscription's first invoice is charged (Stripe keeps that
    // answer under the create's idempotency key).
    expectError(await subscribe("pm_card_chargeCustomerFail"), 402, "payment_failed");
    const again = await subscribe("pm_card_visa");
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    expect(await liveAtStripe(again.body.stripe_customer_id)).toHaveLength(1);
  });

  it("after a failed create, the next attempt sends the same idempotency key only while Stripe cannot tell what it made", async () => {
    const tenant = await registerTenant();
    const plan = await platformPlan();
    const prefix = `tenant-subscription:${tenant.tenantId}:`;
    const body = { plan_id: plan.id, payment_method_id: "pm_card_visa" };
    const keysSent = async () =>
      new Set(
        (await stripeRequests({ path: "/v1/subscriptions" }))
          .map((request) => request.headers.idempotency_key)
          .filter((key) => key?.startsWith(prefix)),
      );
    // The create fails (5xx, retries included) and so does the list that would tell: unknown.
    await failNext({ method: "POST", path: "/v1/subscriptions", idempotency_key_prefix: prefix, times: 3 });
    await failNext({ method: "GET", path: "/v1/subscriptions", times: 3 });
    expectError(await call(SUBSCRIPTION, { token: tenant.owner.access, body }), 502, "stripe_error");
    // The create fails again, but Stripe lists nothing made with that key: a 5xx stays stored
    // under it at Stripe for 24 h, so the attempt after this one takes a new key.
    await failNext({ method: "POST", path: "/v1/subscriptions", idempotency_key_prefix: prefix, times: 3 });
    expectError(await call(SUBSCRIPTION, { token: tenant.owner.access, body }), 502, "stripe_error");
    expect((await keysSent()).size).toBe(1);
    const again = await call(SUBSCRIPTION, { token: tenant.owner.access, body });
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    expect((await keysSent()).size).toBe(2);
    expect(await liveAtStripe(again.body.stripe_customer_id)).toHaveLength(1);
  });
});

describe("billing events the API applies itself", () => {
  it("report the tenant's transition in the mode of the platform's Stripe key (live here)", async () => {
    const tenant = await registerTenant();
    const plan = await platformPlan("starter");
    const sub = await subscribed(tenant.owner.access, plan.id);
    const ended = toBillingEvent(
      stripeEvent(
        "customer.subscription.deleted",
        subscriptionObject(sub.stripe_subscription_id, sub.stripe_customer_id, "canceled"),
        nowSeconds() + 5,
      ),
    );
    if (!ended) throw new Error("not a billing event");
    const ctx = testContext();
    const live = testContext({ config: { ...ctx.config, stripe: { ...ctx.config.stripe, livemode: true } } });
    await applyBillingEvents(live, tenant.tenantId, [ended]);
    const rows = await env.DB.prepare(
      "SELECT payload FROM webhook_events WHERE tenant_id = ? AND type = 'tenant.suspended'",
    )
      .bind(tenant.tenantId)
      .all<{ payload: string }>();
    expect(rows.results.map((row) => JSON.parse(row.payload).livemode)).toEqual([true]);
  });
});
