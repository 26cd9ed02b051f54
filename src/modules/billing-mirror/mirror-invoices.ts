// The mirror's invoices: the row, the payments analytics counts once, dunning on failed and paid
// invoices, and a deleted draft kept as deleted.
import type { InvoiceRow } from "../../db/schema";
import { applyInvoicePaid, applyPaymentFailure } from "../dunning/dunning-run";
import { invoiceShows } from "../invoices/invoice-commit";
import { serializeInvoice } from "../invoices/invoices.schemas";
import { invoiceFields } from "../invoices/stripe-invoice";
import type { StripeEventLike } from "../platform-billing/stripe-mapping";
import { customerFor } from "./mirror-customers";
import { type MirrorRun, type Obj, obj, ourId, snapshotToApply, str } from "./mirror-run";
import { INVOICE_FIELDS, invoiceEventTypes } from "./rules";

function invoiceRow(
  run: MirrorRun,
  current: InvoiceRow | undefined,
  snapshot: Obj,
  created: number,
): InvoiceRow {
  const fields = invoiceFields(snapshot);
  const customer = customerFor(run, fields.stripeCustomerId, fields.livemode, {
    email: snapshot.customer_email,
    name: snapshot.customer_name,
  });
  const subscription = fields.stripeSubscriptionId
    ? run.state.subscriptions.get(fields.stripeSubscriptionId)
    : undefined;
  const now = run.ctx.clock.now();
  return {
    ...fields,
    id: current?.id ?? ourId(run, "invoice", obj(snapshot.metadata).invoice_id, fields.stripeInvoiceId),
    tenantId: run.tenant.id,
    livemode: current?.livemode ?? fields.livemode,
    customerId: current?.customerId ?? customer.id,
    subscriptionId: subscription?.id ?? current?.subscriptionId ?? null,
    // Events do not expand `payments`: the payment our API read stays known.
    paymentIntentId: fields.paymentIntentId ?? current?.paymentIntentId ?? null,
    chargeId: fields.chargeId ?? current?.chargeId ?? null,
    amountRefunded: current?.amountRefunded ?? 0,
    deletedAt: current?.deletedAt ?? null,
    lastEventCreated: created,
    createdAt: current?.createdAt ?? now,
    updatedAt: now,
  };
}

export async function applyInvoice(run: MirrorRun, event: StripeEventLike, object: Obj): Promise<string> {
  const stripeId = str(object.id) ?? "";
  if (!stripeId || stripeId.startsWith("upcoming")) return "ignored: not a stored invoice";
  const current = run.state.invoices.get(stripeId);
  // Only a draft can be deleted, and for good: every other event of it is older than its deletion.
  if (current?.deletedAt) return "ignored: the invoice is deleted";
  if (event.type === "invoice.deleted") return applyInvoiceDeleted(run, event, object, current);
  const notes: string[] = [];
  const settled = await snapshotToApply(
    current,
    event.created,
    (snapshot) => invoiceRow(run, current, snapshot, event.created),
    INVOICE_FIELDS,
    object,
    () => run.current("invoices", stripeId),
  );
  let row = current;
  if ("skip" in settled) {
    notes.push(settled.skip);
  } else {
    const next = invoiceRow(run, current, settled.snapshot, event.created);
    const types = invoiceEventTypes(current, next);
    run.state.putInvoice(next, !current);
    // A state the API has recorded since the run read the row (its verb met Stripe's newer state)
    // was reported with it.
    for (const type of types)
      run.emit(
        type,
        serializeInvoice(next),
        next.livemode,
        type === "invoice.created" ? undefined : invoiceShows(next.id, next.status),
      );
    notes.push(types.length ? `mirrored: ${types.join(", ")}` : "no change");
    row = next;
  }
  // Money collected counts once per invoice, whenever an event first shows it paid.
  const paid = invoiceFields(object);
  if (paid.status === "paid" && paid.amountPaid > 0) {
    run.analytics.addPayment({
      id: `invoice:${stripeId}`,
      kind: "payment",
      customerId: row?.customerId ?? null,
      livemode: paid.livemode,
      currency: paid.currency,
      amount: paid.amountPaid,
      fee: paid.applicationFeeAmount ?? 0,
      occurredAt: paid.paidAt?.getTime() ?? event.created * 1000,
    });
  }
  // Each failed attempt is recorded and reported once, even late, and dunning applies the
  // tenant's policy to it; a paid invoice may end a subscription's dunning.
  if (event.type === "invoice.payment_failed" && row)
    notes.push(await applyPaymentFailure(run, row, object, event.id));
  if (event.type === "invoice.paid" && row) {
    const note = await applyInvoicePaid(run, row, event.id);
    if (note) notes.push(note);
  }
  return notes.join("; ");
}

/**
 * A draft deleted at Stripe stays in the mirror as deleted (`deletedAt`), so that none of its
 * older events, in whatever order they come, lists it again; reads answer 404 for it. One the
 * mirror never saw is stored deleted for the same reason. No tenant event: the tenant's API
 * answers 404 for it from now on, as Stripe's does.
 */
function applyInvoiceDeleted(
  run: MirrorRun,
  event: StripeEventLike,
  object: Obj,
  current: InvoiceRow | undefined,
): string {
  const row = current ?? invoiceRow(run, undefined, object, event.created);
  run.state.putInvoice(
    {
      ...row,
      deletedAt: run.ctx.clock.now(),
      lastEventCreated: Math.max(event.created, row.lastEventCreated ?? 0),
    },
    !current,
  );
  return "deleted";
}
