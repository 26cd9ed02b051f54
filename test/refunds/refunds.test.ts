import { beforeAll, describe, expect, it } from "vitest";
import {
  asKey,
  type BillingTenant,
  billingTenant,
  makeCustomer,
  relayConnectEvents,
  tenantEvents,
} from "../billing";
import { call, expectError, registerTenant } from "../harness";
import { applicationFeeOf, INVOICES, invoiceVerb, makeInvoice, paidInvoice, REFUNDS } from "../invoicing";
import { doubleUrl, settleRefund, stripeObject, stripeRequests } from "../stripe-double";

let tenant: BillingTenant;
beforeAll(async () => {
  tenant = await billingTenant();
});

const refund = (body: Record<string, unknown>, key = tenant.keys.test_secret) =>
  asKey(key, REFUNDS, { body });
const invoiceOf = (id: string) => asKey(tenant.keys.test_secret, `${INVOICES}${id}/`).then((r) => r.body);

/** A refund made at Stripe directly (the tenant's dashboard), not through our API. */
async function dashboardRefund(paymentIntent: string, amount: number) {
  const res = await fetch(`${doubleUrl()}/v1/refunds`, {
    method: "POST",
    headers: {
      Authorization: "Bearer sk_test_dashboard",
      "Stripe-Account": tenant.account,
      "Content-Type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ payment_intent: paymentIntent, amount: String(amount) }).toString(),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as { id: string };
}

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
    for (const body of [{}, { invoice: invoice.id, amount: 0 }, { invoice: invoice.id, reason: "because" }])
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
