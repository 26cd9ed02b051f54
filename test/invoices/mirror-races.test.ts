import { describe, expect, it } from "vitest";
import { asKey, relayConnectEvents, tenantEvents } from "../billing";
import { INVOICES, invoiceVerb, ownSeatDraft } from "../invoicing";
import { heldMirrorRun } from "../platform-billing/helpers";
import { doubleEvents, payHostedInvoice } from "../stripe-double";

describe("a mirror run and an API verb on one invoice", () => {
  it("a run that read the invoice before the API recorded its new state does not report that state again", {
    timeout: 30_000,
  }, async () => {
    const { own, customer, draft } = await ownSeatDraft();
    const open = await invoiceVerb(own, draft.id, "finalize");
    await relayConnectEvents(own.account);
    // Paid on the hosted page: Stripe's invoice.paid is recorded, not yet applied.
    expect(await payHostedInvoice(open.body.hosted_invoice_url)).toBeLessThan(400);
    const paid = (await doubleEvents({ account: own.account, type: "invoice.paid" })).find(
      (event) => (event.data.object as { id?: string }).id === draft.stripe_invoice_id,
    );
    if (!paid) throw new Error("the double sent no invoice.paid");
    const { delivery: _delivery, ...paidEvent } = paid;
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const run = await heldMirrorRun(own, customer.id, paidEvent);
    // While the run holds the invoice as open, the API meets Stripe's paid invoice and records it.
    expect((await invoiceVerb(own, draft.id, "mark_uncollectible")).status).toBe(409);
    await run.committed;
    const told = (await tenantEvents(own.tenantId, "invoice.paid")).filter(
      (event) => event.data.object.id === draft.id,
    );
    expect(told).toHaveLength(1);
  });

  it("a run's snapshot of the same second as the API's pay does not take the invoice back to open", {
    timeout: 30_000,
  }, async () => {
    const { own, customer, draft } = await ownSeatDraft();
    expect((await invoiceVerb(own, draft.id, "finalize")).body.status).toBe("open");
    await relayConnectEvents(own.account);
    const finalized = (await doubleEvents({ account: own.account, type: "invoice.finalized" })).find(
      (event) => (event.data.object as { id?: string }).id === draft.stripe_invoice_id,
    );
    if (!finalized) throw new Error("the double sent no invoice.finalized");
    // An invoice.updated of the open invoice (a note in the dashboard) in the second the API pays it.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 20));
    const { delivery: _delivery, ...base } = finalized;
    const noted = {
      ...base,
      id: `evt_note_${Date.now()}`,
      type: "invoice.updated",
      created: Math.floor(Date.now() / 1000),
    };
    const run = await heldMirrorRun(own, customer.id, noted, { settleMs: 150 });
    expect((await invoiceVerb(own, draft.id, "pay")).body).toMatchObject({ status: "paid" });
    expect(await run.committed).toEqual({ retry: [] });
    const got = await asKey(own.keys.test_secret, `${INVOICES}${draft.id}/`);
    expect(got.body).toMatchObject({ status: "paid" });
  });
});
