import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { ApiKeyCaller } from "../../src/context";
import { newId } from "../../src/lib/crypto";
import { invoiceAction } from "../../src/modules/invoices/invoice-actions";
import { serializeInvoice } from "../../src/modules/invoices/invoices.schemas";
import { processStripeEvents } from "../../src/modules/platform-billing/billing-runs";
import { createRefund } from "../../src/modules/refunds/refunds.service";
import {
  asKey,
  type BillingTenant,
  billingTenant,
  makeCustomer,
  relayConnectEvents,
  tenantEvents,
} from "../billing";
import { testContext } from "../context";
import { call, expectError, registerTenant } from "../harness";
import {
  applicationFeeOf,
  INVOICES,
  invoiceVerb,
  makeInvoice,
  paidInvoice,
  payingCustomer,
  REFUNDS,
} from "../invoicing";
import { recordReceivedConnectEvents, stripeEventRows } from "../platform-billing/helpers";
import {
  atStripeDashboard,
  type DoubleEvent,
  doubleEvents,
  failNext,
  payHostedInvoice,
  settleRefund,
  skewClock,
  stripeObject,
  stripeRequests,
} from "../stripe-double";

let tenant: BillingTenant;
beforeAll(async () => {
  tenant = await billingTenant();
});

const refund = (body: Record<string, unknown>, key = tenant.keys.test_secret) =>
  asKey(key, REFUNDS, { body });
const invoiceOf = (id: string) => asKey(tenant.keys.test_secret, `${INVOICES}${id}/`).then((r) => r.body);

/** A call made at Stripe directly on the tenant's account (its dashboard), not through our API. */
const dashboard = (path: string, params: Record<string, string> = {}, account = tenant.account) =>
  atStripeDashboard(path, params, account);

const dashboardRefund = (paymentIntent: string, amount: number, account = tenant.account) =>
  dashboard("/v1/refunds", { payment_intent: paymentIntent, amount: String(amount) }, account);

/** The payment intent that paid an invoice, at Stripe. */
async function paymentIntentOf(stripeInvoiceId: string, account = tenant.account) {
  const paid = await stripeObject(`/v1/invoices/${stripeInvoiceId}?expand[]=payments`, account);
  return (paid.payments as { data: { payment: { payment_intent: string } }[] }).data[0]?.payment
    .payment_intent as string;
}

/** An API key caller of the tenant, for a service called directly with a context of the test's own. */
const keyCaller = (own: BillingTenant): ApiKeyCaller => ({
  kind: "api_key",
  keyId: "key_refund_race",
  tenantId: own.tenantId,
  companyName: "Race Co",
  keyKind: "secret",
  mode: "test",
  tier: "pro",
});

/**
 * An invoice of 30.00 the tenant bills, collects and refunds 10.00 of in its Stripe dashboard, with
 * the Connect events this made, none of them relayed to us yet.
 */
/** A tenant of its own with a paying customer and a 30.00 draft invoice for them. */
async function consultingDraft() {
  const own = await billingTenant();
  const customer = await payingCustomer(own);
  const draft = await makeInvoice(own, {
    customer: customer.id,
    currency: "usd",
    items: [{ unit_amount: 3000, description: "Consulting" }],
  });
  return { own, draft };
}

/**
 * A tenant of its own with an open 30.00 invoice, and a pay of it under way whose Stripe call the
 * double answers 4 s late (`late`, wrapped so awaiting this does not await it): meanwhile the test
 * pays or refunds elsewhere.
 */
async function payAnsweredLate() {
  const { own, draft } = await consultingDraft();
  const open = await invoiceVerb(own, draft.id, "finalize");
  expect(open.body.status).toBe("open");
  await failNext({
    method: "POST",
    path: `/v1/invoices/${draft.stripe_invoice_id}/pay`,
    account: own.account,
    delay_ms: 4000,
  });
  const late = invoiceVerb(own, draft.id, "pay");
  await new Promise((resolve) => setTimeout(resolve, 500));
  return { own, draft, open, late };
}

