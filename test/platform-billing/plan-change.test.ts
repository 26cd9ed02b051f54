import { describe, expect, it } from "vitest";
import { isUpgrade } from "../../src/modules/platform-billing/plan-change";
import { call, expectError, registerTenant } from "../harness";
import { stripeObject } from "../stripe-double";
import { platformPlan, relayPlatformEvents, stripePost, subscribed } from "./helpers";

const SUBSCRIPTION = "/api/v1/auth/tenants/subscription/";

type Invoice = { id: string; status: string; billing_reason: string; amount_paid: number };

async function invoicesOf(subscriptionId: string): Promise<Invoice[]> {
  return (await stripeObject(`/v1/invoices?subscription=${subscriptionId}&limit=100`)).data as Invoice[];
}

const priceOf = async (subscriptionId: string) => {
  const subscription = await stripeObject(`/v1/subscriptions/${subscriptionId}`);
  const items = subscription.items as { data: { price: { id: string } }[] };
  return {
    price: items.data[0]?.price.id,
    pending: subscription.pending_update,
    metadata: subscription.metadata,
  };
};

/** A starter tenant, a dearer pro plan and a cheaper basic one. */
async function starterTenant() {
  const tenant = await registerTenant();
  const starter = await platformPlan("starter", {}, { priceCents: 2900 });
  const pro = await platformPlan("pro", { api_requests_per_minute: 6000 }, { priceCents: 9900 });
  const basic = await platformPlan("basic", { api_requests_per_minute: 120 }, { priceCents: 900 });
  const sub = await subscribed(tenant.owner.access, starter.id);
  return { tenant, starter, pro, basic, sub };
}

const change = (token: string, planId: string) =>
  call(SUBSCRIPTION, { token, method: "PATCH", body: { plan_id: planId } });

describe("isUpgrade", () => {
  it("compares the price a month, whatever each is billed by", () => {
    expect(isUpgrade({ cents: 2900, interval: "month" }, { cents: 9900, interval: "month" })).toBe(true);
    expect(isUpgrade({ cents: 9900, interval: "month" }, { cents: 2900, interval: "month" })).toBe(false);
    expect(isUpgrade({ cents: 2900, interval: "month" }, { cents: 2900, interval: "month" })).toBe(false);
    // A year at ten months' price is cheaper a month: not an upgrade, though more is billed at once.
    expect(isUpgrade({ cents: 2900, interval: "month" }, { cents: 29000, interval: "year" })).toBe(false);
    expect(isUpgrade({ cents: 29000, interval: "year" }, { cents: 2900, interval: "month" })).toBe(true);
  });
});

describe("changing the platform plan", () => {
  it("an upgrade is invoiced and paid at once, then applies: tier, limits, price at Stripe", async () => {
    const { tenant, pro, sub } = await starterTenant();
    const changed = await change(tenant.owner.access, pro.id);
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect(changed.body).toMatchObject({
      tier: "pro",
      plan: { id: pro.id },
      limits: { api_requests_per_minute: 6000 },
    });
    const upgradeInvoices = (await invoicesOf(sub.stripe_subscription_id)).filter(
      (invoice) => invoice.billing_reason === "subscription_update",
    );
    expect(upgradeInvoices).toHaveLength(1);
    expect(upgradeInvoices[0]).toMatchObject({ status: "paid" });
    expect(upgradeInvoices[0]?.amount_paid).toBeGreaterThan(0);
    expect(await priceOf(sub.stripe_subscription_id)).toMatchObject({
      price: pro.priceId,
      pending: null,
      metadata: { platform_plan_id: pro.id },
    });
  });

  it("an upgrade whose card is declined changes nothing (402); paying its invoice applies it", {
    timeout: 30_000,
  }, async () => {
    const { tenant, starter, pro, sub } = await starterTenant();
    // The card on file starts failing: attached and made the subscription's, as a later card would be.
    const failing = await stripePost("/v1/payment_methods/pm_card_chargeCustomerFail/attach", {
      customer: sub.stripe_customer_id,
    });
    await stripePost(`/v1/subscriptions/${sub.stripe_subscription_id}`, {
      default_payment_method: failing.id,
    });

    const refused = expectError(await change(tenant.owner.access, pro.id), 402, "payment_failed");
    expect(refused).toMatchObject({
      invoice: expect.stringMatching(/^in_/),
      pending_update_expires_at: expect.any(String),
    });
    const state = await call(SUBSCRIPTION, { token: tenant.owner.access });
    expect(state.body).toMatchObject({ tier: "starter", plan: { id: starter.id }, status: "active" });
    const atStripe = await priceOf(sub.stripe_subscription_id);
    expect(atStripe.price).toBe(starter.priceId);
    expect(atStripe.pending).not.toBeNull();

    const paid = await call(`${SUBSCRIPTION}pay/`, {
      token: tenant.owner.access,
      body: { payment_method_id: "pm_card_visa" },
    });
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    expect(paid.body).toMatchObject({
      tier: "pro",
      plan: { id: pro.id },
      limits: { api_requests_per_minute: 6000 },
    });
    expect((await priceOf(sub.stripe_subscription_id)).price).toBe(pro.priceId);
    // Stripe's own events of all this agree.
    await relayPlatformEvents(sub.stripe_customer_id);
    expect((await call(SUBSCRIPTION, { token: tenant.owner.access })).body).toMatchObject({
      tier: "pro",
      plan: { id: pro.id },
      status: "active",
      tenant_status: "active",
    });
  });

  it("a downgrade applies at once, credited on the next invoice: nothing is charged now", async () => {
    const { tenant, basic, sub } = await starterTenant();
    const before = (await invoicesOf(sub.stripe_subscription_id)).length;
    const changed = await change(tenant.owner.access, basic.id);
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect(changed.body).toMatchObject({ tier: "basic", plan: { id: basic.id } });
    expect(await invoicesOf(sub.stripe_subscription_id)).toHaveLength(before);
    expect(await priceOf(sub.stripe_subscription_id)).toMatchObject({ price: basic.priceId, pending: null });
  });
});
