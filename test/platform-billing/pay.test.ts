import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, expectError, registerTeam, registerTenant } from "../harness";
import { advanceSubscription, failNext, stripeObject } from "../stripe-double";
import { platformPlan, relayPlatformEvents, subscribed } from "./helpers";

const SUBSCRIPTION = "/api/v1/auth/tenants/subscription/";
const PAY = "/api/v1/auth/tenants/subscription/pay/";

type Sub = Awaited<ReturnType<typeof subscribed>>;

/** A tenant whose renewal failed three times at Stripe (the double), suspended by those events. */
async function suspendedForFailedRenewals() {
  const tenant = await registerTenant();
  const keys = await call("/api/v1/auth/tenants/api-keys/regenerate/", {
    token: tenant.owner.access,
    body: { key_type: "test", confirm: true },
  });
  const plan = await platformPlan("starter");
  const sub: Sub = await subscribed(tenant.owner.access, plan.id);
  // The first invoice's payment lands before the failures, a second earlier as it would be a
  // period earlier: Stripe's events of one second are applied in no particular order.
  await relayPlatformEvents(sub.stripe_customer_id);
  await nextSecond();
  await advanceSubscription(sub.stripe_subscription_id, { fail: true });
  await advanceSubscription(sub.stripe_subscription_id, { retry: true, fail: true });
  await advanceSubscription(sub.stripe_subscription_id, { retry: true, fail: true });
  await relayPlatformEvents(sub.stripe_customer_id);
  const state = await call(SUBSCRIPTION, { token: tenant.owner.access });
  expect(state.body).toMatchObject({
    status: "past_due",
    tenant_status: "suspended",
    suspended_reason: "payment_failed",
  });
  const open = await openInvoices(sub);
  expect(open).toHaveLength(1);
  // The owner pays later than the last failure, as they would: not within its second.
  await nextSecond();
  return { tenant, sub, key: keys.body.keys.test_secret as string, invoiceId: open[0] as string };
}

const nextSecond = () => new Promise((resolve) => setTimeout(resolve, 1_000 - (Date.now() % 1_000) + 5));

async function openInvoices(sub: Sub): Promise<string[]> {
  const list = await stripeObject(`/v1/invoices?subscription=${sub.stripe_subscription_id}&status=open`);
  return (list.data as { id: string }[]).map((invoice) => invoice.id);
}

async function succeededCharges(customer: string): Promise<number> {
  const list = await stripeObject(`/v1/charges?customer=${customer}&limit=100`);
  return (list.data as { status: string }[]).filter((charge) => charge.status === "succeeded").length;
}