/** The tenant's analytics summary in USD up to today (revenue, refunds, fees). */
async function usdFiguresToday(own: BillingTenant) {
  const today = new Date().toISOString().slice(0, 10);
  const summary = await asKey(
    own.keys.test_secret,
    `/api/v1/auth/analytics/summary/?currency=usd&to=${today}`,
  );
  return summary.body.currencies[0];
}

async function billedAndRefundedAtStripe() {
  const customer = await payingCustomer(tenant);
  await relayConnectEvents(tenant.account);
  const before = new Set((await doubleEvents({ account: tenant.account })).map((event) => event.id));
  const draft = await dashboard("/v1/invoices", {
    customer: customer.stripe_customer_id,
    currency: "usd",
    auto_advance: "false",
  });
  await dashboard("/v1/invoiceitems", {
    customer: customer.stripe_customer_id,
    invoice: draft.id,
    amount: "3000",
    currency: "usd",
    description: "Dashboard item",
  });
  await dashboard(`/v1/invoices/${draft.id}/pay`);
  const paid = await stripeObject(`/v1/invoices/${draft.id}?expand[]=payments`, tenant.account);
  const intent = (paid.payments as { data: { payment: { payment_intent: string } }[] }).data[0]?.payment
    .payment_intent as string;
  const made = await dashboardRefund(intent, 1000);
  const events: Omit<DoubleEvent, "delivery">[] = (await doubleEvents({ account: tenant.account }))
    .filter((event) => !before.has(event.id))
    .map(({ delivery: _delivery, ...event }) => event);
  expect(events.map((event) => event.type)).toEqual(
    expect.arrayContaining(["invoice.paid", "refund.created", "charge.refunded"]),
  );
  return { stripeInvoiceId: draft.id, stripeRefundId: made.id, events };
}

/** Processes the events as one run of the tenant's coordinator; answers the refund events' notes. */
async function processAsOneRun(events: Omit<DoubleEvent, "delivery">[]) {
  await recordReceivedConnectEvents(tenant.account, events);
  const ids = events.map((event) => event.id);
  expect(await processStripeEvents(testContext(), tenant.tenantId, ids)).toEqual({ retry: [] });
  const notes = await stripeEventRows(ids);
  return events
    .filter((event) => event.type === "refund.created" || event.type === "charge.refunded")
    .map((event) => `${event.type}: ${notes[event.id]?.outcome}`)
    .join(" | ");
}

/** What the mirror shows of an invoice made at Stripe and of its refund, and what the tenant was told. */
async function mirrorOf(stripeInvoiceId: string, stripeRefundId: string) {
  const invoice = await env.DB.prepare(
    "SELECT id, status, amount_refunded FROM invoices WHERE stripe_invoice_id = ?",
  )
    .bind(stripeInvoiceId)
    .first<{ id: string; status: string; amount_refunded: number }>();
  const refundRow = await env.DB.prepare("SELECT invoice_id FROM refunds WHERE stripe_refund_id = ?")
    .bind(stripeRefundId)
    .first<{ invoice_id: string }>();
  const told = async (type: string, matches: (object: Record<string, unknown>) => boolean) =>
    (await tenantEvents(tenant.tenantId, type)).filter((event) => matches(event.data.object)).length;
  return {
    invoice: invoice?.status,
    amount_refunded: invoice?.amount_refunded,
    refund_of_invoice: refundRow !== null && refundRow.invoice_id === invoice?.id,
    invoice_created_events: await told("invoice.created", (o) => o.stripe_invoice_id === stripeInvoiceId),
    refund_created_events: await told("refund.created", (o) => o.stripe_refund_id === stripeRefundId),
  };
}

const MIRRORED = {
  invoice: "paid",
  amount_refunded: 1000,
  refund_of_invoice: true,
  invoice_created_events: 1,
  refund_created_events: 1,
};

