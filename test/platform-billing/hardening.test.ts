import { describe, expect, it } from "vitest";
import { call, expectError, registerTenant } from "../harness";
import { doubleUrl, stripeObject, stripeRequests } from "../stripe-double";
import { invoice, platformPlan, processed, sendSigned, stripeEvent, subscribed } from "./helpers";

const SUBSCRIPTION = "/api/v1/auth/tenants/subscription/";

/** The subscription creates Stripe was asked for on behalf of this tenant. */
async function subscriptionCreates(tenantId: string) {
  const requests = await stripeRequests({ path: "/v1/subscriptions" });
  return requests.filter(
    (r) => r.method === "POST" && r.headers.idempotency_key?.startsWith(`tenant-subscription:${tenantId}:`),
  );
}

describe("the trial of a platform subscription", () => {
  it("comes from the platform plan, never from the request, and only once per tenant", async () => {
    const tenant = await registerTenant();
    const plan = await platformPlan("starter", {}, { trialDays: 14 });
    const asked = await call(SUBSCRIPTION, {
      token: tenant.owner.access,
      body: { plan_id: plan.id, payment_method_id: "pm_card_visa", trial_days: 730 },
    });
    expect(expectError(asked, 400, "validation_error").details).toEqual([
      { field: "trial_days", message: expect.stringContaining("platform plan") },
    ]);
    expect(await subscriptionCreates(tenant.tenantId)).toEqual([]);

    const first = await subscribed(tenant.owner.access, plan.id);
    expect(first.status).toBe("trialing");
    const [created] = await subscriptionCreates(tenant.tenantId);
    expect(created?.params.trial_period_days).toBe("14");

    const cancelled = await call(SUBSCRIPTION, {
      token: tenant.owner.access,
      method: "DELETE",
      body: { at_period_end: false },
    });
    expect(cancelled.body.status).toBe("cancelled");
    const again = await subscribed(tenant.owner.access, plan.id);
    expect(again.status).toBe("active");
    const creates = await subscriptionCreates(tenant.tenantId);
    expect(creates).toHaveLength(2);
    expect(creates[1]?.params.trial_period_days).toBeUndefined();
  });
});

describe("changes made through our API are ordered on Stripe's clock", () => {
  it("an invoice failing in the same second as the subscription's creation still applies, whatever our clock says", async () => {
    const tenant = await registerTenant();
    const plan = await platformPlan();
    // Stripe's clock two minutes behind ours, for this tenant's subscription calls only.
    await fetch(`${doubleUrl()}/__double/clock`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        offset_seconds: -120,
        idempotency_key_prefix: `tenant-subscription:${tenant.tenantId}:`,
      }),
    });
    const sub = await subscribed(tenant.owner.access, plan.id);
    const stripeSubscription = await stripeObject(`/v1/subscriptions/${sub.stripe_subscription_id}`);
    const stripeCreated = stripeSubscription.created as number;
    expect(stripeCreated).toBeLessThan(Math.floor(Date.now() / 1000) - 100);

    const failed = stripeEvent(
      "invoice.payment_failed",
      invoice(sub.stripe_subscription_id, sub.stripe_customer_id, 1),
      stripeCreated,
    );
    await sendSigned(failed);
    expect((await processed([failed.id]))[failed.id]?.status).toBe("processed");
    expect((await call(SUBSCRIPTION, { token: tenant.owner.access })).body.status).toBe("past_due");
  });
});
