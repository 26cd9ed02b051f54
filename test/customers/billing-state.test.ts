import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { asKey, billingTenant, makeCustomer } from "../billing";
import { expectError } from "../harness";
import { invoiceVerb, makeInvoice, payingCustomer } from "../invoicing";

const CUSTOMERS = "/api/v1/auth/customers/";

describe("a customer's billing state", () => {
  it("delinquent once an open invoice is overdue (a failed charge, or a passed due date), on the customer and as a list filter", async () => {
    const tenant = await billingTenant();
    const failing = await payingCustomer(tenant, "pm_card_chargeCustomerFail");
    const charged = await makeInvoice(tenant, {
      customer: failing.id,
      currency: "usd",
      items: [{ unit_amount: 4500, description: "Usage" }],
    });
    expectError(await invoiceVerb(tenant, charged.id, "pay"), 402, "payment_failed");
    const sent = await makeCustomer(tenant);
    const invoice = await makeInvoice(tenant, {
      customer: sent.id,
      currency: "eur",
      collection_method: "send_invoice",
      days_until_due: 7,
      items: [{ unit_amount: 1200, description: "Audit" }],
    });
    expect((await invoiceVerb(tenant, invoice.id, "send")).body.status).toBe("open");
    const clean = await makeCustomer(tenant);

    const stateOf = async (id: string) =>
      (await asKey(tenant.keys.test_secret, `${CUSTOMERS}${id}/`)).body.billing;
    expect(await stateOf(failing.id)).toEqual({
      delinquent: true,
      open_invoices: 1,
      overdue_invoices: 1,
      amount_due: [{ currency: "usd", amount: 4500, amount_display: "$45.00" }],
      amount_overdue: [{ currency: "usd", amount: 4500, amount_display: "$45.00" }],
    });
    expect(await stateOf(sent.id)).toMatchObject({
      delinquent: false,
      open_invoices: 1,
      overdue_invoices: 0,
      amount_overdue: [],
    });
    expect(await stateOf(clean.id)).toEqual({
      delinquent: false,
      open_invoices: 0,
      overdue_invoices: 0,
      amount_due: [],
      amount_overdue: [],
    });
    const ids = async (query: string) =>
      (await asKey(tenant.keys.test_secret, `${CUSTOMERS}?${query}`)).body.data.map(
        (c: { id: string }) => c.id,
      );
    expect(await ids("delinquent=true")).toEqual([failing.id]);
    expect(await ids("delinquent=false")).toEqual([clean.id, sent.id]);

    // Time passes the sent invoice's due date (the state is read, never stored): it is overdue too.
    await env.DB.prepare("UPDATE invoices SET due_date = ? WHERE id = ?")
      .bind(Date.now() - 60_000, invoice.id)
      .run();
    expect(await stateOf(sent.id)).toMatchObject({
      delinquent: true,
      amount_overdue: [{ currency: "eur", amount: 1200, amount_display: "€12.00" }],
    });
    expect(await ids("delinquent=true")).toEqual([sent.id, failing.id]);
    const page = await asKey(tenant.keys.test_secret, `${CUSTOMERS}?delinquent=true&limit=1`);
    expect(page.body.data[0].billing).toMatchObject({ delinquent: true });

    // Paid, the invoice no longer counts.
    await invoiceVerb(tenant, charged.id, "pay", { payment_method: "pm_card_visa" });
    expect(await stateOf(failing.id)).toMatchObject({ delinquent: false, open_invoices: 0 });
    expectError(
      await asKey(tenant.keys.test_secret, `${CUSTOMERS}?delinquent=maybe`),
      400,
      "validation_error",
    );
  });
});
