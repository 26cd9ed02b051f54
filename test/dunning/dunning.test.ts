import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  asKey,
  type BillingTenant,
  billingTenant,
  makePlan,
  relayConnectEvents,
  shuffled,
  tenantEvents,
} from "../billing";
import { call, expectError, unique } from "../harness";
import { INVOICES, invoiceVerb } from "../invoicing";
import { CONNECT_SECRET, processed, sendSigned } from "../platform-billing/helpers";
import {
  advanceTestClock,
  createTestClock,
  type DoubleEvent,
  doubleEvents,
  doubleUrl,
  setRetrySchedule,
  stripeObject,
  stripeRequests,
} from "../stripe-double";

const DUNNING = "/api/v1/auth/tenants/dunning/";
const DAY = 86_400;

/**
 * A customer of the tenant living on a Stripe test clock (made at Stripe, as the tenant's own
 * integration would, and mirrored from its event), whose saved card declines every charge, on a
 * plan with a one-day trial: its first charge and every retry fail, on the clock's time.
 */
async function failingSubscription(tenant: BillingTenant) {
  const clock = await createTestClock(Math.floor(Date.now() / 1000), tenant.account);
  const email = `${unique("dunning")}@example.com`;
  const res = await fetch(`${doubleUrl()}/v1/customers`, {
    method: "POST",
    headers: {
      Authorization: "Bearer sk_test_integration",
      "Stripe-Account": tenant.account,
      "Content-Type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({
      email,
      test_clock: clock.id,
      "metadata[tenant_id]": tenant.tenantId,
    }).toString(),
  });
  const stripeCustomer = (await res.json()) as { id: string };
  // Stripe's own retries go on past our threshold and never end the subscription by themselves.
  await setRetrySchedule(
    { customer: stripeCustomer.id },
    { delays_days: [1, 1, 1, 1, 1, 1, 1], after: "past_due" },
  );
  await relayConnectEvents(tenant.account);
  const customer = (await asKey(tenant.keys.test_secret, `/api/v1/auth/customers/?email=${email}`)).body
    .data[0];
  const card = await asKey(
    tenant.keys.test_secret,
    `/api/v1/auth/customers/${customer.id}/payment-methods/`,
    {
      body: { payment_method: "pm_card_chargeCustomerFail", set_default: true },
    },
  );
  expect(card.status, JSON.stringify(card.body)).toBe(201);
  const plan = await makePlan(tenant, { name: unique("Dunning "), price_cents: 2000, trial_days: 1 });
  const sub = await asKey(tenant.keys.test_secret, "/api/v1/auth/subscriptions/", {
    body: { customer: customer.id, plan: plan.id },
  });
  expect(sub.status, JSON.stringify(sub.body)).toBe(201);
  expect(sub.body.status).toBe("trialing");
  /** Moves the clock to the next attempt (the trial's end, then a retry a day), relaying nothing. */
  const nextAttempt = () => advanceTestClock(clock.id, { seconds: DAY + 60 }, tenant.account);
  return { customer, subscription: sub.body as { id: string; stripe_subscription_id: string }, nextAttempt };
}