describe("refunds", () => {
  it("refunds part of a paid invoice with the fee in proportion, then the rest; a third is 409", async () => {
    const { invoice } = await paidInvoice(tenant, 4798);
    expect(invoice.application_fee_amount).toBe(720);
    const first = await refund({
      invoice: invoice.id,
      amount: 1000,
      reason: "requested_by_customer",
      metadata: { ticket: "T-9" },
    });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body).toMatchObject({
      id: expect.stringMatching(/^rfnd_/),
      object: "refund",
      invoice: invoice.id,
      customer: invoice.customer,
      amount: 1000,
      currency: "usd",
      amount_display: "$10.00",
      reason: "requested_by_customer",
      status: "succeeded",
      refund_application_fee: true,
      metadata: { ticket: "T-9" },
      stripe_refund_id: expect.stringMatching(/^re_/),
    });
    const [create] = (await stripeRequests({ path: "/v1/refunds", account: tenant.account })).filter(
      (r) => r.headers.idempotency_key === `refund:${first.body.id}`,
    );
    expect(create?.params).toMatchObject({
      amount: "1000",
      refund_application_fee: "true",
      metadata: { tenant_id: tenant.tenantId, refund_id: first.body.id, invoice_id: invoice.id },
    });
    // Stripe refunds the fee in proportion: round(720 × 1000 / 4798) = 150.
    const fee = await applicationFeeOf(tenant.account, invoice.stripe_invoice_id);
    expect(fee).toMatchObject({ amount: 720, amount_refunded: 150 });
    expect(await invoiceOf(invoice.id)).toMatchObject({ status: "paid", amount_refunded: 1000 });

    const rest = await refund({ invoice: invoice.id });
    expect(rest.body).toMatchObject({ amount: 3798, status: "succeeded" });
    expect((await applicationFeeOf(tenant.account, invoice.stripe_invoice_id)).amount_refunded).toBe(720);
    expect(await invoiceOf(invoice.id)).toMatchObject({ amount_refunded: 4798 });
    const again = expectError(await refund({ invoice: invoice.id }), 409, "invalid_state_transition");
    expect(again.status).toBe("paid");

    const created = (await tenantEvents(tenant.tenantId, "refund.created")).filter(
      (event) => event.data.object.invoice === invoice.id,
    );
    expect(created.map((event) => event.data.object.id).sort()).toEqual([first.body.id, rest.body.id].sort());
    // Stripe's own events of these refunds change nothing and report nothing twice, in any order.
    await relayConnectEvents(tenant.account, { shuffle: true, twice: true });
    expect(await invoiceOf(invoice.id)).toMatchObject({ amount_refunded: 4798 });
    expect(
      (await tenantEvents(tenant.tenantId, "refund.created")).filter(
        (event) => event.data.object.invoice === invoice.id,
      ),
    ).toHaveLength(2);
    // Analytics count the money once: 4,798 collected (fee 720), all of it given back with the fee.
    const today = new Date().toISOString().slice(0, 10);
    const summary = await asKey(
      tenant.keys.test_secret,
      `/api/v1/auth/analytics/summary/?currency=usd&to=${today}`,
    );
    expect(summary.body.currencies[0]).toMatchObject({
      revenue: 4798,
      refunds: 4798,
      net_revenue: 0,
      fees: 0,
    });
  });

  it("two full refunds of one invoice at once: one 201, the other 409", async () => {
    const own = await billingTenant();
    const { invoice } = await paidInvoice(own, 2500);
    const answers = await Promise.all(
      [0, 1].map(() => refund({ invoice: invoice.id }, own.keys.test_secret)),
    );
    expect(answers.map((res) => `${res.status} ${res.body.error ?? ""}`.trim()).sort()).toEqual([
      "201",
      "409 invalid_state_transition",
    ]);
  });

  it("mirrors a refund made at Stripe from its events, or from charge.refunded alone", async () => {
    const { invoice } = await paidInvoice(tenant, 3000);
    await relayConnectEvents(tenant.account);
    const atStripe = await stripeObject(
      `/v1/invoices/${invoice.stripe_invoice_id}?expand[]=payments`,
      tenant.account,
    );
    const intent = (atStripe.payments as { data: { payment: { payment_intent: string } }[] }).data[0]?.payment
      .payment_intent as string;
    const made = await dashboardRefund(intent, 500);
    await relayConnectEvents(tenant.account, { shuffle: true });
    expect(await invoiceOf(invoice.id)).toMatchObject({ amount_refunded: 500 });
    const listed = await asKey(tenant.keys.test_secret, `${REFUNDS}?invoice=${invoice.id}`);
    expect(listed.body.data).toEqual([
      expect.objectContaining({
        stripe_refund_id: made.id,
        amount: 500,
        invoice: invoice.id,
        refund_application_fee: false,
      }),
    ]);
    expect(
      (await tenantEvents(tenant.tenantId, "refund.created")).filter(
        (event) => event.data.object.stripe_refund_id === made.id,
      ),
    ).toHaveLength(1);

    // Only charge.refunded reaches us (the refund's own event is lost): the refund is read from Stripe.
    const second = await dashboardRefund(intent, 700);
    await relayConnectEvents(tenant.account, { only: (event) => event.type === "charge.refunded" });
    expect(await invoiceOf(invoice.id)).toMatchObject({ amount_refunded: 1200 });
    const forwarded = (await tenantEvents(tenant.tenantId, "charge.refunded")).filter(
      (event) => event.data.object.payment_intent === intent,
    );
    expect(forwarded.length).toBeGreaterThan(0);
    const all = await asKey(tenant.keys.test_secret, `${REFUNDS}?invoice=${invoice.id}`);
    expect(all.body.data.map((row: { stripe_refund_id: string }) => row.stripe_refund_id).sort()).toEqual(
      [made.id, second.id].sort(),
    );
  });

  it("mirrors a refund made at Stripe with a copy of our refund's metadata under an id of its own", async () => {
    const { invoice } = await paidInvoice(tenant, 3000);
    const ours = await refund({ invoice: invoice.id, amount: 1000 });
    expect(ours.status, JSON.stringify(ours.body)).toBe(201);
    await relayConnectEvents(tenant.account);
    // The tenant's dashboard refunds more, its metadata (signature and all) copied from the refund
    // made through us.
    const made = await stripeObject(`/v1/refunds/${ours.body.stripe_refund_id}`, tenant.account);
    const copied = Object.entries(made.metadata as Record<string, string>).map(([key, value]) => [
      `metadata[${key}]`,
      value,
    ]);
    expect(copied.map(([key]) => key)).toContain("metadata[refund_signature]");
    const copy = await dashboard("/v1/refunds", {
      payment_intent: ours.body.stripe_payment_intent_id,
      amount: "500",
      ...Object.fromEntries(copied),
    });
    await relayConnectEvents(tenant.account);
    expect(await invoiceOf(invoice.id)).toMatchObject({ amount_refunded: 1500 });
    const listed = await asKey(tenant.keys.test_secret, `${REFUNDS}?invoice=${invoice.id}`);
    const rows = listed.body.data as { id: string; stripe_refund_id: string; amount: number }[];
    expect(rows.map((row) => row.stripe_refund_id).sort()).toEqual(
      [ours.body.stripe_refund_id, copy.id].sort(),
    );
    expect(rows.find((row) => row.stripe_refund_id === copy.id)?.id).not.toBe(ours.body.id);
    expect((await asKey(tenant.keys.test_secret, `${REFUNDS}${ours.body.id}/`)).body).toMatchObject({
      stripe_refund_id: ours.body.stripe_refund_id,
      amount: 1000,
    });
  });

  it("a refund made at Stripe under an id of our shape it wrote itself does not refund the platform's fee", async () => {
    const own = await billingTenant();
    const { invoice } = await paidInvoice(own, 2000);
    await relayConnectEvents(own.account);
    // The tenant's dashboard refunds 5.00 with metadata that looks like ours: an unused rfnd_ id.
    const forged = await dashboard(
      "/v1/refunds",
      {
        payment_intent: await paymentIntentOf(invoice.stripe_invoice_id, own.account),
        amount: "500",
        "metadata[refund_id]": newId("rfnd"),
        "metadata[invoice_id]": invoice.id,
        "metadata[tenant_id]": own.tenantId,
      },
      own.account,
    );
    await relayConnectEvents(own.account);
    const listed = await asKey(own.keys.test_secret, `${REFUNDS}?invoice=${invoice.id}`);
    expect(listed.body.data).toEqual([
      expect.objectContaining({ stripe_refund_id: forged.id, amount: 500, refund_application_fee: false }),
    ]);
    // Stripe kept the whole fee (300 of 2,000), and so do the analytics.
    expect(await usdFiguresToday(own)).toMatchObject({ revenue: 2000, refunds: 500, fees: 300 });
  });

  it("a refund retried with its Idempotency-Key after our write failed reaches Stripe with the same key: one refund", async () => {
    const own = await billingTenant();
    const { invoice } = await paidInvoice(own, 3000);
    const send = () =>
      asKey(own.keys.test_secret, REFUNDS, {
        body: { invoice: invoice.id, amount: 1000 },
        headers: { "Idempotency-Key": `refund-of-${invoice.id}` },
      });
    // Stripe refunds, then our D1 batch fails: 500, and the key is free for a retry.
    await env.DB.exec(
      `CREATE TRIGGER fail_refund BEFORE INSERT ON refunds WHEN NEW.invoice_id = '${invoice.id}' BEGIN SELECT RAISE(ABORT, 'injected failure'); END`,
    );
    try {
      expectError(await send(), 500, "internal_error");
    } finally {
      await env.DB.exec("DROP TRIGGER fail_refund");
    }
    const retried = await send();
    expect(retried.status, JSON.stringify(retried.body)).toBe(201);
    const creates = (await stripeRequests({ path: "/v1/refunds", account: own.account })).filter(
      (r) => r.method === "POST" && (r.params.metadata as { invoice_id?: string })?.invoice_id === invoice.id,
    );
    expect(creates).toHaveLength(2);
    expect(creates[1]?.headers.idempotency_key).toBe(creates[0]?.headers.idempotency_key);
    const atStripe = await stripeObject(`/v1/refunds?charge=${retried.body.stripe_charge_id}`, own.account);
    expect(atStripe.data).toEqual([
      expect.objectContaining({ id: retried.body.stripe_refund_id, amount: 1000 }),
    ]);
    expect(retried.body.id).toBe(
      (creates[0]?.params.metadata as { refund_id?: string } | undefined)?.refund_id,
    );
    const listed = await asKey(own.keys.test_secret, `${REFUNDS}?invoice=${invoice.id}`);
    expect(listed.body.data.map((row: { id: string }) => row.id)).toEqual([retried.body.id]);
    expect((await asKey(own.keys.test_secret, `${INVOICES}${invoice.id}/`)).body).toMatchObject({
      amount_refunded: 1000,
    });
  });

  it("an Idempotency-Key reused after both sides forgot it (24 h) answers the refund it made, not a second one", async () => {
    const own = await billingTenant();
    const { invoice } = await paidInvoice(own, 3000);
    const key = `refund-of-${invoice.id}`;
    const send = () =>
      asKey(own.keys.test_secret, REFUNDS, {
        body: { invoice: invoice.id, amount: 1000 },
        headers: { "Idempotency-Key": key },
      });
    const first = await send();
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    // A day later: our stored answer has expired, and Stripe has pruned the key.
    const dayAgo = Date.now() - 25 * 60 * 60 * 1000;
    await env.DB.prepare(
      "UPDATE idempotency_keys SET created_at = ?1, expires_at = ?1 + 1 WHERE tenant_id = ?2 AND key = ?3",
    )
      .bind(dayAgo, own.tenantId, key)
      .run();
    await skewClock({
      offset_seconds: 25 * 60 * 60,
      account: own.account,
      idempotency_key_prefix: "refund:",
    });

    const again = await send();
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    expect(again.body).toMatchObject({ id: first.body.id, stripe_refund_id: first.body.stripe_refund_id });
    const atStripe = await stripeObject(`/v1/refunds?charge=${first.body.stripe_charge_id}`, own.account);
    expect(atStripe.data).toEqual([
      expect.objectContaining({ id: first.body.stripe_refund_id, amount: 1000 }),
    ]);
    expect((await asKey(own.keys.test_secret, `${INVOICES}${invoice.id}/`)).body).toMatchObject({
      amount_refunded: 1000,
    });
  });

  it("a refund whose events reach the mirror before the API's commit: one row, one refund.created", {
    timeout: 20_000,
  }, async () => {
    const own = await billingTenant();
    const { invoice } = await paidInvoice(own, 2000);
    await relayConnectEvents(own.account);
    // Stripe's refund events are mirrored between Stripe's answer and the API's commit.
    const base = testContext();
    const stripe = base.stripe;
    const mirroredFirst = Object.create(stripe, {
      refunds: {
        value: Object.assign(Object.create(stripe.refunds), {
          create: async (...args: Parameters<typeof stripe.refunds.create>) => {
            const made = await stripe.refunds.create(...args);
            const relayed = await relayConnectEvents(own.account);
            expect(relayed.map((event) => event.type)).toContain("refund.created");
            return made;
          },
        }),
      },
    });
    const row = await createRefund(testContext({ stripe: mirroredFirst, caller: keyCaller(own) }), {
      invoice: invoice.id,
      amount: 500,
    });
    const rows = await env.DB.prepare("SELECT id FROM refunds WHERE stripe_refund_id = ?")
      .bind(row.stripeRefundId)
      .all<{ id: string }>();
    expect(rows.results).toEqual([{ id: row.id }]);
    expect(await asKey(own.keys.test_secret, `${INVOICES}${invoice.id}/`).then((r) => r.body)).toMatchObject({
      amount_refunded: 500,
    });
    const told = (await tenantEvents(own.tenantId, "refund.created")).filter(
      (event) => event.data.object.stripe_refund_id === row.stripeRefundId,
    );
    expect(told).toHaveLength(1);
    // Analytics give back the platform's fee in proportion, as Stripe did: 300 − round(300 × 500 / 2000).
    expect(await usdFiguresToday(own)).toMatchObject({ revenue: 2000, refunds: 500, fees: 225 });
  });

  it("mirrors a refund whose invoice's first events are in the same run", async () => {
    const { stripeInvoiceId, stripeRefundId, events } = await billedAndRefundedAtStripe();
    const notes = await processAsOneRun(events);
    expect(await mirrorOf(stripeInvoiceId, stripeRefundId), notes).toEqual(MIRRORED);
  });

  it("mirrors a refund whose events come in a run before its invoice's", async () => {
    const { stripeInvoiceId, stripeRefundId, events } = await billedAndRefundedAtStripe();
    const isRefund = (event: { type: string }) =>
      event.type.startsWith("refund.") || event.type.startsWith("charge.refund");
    const notes = await processAsOneRun(events.filter(isRefund));
    expect(await mirrorOf(stripeInvoiceId, stripeRefundId), notes).toEqual(MIRRORED);
    await processAsOneRun(events.filter((event) => !isRefund(event)));
    expect(await mirrorOf(stripeInvoiceId, stripeRefundId)).toEqual(MIRRORED);
  });

  it("a pending refund counts at once and reports its settlement (refund.updated)", async () => {
    const { invoice } = await paidInvoice(tenant, 2000, "pm_card_pendingRefund");
    const pending = await refund({ invoice: invoice.id, amount: 800 });
    expect(pending.body).toMatchObject({ status: "pending" });
    expect(await invoiceOf(invoice.id)).toMatchObject({ amount_refunded: 800 });
    await settleRefund(pending.body.stripe_refund_id, "failed");
    await relayConnectEvents(tenant.account, { shuffle: true });
    const got = await asKey(tenant.keys.test_secret, `${REFUNDS}${pending.body.id}/`);
    expect(got.body).toMatchObject({ status: "failed", failure_reason: expect.any(String) });
    expect(await invoiceOf(invoice.id)).toMatchObject({ amount_refunded: 0 });
    expect(
      (await tenantEvents(tenant.tenantId, "refund.updated")).filter(
        (event) => event.data.object.id === pending.body.id,
      ),
    ).toHaveLength(1);
  });

  it("refuses unpaid invoices (409), too much or bad input (400), other tenants and modes (404), and the wrong roles (403)", async () => {
    const customer = await makeCustomer(tenant);
    const draft = await makeInvoice(tenant, {
      customer: customer.id,
      currency: "usd",
      items: [{ unit_amount: 100, description: "x" }],
    });
    expect(expectError(await refund({ invoice: draft.id }), 409, "invalid_state_transition").status).toBe(
      "draft",
    );
    await invoiceVerb(tenant, draft.id, "finalize");
    expect(expectError(await refund({ invoice: draft.id }), 409, "invalid_state_transition").status).toBe(
      "open",
    );
    const { invoice } = await paidInvoice(tenant, 1000);
    expectError(await refund({ invoice: invoice.id, amount: 1001 }), 400, "validation_error");
    for (const body of [
      {},
      { invoice: invoice.id, amount: 0 },
      { invoice: invoice.id, reason: "because" },
      { invoice: invoice.id, amount: 100, metadata: { "order[id]": "A-7" } },
      { invoice: invoice.id, amount: 100, metadata: { invoice_id: "crm-1" } },
    ])
      expectError(await refund(body), 400, "validation_error");
    expectError(await refund({ invoice: "inv_nope" }), 404, "not_found");
    expectError(await refund({ invoice: invoice.id }, tenant.keys.live_secret), 404, "not_found");
    expectError(
      await call(REFUNDS, { token: tenant.tokens.developer, body: { invoice: invoice.id } }),
      403,
      "forbidden",
    );
    const made = await call(REFUNDS, {
      token: tenant.tokens.billing,
      body: { invoice: invoice.id, amount: 100 },
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    for (const role of ["owner", "admin", "developer", "billing"] as const)
      expect((await call(`${REFUNDS}${made.body.id}/`, { token: tenant.tokens[role] })).status).toBe(200);
    expectError(await asKey(tenant.keys.test_public, `${REFUNDS}${made.body.id}/`), 403, "forbidden");
    expectError(await asKey(tenant.keys.live_secret, `${REFUNDS}${made.body.id}/`), 404, "not_found");
    const other = await registerTenant();
    expectError(await call(`${REFUNDS}${made.body.id}/`, { token: other.owner.access }), 404, "not_found");
    expectError(
      await asKey(other.keys.test_secret, REFUNDS, { body: { invoice: invoice.id } }),
      404,
      "not_found",
    );
    expect((await asKey(other.keys.test_secret, REFUNDS)).body.data).toEqual([]);
  });

  it("a pay that loses to a payment elsewhere and refreshes the invoice keeps the refunds made meanwhile", {
    timeout: 30_000,
  }, async () => {
    // This pay reads the open invoice, then Stripe answers it late...
    const { own, draft, open, late } = await payAnsweredLate();
    // ...while the customer pays on the hosted page, the mirror hears of it, and 10.00 is refunded.
    expect(await payHostedInvoice(open.body.hosted_invoice_url)).toBeLessThan(400);
    await relayConnectEvents(own.account);
    const made = await asKey(own.keys.test_secret, REFUNDS, { body: { invoice: draft.id, amount: 1000 } });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(expectError(await late, 409, "invalid_state_transition").status).toBe("paid");
    const got = await asKey(own.keys.test_secret, `${INVOICES}${draft.id}/`);
    expect(got.body).toMatchObject({ status: "paid", amount_paid: 3000, amount_refunded: 1000 });
  });

  it("a pay whose invoice is refunded between Stripe's answer and its commit answers the refunded amount", {
    timeout: 30_000,
  }, async () => {
    const { own, draft } = await consultingDraft();
    // Stripe pays; its events reach the mirror and 10.00 is refunded before the pay commits.
    const stripe = testContext().stripe;
    const refundedMeanwhile = Object.create(stripe, {
      invoices: {
        value: Object.assign(Object.create(stripe.invoices), {
          pay: async (...args: Parameters<typeof stripe.invoices.pay>) => {
            const paid = await stripe.invoices.pay(...args);
            await relayConnectEvents(own.account);
            const made = await asKey(own.keys.test_secret, REFUNDS, {
              body: { invoice: draft.id, amount: 1000 },
            });
            expect(made.status, JSON.stringify(made.body)).toBe(201);
            return paid;
          },
        }),
      },
    });
    const row = await invoiceAction(
      testContext({ stripe: refundedMeanwhile, caller: keyCaller(own) }),
      draft.id,
      "pay",
    );
    expect(serializeInvoice(row)).toMatchObject({ status: "paid", amount_paid: 3000, amount_refunded: 1000 });
  });

  it("a pay that loses to a payment elsewhere reports invoice.paid with the refunds mirrored meanwhile", {
    timeout: 30_000,
  }, async () => {
    // This pay reads the open invoice, then Stripe answers it late...
    const { own, draft, open, late } = await payAnsweredLate();
    // ...while the customer pays on the hosted page, and the tenant refunds 10.00 in its dashboard,
    // whose refund events reach the mirror before the invoice's.
    expect(await payHostedInvoice(open.body.hosted_invoice_url)).toBeLessThan(400);
    await dashboardRefund(await paymentIntentOf(draft.stripe_invoice_id, own.account), 1000, own.account);
    await relayConnectEvents(own.account, {
      only: (event) => event.type.startsWith("refund.") || event.type.startsWith("charge.refund"),
    });
    expect(expectError(await late, 409, "invalid_state_transition").status).toBe("paid");
    const told = (await tenantEvents(own.tenantId, "invoice.paid")).filter(
      (event) => event.data.object.id === draft.id,
    );
    expect(told.map((event) => event.data.object.amount_refunded)).toEqual([1000]);
    const got = await asKey(own.keys.test_secret, `${INVOICES}${draft.id}/`);
    expect(got.body).toMatchObject({ status: "paid", amount_refunded: 1000 });
  });

  it("lists newest first with invoice, customer and status filters", async () => {
    const own = await billingTenant();
    const one = await paidInvoice(own, 1000);
    const two = await paidInvoice(own, 1000);
    const r1 = (
      await asKey(own.keys.test_secret, REFUNDS, { body: { invoice: one.invoice.id, amount: 100 } })
    ).body;
    const r2 = (
      await asKey(own.keys.test_secret, REFUNDS, { body: { invoice: two.invoice.id, amount: 200 } })
    ).body;
    const ids = async (query = "") =>
      (await asKey(own.keys.test_secret, `${REFUNDS}?${query}`)).body.data.map(
        (row: { id: string }) => row.id,
      );
    expect(await ids()).toEqual([r2.id, r1.id]);
    expect(await ids(`invoice=${one.invoice.id}`)).toEqual([r1.id]);
    expect(await ids(`customer=${two.customer.id}`)).toEqual([r2.id]);
    expect(await ids("status=failed")).toEqual([]);
    expect(await ids("limit=1")).toEqual([r2.id]);
    expectError(await asKey(own.keys.test_secret, `${REFUNDS}?status=nope`), 400, "validation_error");
  });
});
