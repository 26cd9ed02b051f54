// A mirror run reads the tenant's rows once, up front, and writes at its end: an API change of the
// same subscription committed in between is newer than what the run holds.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { processStripeEvents } from "../../src/modules/platform-billing/billing-runs";
import {
  asKey,
  type BillingTenant,
  billingTenant,
  makePlan,
  relayConnectEvents,
  tenantEvents,
} from "../billing";
import { testContext } from "../context";
import { payingCustomer } from "../invoicing";
import { heldMirrorRun, recordReceivedConnectEvents } from "../platform-billing/helpers";
import { failNext, stripeObject } from "../stripe-double";

const SUBS = "/api/v1/auth/subscriptions/";
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A tenant of its own with an active subscription of a paying customer, its events mirrored. */
async function ownActiveSub() {
  const own = await billingTenant();
  const plan = await makePlan(own, { name: "Seat", price_cents: 1500, trial_days: 0 });
  const customer = await payingCustomer(own);
  const res = await asKey(own.keys.test_secret, SUBS, {
    body: { customer: customer.id, plan: plan.id, payment_behavior: "allow_incomplete" },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  expect(res.body.status).toBe("active");
  await relayConnectEvents(own.account);
  return { own, customer, sub: res.body as { id: string; stripe_subscription_id: string } };
}

/** A customer.subscription.updated of the subscription as Stripe holds it now, of `created`. */
async function updatedAtStripe(own: BillingTenant, stripeId: string, created: number) {
  return {
    id: `evt_sub_${Date.now()}_${Math.random().toString(36).slice(2, 8)}`,
    object: "event",
    type: "customer.subscription.updated",
    account: own.account,
    created,
    livemode: false,
    data: { object: await stripeObject(`/v1/subscriptions/${stripeId}`, own.account) },
  };
}

const cancelNow = (own: BillingTenant, id: string) =>
  asKey(own.keys.test_secret, `${SUBS}${id}/cancel/`, { body: { at_period_end: false } });

describe("a mirror run and an API change of one subscription", () => {
  it("a run that read the subscription before the API cancelled it does not make it active again", {
    timeout: 30_000,
  }, async () => {
    const { own, customer, sub } = await ownActiveSub();
    await pause(1_100);
    const event = await updatedAtStripe(own, sub.stripe_subscription_id, Math.floor(Date.now() / 1000));
    const run = await heldMirrorRun(own, customer.id, event);
    // A second later on Stripe's clock than the run's snapshot.
    await pause(1_100);
    const canceled = await cancelNow(own, sub.id);
    expect(canceled.status, JSON.stringify(canceled.body)).toBe(200);
    expect(canceled.body.status).toBe("canceled");
    expect(await run.committed).toEqual({ retry: [] });
    const got = await asKey(own.keys.test_secret, `${SUBS}${sub.id}/`);
    expect(got.body).toMatchObject({ status: "canceled" });
    // Stripe's own events of the cancellation change nothing more, nor tell it again.
    await relayConnectEvents(own.account);
    expect((await asKey(own.keys.test_secret, `${SUBS}${sub.id}/`)).body).toMatchObject({
      status: "canceled",
    });
    const told = (await tenantEvents(own.tenantId, "subscription.canceled")).filter(
      (told) => told.data.object.id === sub.id,
    );
    expect(told).toHaveLength(1);
  });

  it("a run's snapshot of the same second as the API's cancel does not make it active again", {
    timeout: 30_000,
  }, async () => {
    const { own, customer, sub } = await ownActiveSub();
    await pause(1_100);
    // At the start of a second: the run's snapshot and the API's cancel are of that second.
    await pause(1000 - (Date.now() % 1000) + 20);
    const event = await updatedAtStripe(own, sub.stripe_subscription_id, Math.floor(Date.now() / 1000));
    const run = await heldMirrorRun(own, customer.id, event, { settleMs: 150 });
    const canceled = await cancelNow(own, sub.id);
    expect(canceled.body).toMatchObject({ status: "canceled" });
    expect(await run.committed).toEqual({ retry: [] });
    const got = await asKey(own.keys.test_secret, `${SUBS}${sub.id}/`);
    expect(got.body).toMatchObject({ status: "canceled" });
  });

  it("a run that read the subscription back from Stripe after the API changed it does not report the change again", {
    timeout: 30_000,
  }, async () => {
    const { own, sub } = await ownActiveSub();
    const stored = await env.DB.prepare(
      "SELECT last_event_created AS stamp FROM customer_subscriptions WHERE id = ?",
    )
      .bind(sub.id)
      .first<{ stamp: number }>();
    // A snapshot of the row's second that says something else: the run reads the subscription at
    // Stripe, which answers late, after the API's change.
    const tie = await updatedAtStripe(own, sub.stripe_subscription_id, stored?.stamp ?? 0);
    tie.data.object = { ...tie.data.object, metadata: { note: "not the row's" } };
    await failNext({
      method: "GET",
      path: `/v1/subscriptions/${sub.stripe_subscription_id}`,
      account: own.account,
      delay_ms: 4_000,
    });
    await recordReceivedConnectEvents(own.account, [tie]);
    const run = processStripeEvents(testContext(), own.tenantId, [tie.id]);
    await pause(500);
    const changed = await asKey(own.keys.test_secret, `${SUBS}${sub.id}/`, {
      method: "PATCH",
      body: { quantity: 2, proration_behavior: "none" },
    });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect(await run).toEqual({ retry: [] });
    expect((await asKey(own.keys.test_secret, `${SUBS}${sub.id}/`)).body).toMatchObject({ quantity: 2 });
    const told = (await tenantEvents(own.tenantId, "subscription.updated")).filter(
      (event) => event.data.object.id === sub.id,
    );
    expect(told.map((event) => event.data.object.quantity)).toEqual([2]);
  });

  it("an API change answered in the second the mirror stored the cancellation does not make it active again", {
    timeout: 30_000,
  }, async () => {
    const { own, sub } = await ownActiveSub();
    await pause(1_100);
    // At the start of a second: Stripe answers the change in it, and the mirror stores a
    // cancellation of the same second (the tenant's dashboard) while that answer is on its way.
    await pause(1000 - (Date.now() % 1000) + 20);
    const second = Math.floor(Date.now() / 1000);
    await failNext({
      method: "POST",
      path: `/v1/subscriptions/${sub.stripe_subscription_id}`,
      account: own.account,
      delay_ms: 600,
    });
    const change = asKey(own.keys.test_secret, `${SUBS}${sub.id}/`, {
      method: "PATCH",
      body: { quantity: 2, proration_behavior: "none" },
    });
    await pause(250);
    await env.DB.prepare(
      "UPDATE customer_subscriptions SET status = 'canceled', canceled_at = ?, ended_at = ?, last_event_created = ? WHERE id = ?",
    )
      .bind(second * 1000, second * 1000, second, sub.id)
      .run();
    const changed = await change;
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect(changed.body).toMatchObject({ status: "canceled" });
    expect((await asKey(own.keys.test_secret, `${SUBS}${sub.id}/`)).body).toMatchObject({
      status: "canceled",
    });
    const told = (await tenantEvents(own.tenantId, "subscription.updated")).filter(
      (event) => event.data.object.id === sub.id,
    );
    expect(told).toEqual([]);
  });
});