async function setPolicy(tenant: BillingTenant, body: Record<string, unknown>) {
  const res = await call(DUNNING, { token: tenant.tokens.billing, method: "PUT", body });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

const mirrorOf = (subscription: string) =>
  env.DB.prepare("SELECT status, pause_behavior FROM customer_subscriptions WHERE id = ?")
    .bind(subscription)
    .first<{ status: string; pause_behavior: string | null }>();

const stepsOf = async (subscription: string) =>
  (
    await env.DB.prepare(
      "SELECT kind, attempt, action FROM dunning_steps WHERE subscription_id = ? ORDER BY kind, attempt",
    )
      .bind(subscription)
      .all<{ kind: string; attempt: number; action: string | null }>()
  ).results;

const eventsFor = async (tenant: BillingTenant, type: string, subscription: string) =>
  (await tenantEvents(tenant.tenantId, type)).filter(
    (event) =>
      event.data.object.subscription === subscription ||
      (event.data.object.subscription as { id?: string } | undefined)?.id === subscription,
  );

async function deliver(events: Omit<DoubleEvent, "delivery">[]) {
  for (const event of events) {
    const res = await sendSigned(event, { path: "/webhooks/stripe/connect", secret: CONNECT_SECRET });
    expect(res.status).toBe(200);
  }
  const outcomes = await processed([...new Set(events.map((event) => event.id))], 30_000);
  for (const [id, row] of Object.entries(outcomes))
    expect(row.status, `${id}: ${row.outcome}`).toBe("processed");
}

describe("dunning, driven by Stripe's test clock", () => {
  it("cancels after exactly N failed attempts, one tenant event per attempt; the same when the events come shuffled or twice", {
    timeout: 120_000,
  }, async () => {
    const tenant = await billingTenant();
    await setPolicy(tenant, { after_attempts: 3, action: "cancel", notify_each_failure: true });
    const { subscription, nextAttempt } = await failingSubscription(tenant);

    for (const attempt of [1, 2]) {
      await nextAttempt();
      await relayConnectEvents(tenant.account);
      expect(await mirrorOf(subscription.id)).toMatchObject({ status: "past_due" });
      const atStripe = await stripeObject(
        `/v1/subscriptions/${subscription.stripe_subscription_id}`,
        tenant.account,
      );
      expect(atStripe.status, `after ${attempt} failures`).toBe("past_due");
      expect(await eventsFor(tenant, "invoice.payment_failed", subscription.id)).toHaveLength(attempt);
      expect(await eventsFor(tenant, "subscription.dunning_action", subscription.id)).toHaveLength(0);
    }
    await nextAttempt();
    const upToThird = (await doubleEvents({ account: tenant.account }))
      .filter((event) => /^(customer|invoice)\./.test(event.type))
      .map(({ delivery: _delivery, ...event }) => event);
    await relayConnectEvents(tenant.account);
    const atStripe = await stripeObject(
      `/v1/subscriptions/${subscription.stripe_subscription_id}`,
      tenant.account,
    );
    expect(atStripe.status).toBe("canceled");
    await relayConnectEvents(tenant.account);
    expect(await mirrorOf(subscription.id)).toMatchObject({ status: "canceled" });
    const failures = await eventsFor(tenant, "invoice.payment_failed", subscription.id);
    expect(failures.map((event) => event.data.object.attempt_count)).toEqual([1, 2, 3]);
    expect(failures.every((event) => event.data.object.status === "open")).toBe(true);
    const actions = await eventsFor(tenant, "subscription.dunning_action", subscription.id);
    expect(actions).toHaveLength(1);
    expect(actions[0]?.data.object).toMatchObject({
      object: "dunning_action",
      action: "cancel",
      failed_attempts: 3,
      after_attempts: 3,
      subscription: { id: subscription.id, status: "canceled" },
    });
    const inOrder = await stepsOf(subscription.id);
    expect(inOrder).toEqual([
      { kind: "action", attempt: 3, action: "cancel" },
      { kind: "failure", attempt: 1, action: null },
      { kind: "failure", attempt: 2, action: null },
      { kind: "failure", attempt: 3, action: null },
    ]);
    const cancels = (await stripeRequests({ account: tenant.account })).filter(
      (r) => r.method === "DELETE" && r.path === `/v1/subscriptions/${subscription.stripe_subscription_id}`,
    );
    expect(cancels.map((r) => r.headers.idempotency_key)).toEqual([
      expect.stringMatching(/^dunning:in_\w+:3:cancel$/),
    ]);
    const audit = await env.DB.prepare(
      "SELECT count(*) AS n FROM audit_log WHERE tenant_id = ? AND action = 'dunning.cancel'",
    )
      .bind(tenant.tenantId)
      .first<{ n: number }>();
    expect(audit?.n).toBe(1);

    // The same events again, up to the third failure (before our cancel), to a mirror wiped clean:
    // shuffled, and each twice. The policy acts again at Stripe, which finds it done.
    for (const seed of [11, 4242]) {
      for (const table of ["customers", "customer_subscriptions", "invoices", "dunning_steps"])
        await env.DB.prepare(`DELETE FROM ${table} WHERE tenant_id = ?`).bind(tenant.tenantId).run();
      const before = {
        failed: (await eventsFor(tenant, "invoice.payment_failed", subscription.id)).length,
        actions: (await eventsFor(tenant, "subscription.dunning_action", subscription.id)).length,
      };
      const again = shuffled(upToThird, seed).map((event) => ({ ...event, id: `${event.id}_d${seed}` }));
      await deliver([...again, ...shuffled(again, seed + 1)]);
      expect(await mirrorOf(subscription.id), `seed ${seed}`).toMatchObject({ status: "canceled" });
      expect(await stepsOf(subscription.id), `seed ${seed}`).toEqual(inOrder);
      expect(
        (await eventsFor(tenant, "invoice.payment_failed", subscription.id)).length - before.failed,
      ).toBe(3);
      expect(
        (await eventsFor(tenant, "subscription.dunning_action", subscription.id)).length - before.actions,
      ).toBe(1);
    }
    const replays = (await stripeRequests({ account: tenant.account })).filter(
      (r) => r.method === "DELETE" && r.path === `/v1/subscriptions/${subscription.stripe_subscription_id}`,
    );
    // One cancellation: a DELETE is idempotent at Stripe by itself; the replays find it canceled.
    expect(new Set(replays.map((r) => r.headers.idempotency_key)).size).toBe(1);
    expect(replays.map((r) => (r as unknown as { status: number }).status)).toEqual([200, 404, 404]);
  });

  it("marks unpaid after N failures (collection paused, no more retries), and gives collection back once the invoice is paid", {
    timeout: 90_000,
  }, async () => {
    const tenant = await billingTenant();
    await setPolicy(tenant, { after_attempts: 2, action: "mark_unpaid", notify_each_failure: false });
    const { subscription, nextAttempt } = await failingSubscription(tenant);
    await nextAttempt();
    await relayConnectEvents(tenant.account);
    expect(await mirrorOf(subscription.id)).toMatchObject({ status: "past_due", pause_behavior: null });
    await nextAttempt();
    await relayConnectEvents(tenant.account);
    await relayConnectEvents(tenant.account);
    expect(await mirrorOf(subscription.id)).toMatchObject({
      status: "unpaid",
      pause_behavior: "keep_as_draft",
    });
    const got = await asKey(tenant.keys.test_secret, `/api/v1/auth/subscriptions/${subscription.id}/`);
    expect(got.body).toMatchObject({
      status: "unpaid",
      pause_collection: { behavior: "keep_as_draft" },
      metadata: {},
    });
    expect(await eventsFor(tenant, "invoice.payment_failed", subscription.id)).toHaveLength(0);
    const [action] = await eventsFor(tenant, "subscription.dunning_action", subscription.id);
    expect(action?.data.object).toMatchObject({ action: "mark_unpaid", subscription: { status: "unpaid" } });
    const open = (
      await asKey(tenant.keys.test_secret, `${INVOICES}?subscription=${subscription.id}&status=open`)
    ).body.data[0];
    expect(await stripeObject(`/v1/invoices/${open.stripe_invoice_id}`, tenant.account)).toMatchObject({
      auto_advance: false,
    });
    // No more retries: a day later, still two attempts.
    await nextAttempt();
    await relayConnectEvents(tenant.account);
    expect((await asKey(tenant.keys.test_secret, `${INVOICES}${open.id}/`)).body.attempt_count).toBe(2);

    // The customer pays with another card: collection resumes, the subscription is active again.
    const paid = await invoiceVerb(tenant, open.id, "pay", { payment_method: "pm_card_visa" });
    expect(paid.body.status).toBe("paid");
    await relayConnectEvents(tenant.account);
    await relayConnectEvents(tenant.account);
    expect(await mirrorOf(subscription.id)).toMatchObject({ status: "active", pause_behavior: null });
    expect(await stepsOf(subscription.id)).toEqual([
      { kind: "action", attempt: 2, action: "mark_unpaid" },
      { kind: "failure", attempt: 1, action: null },
      { kind: "failure", attempt: 2, action: null },
      { kind: "recovery", attempt: 0, action: "resume_collection" },
    ]);
    const steps = await asKey(tenant.keys.test_secret, `${DUNNING}steps/?subscription=${subscription.id}`);
    expect(steps.body.data).toHaveLength(4);
    expect(steps.body.data[0]).toMatchObject({ object: "dunning_step", subscription: subscription.id });
  });
});

describe("dunning settings", () => {
  it("defaults, then owner/admin/billing set them (1 to 8 attempts); developers and API keys cannot", async () => {
    const tenant = await billingTenant();
    const read = await call(DUNNING, { token: tenant.tokens.admin });
    expect(read.body).toEqual({
      object: "dunning_settings",
      after_attempts: 4,
      action: "leave_past_due",
      notify_each_failure: true,
      updated_at: null,
    });
    for (const role of ["owner", "admin", "billing"] as const) {
      const res = await call(DUNNING, {
        token: tenant.tokens[role],
        method: "PUT",
        body: { after_attempts: 8, action: "mark_unpaid", notify_each_failure: false },
      });
      expect(res.status, role).toBe(200);
      expect(res.body).toMatchObject({
        after_attempts: 8,
        action: "mark_unpaid",
        updated_at: expect.any(String),
      });
    }
    expectError(await call(DUNNING, { token: tenant.tokens.developer }), 403, "forbidden");
    expectError(
      await call(DUNNING, {
        token: tenant.tokens.developer,
        method: "PUT",
        body: { after_attempts: 2, action: "cancel" },
      }),
      403,
      "forbidden",
    );
    expectError(await asKey(tenant.keys.test_secret, DUNNING), 401, "unauthenticated");
    for (const body of [
      { after_attempts: 0, action: "cancel" },
      { after_attempts: 9, action: "cancel" },
      { after_attempts: 2.5, action: "cancel" },
      { after_attempts: 2, action: "pause" },
      { action: "cancel" },
    ])
      expectError(
        await call(DUNNING, { token: tenant.tokens.owner, method: "PUT", body }),
        400,
        "validation_error",
      );
    expect((await call(DUNNING, { token: tenant.tokens.billing })).body).toMatchObject({ after_attempts: 8 });
    const audit = await env.DB.prepare(
      "SELECT count(*) AS n FROM audit_log WHERE tenant_id = ? AND action = 'dunning.settings_updated'",
    )
      .bind(tenant.tenantId)
      .first<{ n: number }>();
    expect(audit?.n).toBe(3);
    expectError(
      await asKey(tenant.keys.test_secret, `${DUNNING}steps/?subscription=subs_nope`),
      404,
      "not_found",
    );
  });
});