async function count(sql: string, ...binds: string[]): Promise<number> {
  const row = await env.DB.prepare(sql)
    .bind(...binds)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

const paidAudits = (tenantId: string) =>
  count(
    "SELECT count(*) AS n FROM audit_log WHERE tenant_id = ? AND action = 'subscription.invoices_paid'",
    tenantId,
  );

const verify = (key: string) => call("/api/v1/auth/tenants/verify/", { headers: { "X-API-Key": key } });

describe("paying the platform subscription's open invoices", () => {
  it("a tenant suspended for failed renewals pays with a new card: active in the answer, the card is the default, Stripe's events change nothing more", {
    timeout: 30_000,
  }, async () => {
    const { tenant, sub, key, invoiceId } = await suspendedForFailedRenewals();
    expectError(await verify(key), 402, "tenant_suspended");
    const chargesBefore = await succeededCharges(sub.stripe_customer_id);

    const paid = await call(PAY, {
      token: tenant.owner.access,
      body: { payment_method_id: "pm_card_mastercard" },
    });
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    expect(paid.body).toMatchObject({ status: "active", tenant_status: "active", suspended_reason: null });
    expect((await verify(key)).status).toBe(200);

    expect(await openInvoices(sub)).toEqual([]);
    expect((await stripeObject(`/v1/invoices/${invoiceId}`)).status).toBe("paid");
    expect(await succeededCharges(sub.stripe_customer_id)).toBe(chargesBefore + 1);
    const customer = await stripeObject(`/v1/customers/${sub.stripe_customer_id}`);
    const card = (customer.invoice_settings as { default_payment_method: string }).default_payment_method;
    const subscription = await stripeObject(`/v1/subscriptions/${sub.stripe_subscription_id}`);
    expect(subscription.default_payment_method).toBe(card);
    expect((await stripeObject(`/v1/payment_methods/${card}`)).card).toMatchObject({ last4: "4444" });

    const audit = await env.DB.prepare(
      "SELECT actor_id, metadata FROM audit_log WHERE tenant_id = ? AND action = 'subscription.invoices_paid'",
    )
      .bind(tenant.tenantId)
      .all<{ actor_id: string; metadata: string }>();
    expect(audit.results).toHaveLength(1);
    expect(audit.results[0]?.actor_id).toBe(tenant.owner.id);
    expect(JSON.parse(audit.results[0]?.metadata ?? "{}")).toMatchObject({ invoices: [invoiceId] });

    // Stripe's own events of the payment arrive later: already applied, they change nothing.
    const relayed = await relayPlatformEvents(sub.stripe_customer_id);
    expect(relayed.map((event) => event.type)).toContain("invoice.payment_succeeded");
    expect(
      await count(
        "SELECT count(*) AS n FROM webhook_events WHERE tenant_id = ? AND type = 'tenant.reactivated'",
        tenant.tenantId,
      ),
    ).toBe(1);
    expect((await call(SUBSCRIPTION, { token: tenant.owner.access })).body).toMatchObject({
      status: "active",
      tenant_status: "active",
    });
  });

  it("a declined card is 402 payment_failed with Stripe's reason: still suspended, the invoice still open", {
    timeout: 30_000,
  }, async () => {
    const { tenant, sub, invoiceId } = await suspendedForFailedRenewals();
    const cardOnFile = async () =>
      (await stripeObject(`/v1/subscriptions/${sub.stripe_subscription_id}`)).default_payment_method;
    const before = await cardOnFile();
    const declined = await call(PAY, {
      token: tenant.owner.access,
      body: { payment_method_id: "pm_card_chargeCustomerFail" },
    });
    expectError(declined, 402, "payment_failed");
    expect(await openInvoices(sub)).toEqual([invoiceId]);
    // The declined card does not become the card of the next renewals.
    expect(await cardOnFile()).toBe(before);
    expect((await call(SUBSCRIPTION, { token: tenant.owner.access })).body).toMatchObject({
      status: "past_due",
      tenant_status: "suspended",
    });
    expect(
      await count(
        "SELECT count(*) AS n FROM audit_log WHERE tenant_id = ? AND action = 'subscription.invoices_paid'",
        tenant.tenantId,
      ),
    ).toBe(0);

    // Another card pays.
    const paid = await call(PAY, { token: tenant.owner.access, body: { payment_method_id: "pm_card_visa" } });
    expect(paid.body).toMatchObject({ status: "active", tenant_status: "active" });
  });

  it("a card that needs 3-D Secure is 402 naming the invoice's page, where its holder can pay", {
    timeout: 30_000,
  }, async () => {
    const { tenant, sub, invoiceId } = await suspendedForFailedRenewals();
    const answer = await call(PAY, {
      token: tenant.owner.access,
      body: { payment_method_id: "pm_card_authenticationRequired" },
    });
    const body = expectError(answer, 402, "payment_failed");
    const invoice = await stripeObject(`/v1/invoices/${invoiceId}`);
    expect(body).toMatchObject({ invoice: invoiceId, hosted_invoice_url: invoice.hosted_invoice_url });
    expect(await openInvoices(sub)).toEqual([invoiceId]);
  });

  it("ten requests at once charge the card once: the rest find it paid, or nothing open (409)", {
    timeout: 30_000,
  }, async () => {
    const { tenant, sub } = await suspendedForFailedRenewals();
    const chargesBefore = await succeededCharges(sub.stripe_customer_id);
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => call(PAY, { token: tenant.owner.access, method: "POST" })),
    );
    const statuses = answers.map((answer) => answer.status);
    expect(statuses, JSON.stringify(answers.map((answer) => answer.body))).toContain(200);
    for (const answer of answers) {
      if (answer.status === 200)
        expect(answer.body).toMatchObject({ status: "active", tenant_status: "active" });
      else expectError(answer, 409, "conflict");
    }
    expect((await call(SUBSCRIPTION, { token: tenant.owner.access })).body).toMatchObject({
      status: "active",
      tenant_status: "active",
    });
    expect(await succeededCharges(sub.stripe_customer_id)).toBe(chargesBefore + 1);
    expect(
      await count(
        "SELECT count(*) AS n FROM audit_log WHERE tenant_id = ? AND action = 'subscription.invoices_paid'",
        tenant.tenantId,
      ),
    ).toBe(1);
    expect(
      await count(
        "SELECT count(*) AS n FROM webhook_events WHERE tenant_id = ? AND type = 'tenant.reactivated'",
        tenant.tenantId,
      ),
    ).toBe(1);
  });

  it("Stripe failing to make the card that paid the default does not hide the payment: 200, active", {
    timeout: 30_000,
  }, async () => {
    const { tenant, sub, invoiceId } = await suspendedForFailedRenewals();
    const before = (await stripeObject(`/v1/subscriptions/${sub.stripe_subscription_id}`))
      .default_payment_method;
    await failNext({
      method: "POST",
      path: `/v1/subscriptions/${sub.stripe_subscription_id}`,
      status: 500,
      times: 3,
    });
    const paid = await call(PAY, {
      token: tenant.owner.access,
      body: { payment_method_id: "pm_card_mastercard" },
    });
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    expect(paid.body).toMatchObject({ status: "active", tenant_status: "active" });
    expect((await stripeObject(`/v1/invoices/${invoiceId}`)).status).toBe("paid");
    expect(
      (await stripeObject(`/v1/subscriptions/${sub.stripe_subscription_id}`)).default_payment_method,
    ).toBe(before);
    expect(await paidAudits(tenant.tenantId)).toBe(1);
  });

  it("a failure after the payment (D1 refuses the new state) is 500 with the payment on record; sent again, it brings the state up to Stripe's", {
    timeout: 30_000,
  }, async () => {
    const { tenant, sub } = await suspendedForFailedRenewals();
    const trigger = `fail_sub_${tenant.tenantId.replace(/\W/g, "")}`;
    await env.DB.exec(
      `CREATE TRIGGER ${trigger} BEFORE UPDATE ON tenant_subscriptions WHEN NEW.tenant_id = '${tenant.tenantId}' BEGIN SELECT RAISE(ABORT, 'injected'); END`,
    );
    try {
      const failed = await call(PAY, { token: tenant.owner.access, method: "POST" });
      expect(failed.status, JSON.stringify(failed.body)).toBe(500);
    } finally {
      await env.DB.exec(`DROP TRIGGER ${trigger}`);
    }
    expect(await openInvoices(sub)).toEqual([]);
    expect(await paidAudits(tenant.tenantId)).toBe(1);
    expect((await call(SUBSCRIPTION, { token: tenant.owner.access })).body).toMatchObject({
      tenant_status: "suspended",
    });
    const again = await call(PAY, { token: tenant.owner.access, method: "POST" });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body).toMatchObject({ status: "active", tenant_status: "active" });
    expect(await paidAudits(tenant.tenantId)).toBe(1);
  });

  it("two invoices due, the second declined: 402; the first is paid and on record, the tenant stays suspended", {
    timeout: 30_000,
  }, async () => {
    const { tenant, sub, invoiceId } = await suspendedForFailedRenewals();
    await advanceSubscription(sub.stripe_subscription_id, { fail: true });
    const due = await openInvoices(sub);
    expect(due).toHaveLength(2);
    const second = due.find((id) => id !== invoiceId) as string;
    await failNext({
      method: "POST",
      path: `/v1/invoices/${second}/pay`,
      status: 402,
      error: {
        type: "card_error",
        code: "card_declined",
        decline_code: "generic_decline",
        message: "Your card was declined.",
      },
    });
    const answer = await call(PAY, { token: tenant.owner.access, method: "POST" });
    expectError(answer, 402, "payment_failed");
    expect(await openInvoices(sub)).toEqual([second]);
    expect((await call(SUBSCRIPTION, { token: tenant.owner.access })).body).toMatchObject({
      tenant_status: "suspended",
    });
    expect(await paidAudits(tenant.tenantId)).toBe(1);
  });

  it("is 409 with nothing open or no subscription; owners only", async () => {
    const team = await registerTeam();
    expectError(await call(PAY, { token: team.tokens.owner, method: "POST" }), 409, "conflict");
    const plan = await platformPlan("starter");
    await subscribed(team.tokens.owner, plan.id);
    expectError(await call(PAY, { token: team.tokens.owner, method: "POST" }), 409, "conflict");
    for (const role of ["admin", "developer", "billing"] as const) {
      expectError(await call(PAY, { token: team.tokens[role], method: "POST" }), 403, "forbidden");
    }
    expectError(
      await call(PAY, { token: team.tokens.owner, body: { payment_method_id: "card_4242" } }),
      400,
      "validation_error",
    );
  });
});
