import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  applyAll,
  type BillingEvent,
  INITIAL_BILLING_STATE,
} from "../../src/modules/platform-billing/suspension";
import { call, expectError, registerTenant } from "../harness";
import {
  CONNECT_SECRET,
  invoice,
  nowSeconds,
  PLATFORM_SECRET,
  platformPlan,
  processed,
  sendSigned,
  stripeEvent,
  subscribed,
  subscriptionObject,
} from "./helpers";

const SUBSCRIPTION = "/api/v1/auth/tenants/subscription/";

async function subscribedTenant() {
  const tenant = await registerTenant();
  const register = await call("/api/v1/auth/tenants/api-keys/regenerate/", {
    token: tenant.owner.access,
    body: { key_type: "test", confirm: true },
  });
  const plan = await platformPlan("starter");
  const sub = await subscribed(tenant.owner.access, plan.id);
  return { tenant, key: register.body.keys.test_secret as string, sub, plan };
}

const verify = (key: string) => call("/api/v1/auth/tenants/verify/", { headers: { "X-API-Key": key } });
const state = async (token: string) => (await call(SUBSCRIPTION, { token })).body;

async function audits(tenantId: string, action: string) {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM audit_log WHERE tenant_id = ? AND action = ?")
    .bind(tenantId, action)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

async function tenantEvents(tenantId: string, type: string) {
  const row = await env.DB.prepare(
    "SELECT count(*) AS n FROM webhook_events WHERE tenant_id = ? AND type = ?",
  )
    .bind(tenantId, type)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

describe("the suspension lifecycle from Stripe's events", () => {
  it("created → payment failed ×3 → suspended → payment succeeded → reactivated → deleted → suspended", {
    timeout: 30_000,
  }, async () => {
    const { tenant, key, sub } = await subscribedTenant();
    expect(sub).toMatchObject({ status: "active", tier: "starter" });
    expect((await verify(key)).status).toBe(200);
    const t0 = nowSeconds() + 10;
    const customer = sub.stripe_customer_id;
    const subscription = sub.stripe_subscription_id;

    for (const attempt of [1, 2]) {
      const event = stripeEvent(
        "invoice.payment_failed",
        invoice(subscription, customer, attempt),
        t0 + attempt,
      );
      expect((await sendSigned(event)).body).toEqual({ received: true, duplicate: false });
      await processed([event.id]);
    }
    expect(await state(tenant.owner.access)).toMatchObject({ status: "past_due", tenant_status: "active" });
    expect((await verify(key)).status).toBe(200);
    expect(await tenantEvents(tenant.tenantId, "subscription.past_due")).toBe(1);

    const third = stripeEvent("invoice.payment_failed", invoice(subscription, customer, 3), t0 + 3);
    await sendSigned(third);
    await processed([third.id]);
    expect(await state(tenant.owner.access)).toMatchObject({
      tenant_status: "suspended",
      suspended_reason: "payment_failed",
    });
    expectError(await verify(key), 402, "tenant_suspended");
    expect(await tenantEvents(tenant.tenantId, "tenant.suspended")).toBe(1);
    // Users still log in and read while suspended.
    expect((await call("/api/v1/auth/tenants/me/", { token: tenant.owner.access })).status).toBe(200);

    const paid = stripeEvent(
      "invoice.payment_succeeded",
      invoice(subscription, customer, 4, { amount_paid: 2900 }),
      t0 + 4,
    );
    await sendSigned(paid);
    await processed([paid.id]);
    expect(await state(tenant.owner.access)).toMatchObject({
      status: "active",
      tenant_status: "active",
      suspended_reason: null,
    });
    expect((await verify(key)).status).toBe(200);
    expect(await tenantEvents(tenant.tenantId, "tenant.reactivated")).toBe(1);

    const deleted = stripeEvent(
      "customer.subscription.deleted",
      subscriptionObject(subscription, customer, "canceled"),
      t0 + 5,
    );
    await sendSigned(deleted);
    await processed([deleted.id]);
    expect(await state(tenant.owner.access)).toMatchObject({
      status: "cancelled",
      tenant_status: "suspended",
      suspended_reason: "subscription_cancelled",
    });
    expectError(await verify(key), 402, "tenant_suspended");
    expect(await audits(tenant.tenantId, "tenant.suspended")).toBe(2);
  });

  it("a payment and the final failure of the same second: the payment stands, whichever arrives last", {
    timeout: 30_000,
  }, async () => {
    const { tenant, key, sub } = await subscribedTenant();
    const at = nowSeconds() + 10;
    const customer = sub.stripe_customer_id;
    const subscription = sub.stripe_subscription_id;
    const unpaid = invoice(subscription, customer, 3);
    // Stripe stamps both with the same second; the payment is delivered (and applied) first.
    const paid = stripeEvent(
      "invoice.payment_succeeded",
      { ...unpaid, attempt_count: 3, amount_paid: 2900, status: "paid" },
      at,
    );
    const failed = stripeEvent("invoice.payment_failed", { ...unpaid, status: "open" }, at);
    await sendSigned(paid);
    await processed([paid.id]);
    await sendSigned(failed);
    expect((await processed([failed.id]))[failed.id]).toEqual({
      status: "processed",
      outcome: "not applied: stale",
    });
    expect(await state(tenant.owner.access)).toMatchObject({ status: "active", tenant_status: "active" });
    expect((await verify(key)).status).toBe(200);
    expect(await tenantEvents(tenant.tenantId, "tenant.suspended")).toBe(0);
  });

  it("the same event 5 times is recorded once and makes one transition", async () => {
    const { tenant, sub } = await subscribedTenant();
    const event = stripeEvent(
      "customer.subscription.deleted",
      subscriptionObject(sub.stripe_subscription_id, sub.stripe_customer_id, "canceled"),
      nowSeconds() + 10,
    );
    const answers = await Promise.all(Array.from({ length: 5 }, () => sendSigned(event)));
    expect(answers.every((res) => res.status === 200)).toBe(true);
    expect(answers.filter((res) => res.body.duplicate === false)).toHaveLength(1);
    await processed([event.id]);
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM stripe_events WHERE id = ?")
      .bind(event.id)
      .first<{ n: number }>();
    expect(rows?.n).toBe(1);
    expect(await audits(tenant.tenantId, "tenant.suspended")).toBe(1);
    expect(await tenantEvents(tenant.tenantId, "tenant.suspended")).toBe(1);
  });

  it("an update that changes nothing we store leaves no audit record", async () => {
    const { tenant, sub, plan } = await subscribedTenant();
    // As Stripe sends it: the item names the price (which tenant_subscriptions does not store).
    const object = subscriptionObject(sub.stripe_subscription_id, sub.stripe_customer_id, "active", {
      items: {
        object: "list",
        data: [
          {
            id: "si_x",
            current_period_start: nowSeconds(),
            current_period_end: nowSeconds() + 2_592_000,
            price: { id: plan.priceId },
          },
        ],
      },
    });
    const first = stripeEvent("customer.subscription.updated", object, nowSeconds() + 1);
    await sendSigned(first);
    await processed([first.id]);
    const before = await audits(tenant.tenantId, "billing.subscription_synced");
    // Only what we do not mirror changed (its metadata, say): the same snapshot, a second later.
    const second = stripeEvent("customer.subscription.updated", object, nowSeconds() + 2);
    await sendSigned(second);
    await processed([second.id]);
    // The run still moves the snapshot watermark (so an older event stays stale), but audits nothing.
    expect(await audits(tenant.tenantId, "billing.subscription_synced")).toBe(before);
  });
});

describe("order never matters", () => {
  it("an `updated` before its `created` keeps the newer state", async () => {
    const { tenant, sub } = await subscribedTenant();
    const t = nowSeconds() + 10;
    const updated = stripeEvent(
      "customer.subscription.updated",
      subscriptionObject(sub.stripe_subscription_id, sub.stripe_customer_id, "past_due"),
      t + 2,
    );
    const created = stripeEvent(
      "customer.subscription.created",
      subscriptionObject(sub.stripe_subscription_id, sub.stripe_customer_id, "active"),
      t + 1,
    );
    await sendSigned(updated);
    await processed([updated.id]);
    await sendSigned(created);
    const outcomes = await processed([created.id]);
    expect(outcomes[created.id]?.outcome).toMatch(/stale/);
    expect(await state(tenant.owner.access)).toMatchObject({ status: "past_due" });
  });

  it("an old payment failure after a newer success changes nothing", async () => {
    const { tenant, key, sub } = await subscribedTenant();
    const t = nowSeconds() + 10;
    const success = stripeEvent(
      "invoice.payment_succeeded",
      invoice(sub.stripe_subscription_id, sub.stripe_customer_id, 1),
      t + 5,
    );
    const oldFailure = stripeEvent(
      "invoice.payment_failed",
      invoice(sub.stripe_subscription_id, sub.stripe_customer_id, 3),
      t + 1,
    );
    await sendSigned(success);
    await processed([success.id]);
    await sendSigned(oldFailure);
    await processed([oldFailure.id]);
    expect(await state(tenant.owner.access)).toMatchObject({ status: "active", tenant_status: "active" });
    expect((await verify(key)).status).toBe(200);
  });

  it("20 concurrent events for one tenant end in the state of applying them one by one", {
    timeout: 30_000,
  }, async () => {
    const { tenant, sub } = await subscribedTenant();
    const t = nowSeconds() + 10;
    const kinds = [
      "failed",
      "failed",
      "failed",
      "paid",
      "updated",
      "failed",
      "paid",
      "failed",
      "failed",
      "failed",
    ];
    const events = Array.from({ length: 20 }, (_, i) => {
      const kind = kinds[i % kinds.length];
      const created = t + i;
      if (kind === "paid")
        return stripeEvent(
          "invoice.payment_succeeded",
          invoice(sub.stripe_subscription_id, sub.stripe_customer_id, 1),
          created,
        );
      if (kind === "updated")
        return stripeEvent(
          "customer.subscription.updated",
          subscriptionObject(sub.stripe_subscription_id, sub.stripe_customer_id, "active"),
          created,
        );
      return stripeEvent(
        "invoice.payment_failed",
        invoice(sub.stripe_subscription_id, sub.stripe_customer_id, (i % 4) + 1),
        created,
      );
    });
    const answers = await Promise.all(events.map((event) => sendSigned(event)));
    expect(answers.every((res) => res.status === 200)).toBe(true);
    await processed(
      events.map((event) => event.id),
      20_000,
    );

    const start = {
      ...INITIAL_BILLING_STATE,
      subscriptionStatus: "active" as const,
      stripeSubscriptionId: sub.stripe_subscription_id,
    };
    const oneByOne = applyAll(
      start,
      events.map((event) => {
        const object = event.data.object as Record<string, unknown>;
        if (event.type === "customer.subscription.updated") {
          return {
            type: event.type,
            created: event.created,
            subscription: {
              id: sub.stripe_subscription_id,
              status: "active",
              currentPeriodStart: null,
              currentPeriodEnd: null,
              trialEnd: null,
              cancelAtPeriodEnd: false,
              priceId: null,
            },
          };
        }
        return event.type === "invoice.payment_succeeded"
          ? {
              type: event.type,
              created: event.created,
              invoiceId: object.id as string,
              subscriptionId: sub.stripe_subscription_id,
              amountPaid: 0,
              currency: "usd",
            }
          : {
              type: "invoice.payment_failed",
              created: event.created,
              invoiceId: object.id as string,
              subscriptionId: sub.stripe_subscription_id,
              attemptCount: object.attempt_count as number,
              amountDue: 0,
              currency: "usd",
            };
      }) as BillingEvent[],
    ).state;
    const final = await state(tenant.owner.access);
    expect({ status: final.status, tenant_status: final.tenant_status }).toEqual({
      status: oneByOne.subscriptionStatus,
      tenant_status: oneByOne.tenantStatus,
    });
  });
});

describe("a plan change made at Stripe", () => {
  it("moves the tenant to the plan of the price its subscription now has: tier, limits, price", {
    timeout: 30_000,
  }, async () => {
    const { tenant, key, sub, plan } = await subscribedTenant();
    const pro = await platformPlan("pro", { api_requests_per_minute: 6000 });
    // The operator (Stripe's dashboard) or the customer portal switched the subscription's price.
    const switched = subscriptionObject(sub.stripe_subscription_id, sub.stripe_customer_id, "active");
    const item = switched.items.data[0] as Record<string, unknown>;
    item.price = { id: pro.priceId, unit_amount: 2900, currency: "usd", recurring: { interval: "month" } };
    const event = stripeEvent("customer.subscription.updated", switched, nowSeconds() + 10);
    await sendSigned(event);
    await processed([event.id]);
    const after = await state(tenant.owner.access);
    expect(after).toMatchObject({ tier: "pro", plan: { id: pro.id }, status: "active" });
    expect(after.limits.api_requests_per_minute).toBe(6000);
    expect((await verify(key)).headers.get("RateLimit-Limit")).toBe("6000");
    expect(plan.id).not.toBe(pro.id);
  });
});

describe("a connected account's event on the platform endpoint", () => {
  it("is not the platform's: ignored, even when its object names the tenant in metadata", {
    timeout: 30_000,
  }, async () => {
    const { tenant, key, sub } = await subscribedTenant();
    // A subscription of one of the tenant's own customers (made through our API, so it carries
    // metadata.tenant_id), in an event of the tenant's connected account (`account`).
    const own = (status: string) =>
      subscriptionObject("sub_of_a_tenant_customer", "cus_of_a_tenant_customer", status, {
        metadata: { tenant_id: tenant.tenantId },
      });
    const at = nowSeconds() + 10;
    const events = [
      stripeEvent("customer.subscription.created", own("active"), at, { account: "acct_tenant_own" }),
      stripeEvent("customer.subscription.deleted", own("canceled"), at + 1, { account: "acct_tenant_own" }),
    ];
    for (const event of events) await sendSigned(event);
    const rows = await processed(events.map((event) => event.id));
    expect(Object.values(rows)).toEqual([
      { status: "ignored", outcome: expect.stringContaining("connected account's event") },
      { status: "ignored", outcome: expect.stringContaining("connected account's event") },
    ]);
    expect(await state(tenant.owner.access)).toMatchObject({
      status: "active",
      tenant_status: "active",
      stripe_subscription_id: sub.stripe_subscription_id,
    });
    expect((await verify(key)).status).toBe(200);
  });
});

describe("signature checks", () => {
  it.each([
    ["a forged signature", { secret: "whsec_not_ours" }],
    ["a stale timestamp", { timestamp: nowSeconds() - 600 }],
    [
      "the platform secret on the Connect endpoint",
      { path: "/webhooks/stripe/connect", secret: PLATFORM_SECRET },
    ],
    ["the Connect secret on the platform endpoint", { secret: CONNECT_SECRET }],
  ])("refuses %s with 400 and records nothing", async (_label, options) => {
    const event = stripeEvent(
      "customer.updated",
      { id: "cus_x", object: "customer", metadata: {} },
      nowSeconds(),
    );
    const res = await sendSigned(event, options);
    expectError(res, 400, "invalid_signature");
    const row = await env.DB.prepare("SELECT id FROM stripe_events WHERE id = ?").bind(event.id).first();
    expect(row).toBeNull();
  });

  it("refuses a missing signature and an unparsable body", async () => {
    expectError(
      await call("/webhooks/stripe", {
        method: "POST",
        rawBody: "{}",
        headers: { "Content-Type": "application/json" },
      }),
      400,
      "invalid_signature",
    );
    expectError(await sendSigned({ not: "an event" } as Record<string, unknown>), 400, "validation_error");
  });

  it("accepts the old platform's paths as aliases, and records unknown types", {
    timeout: 30_000,
  }, async () => {
    for (const path of [
      "/webhooks/stripe/subscription/",
      "/webhooks/stripe/payment",
      "/api/webhooks/stripe",
    ]) {
      const event = stripeEvent("radar.early_fraud_warning.created", { id: "issfr_x" }, nowSeconds());
      const res = await sendSigned(event, { path });
      expect(res.body).toEqual({ received: true, duplicate: false });
      const outcome = await processed([event.id]);
      expect(outcome[event.id]?.status).toBe("ignored");
    }
  });
});
