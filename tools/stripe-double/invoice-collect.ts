// The life of an invoice after its draft: finalization (number, hosted URL, the customer's balance,
// a PaymentIntent and its InvoicePayment when something is due), payment attempts and what they
// do to the invoice (paid, failed with the retry schedule, waiting for 3D Secure), void and
// uncollectible. Subscription-side consequences are in subscription-status.ts.
import { consumeDiscounts } from "./discount-objects.ts";
import { recompute } from "./invoice-build.ts";
import { includable } from "./params.ts";
import { createPaymentIntent, type Outcome, runPayment } from "./payment-intents.ts";
import { retryScheduleFor } from "./retries.ts";
import type { Ctx } from "./router.ts";
import { all, find, type Json, newId, note, now, put } from "./state.ts";
import { subscriptionAfterFailure, subscriptionAfterPayment } from "./subscription-status.ts";
import { emitFor } from "./webhooks.ts";

export function intentOf(ctx: Ctx, invoice: Json): Json | null {
  const id = ctx.state.notes.get(invoice.id as string)?.payment_intent as string | undefined;
  return id ? (find(ctx.state, "payment_intent", id, ctx.scope)?.obj ?? null) : null;
}

export function paymentsOf(ctx: Ctx, invoiceId: string): Json[] {
  return all(ctx.state, "invoice_payment", ctx.scope)
    .map((s) => s.obj)
    .filter((p) => p.invoice === invoiceId);
}

includable("invoice", "payments", (ctx, invoice) => {
  const data = paymentsOf(ctx, invoice.id as string);
  return { object: "list", data, has_more: false, total_count: data.length, url: "/v1/invoice_payments" };
});
includable("invoice", "confirmation_secret", (ctx, invoice) => {
  const pi = intentOf(ctx, invoice);
  return pi ? { client_secret: pi.client_secret, type: "payment_intent" } : null;
});

function description(invoice: Json): string {
  const reasons: Record<string, string> = {
    subscription_create: "Subscription creation",
    subscription_cycle: "Subscription update",
    subscription_update: "Subscription update",
  };
  return reasons[String(invoice.billing_reason)] ?? `Invoice ${String(invoice.number)}`;
}

/** Applies the customer's balance (credit or debt) to a finalizing invoice. */
function applyBalance(ctx: Ctx, invoice: Json): void {
  const customer = find(ctx.state, "customer", invoice.customer as string, ctx.scope)?.obj;
  const start = Number(customer?.balance ?? 0);
  invoice.starting_balance = start;
  recompute(ctx, invoice);
  const net = Number(invoice.total) + start;
  invoice.ending_balance = Math.min(0, net);
  if (customer && customer.balance !== invoice.ending_balance) customer.balance = invoice.ending_balance;
}

/** draft → open (or straight to paid when nothing is due); `invoice.finalized`. */
export function finalizeInvoice(ctx: Ctx, invoice: Json): void {
  if (invoice.status !== "draft") return;
  const t = now();
  const customer = find(ctx.state, "customer", invoice.customer as string, ctx.scope)?.obj;
  applyBalance(ctx, invoice);
  if (!invoice.number) {
    const seq = Number(customer?.next_invoice_sequence ?? 1);
    if (customer) customer.next_invoice_sequence = seq + 1;
    invoice.number = `${String(customer?.invoice_prefix ?? "DOUBLE")}-${String(seq).padStart(4, "0")}`;
  }
  Object.assign(invoice, {
    status: "open",
    effective_at: invoice.effective_at ?? t,
    automatically_finalizes_at: null,
    hosted_invoice_url: `${ctx.baseUrl}/invoice/${String(invoice.id)}`,
    invoice_pdf: `${ctx.baseUrl}/invoice/${String(invoice.id)}/pdf`,
  });
  (invoice.status_transitions as Json).finalized_at = t;
  consumeDiscounts(ctx, invoice);
  const due = Number(invoice.amount_due);
  if (due > 0) {
    const pi = createPaymentIntent(ctx, {
      amount: due,
      currency: invoice.currency as string,
      customer: invoice.customer as string,
      description: description(invoice),
      applicationFeeAmount: (invoice.application_fee_amount as number | null) ?? null,
      invoice: invoice.id as string,
    });
    note(ctx.state, invoice.id as string).payment_intent = pi.id;
    put(ctx.state, "invoice_payment", ctx.scope, {
      id: newId("inpay"),
      object: "invoice_payment",
      amount_paid: null,
      amount_requested: due,
      created: t,
      currency: invoice.currency,
      invoice: invoice.id,
      is_default: true,
      livemode: ctx.livemode,
      payment: { payment_intent: pi.id, type: "payment_intent" },
      status: "open",
      status_transitions: { canceled_at: null, paid_at: null },
    });
  }
  emitFor(ctx, "invoice.finalized", invoice);
  if (due > 0 && invoice.auto_advance === true && invoice.billing_reason === "manual") {
    // Stripe collects (or sends) an auto-advancing one-off invoice about an hour after finalizing it.
    if (invoice.collection_method === "charge_automatically") invoice.next_payment_attempt = t + 3600;
  }
  if (due > 0 && invoice.auto_advance === true && invoice.collection_method === "send_invoice") {
    emitFor(ctx, "invoice.sent", invoice);
  }
  if (due === 0) {
    invoice.attempted = true;
    markPaid(ctx, invoice, null);
  }
}

/** Marks the invoice paid (by `charge`, or out of band when null and something was due). */
export function markPaid(ctx: Ctx, invoice: Json, charge: Json | null, outOfBand = false): void {
  const t = now();
  Object.assign(invoice, {
    status: "paid",
    amount_paid: invoice.amount_due,
    amount_remaining: 0,
    next_payment_attempt: null,
  });
  if (charge?.payment_method) invoice.default_payment_method ??= charge.payment_method;
  (invoice.status_transitions as Json).paid_at = t;
  for (const payment of paymentsOf(ctx, invoice.id as string)) {
    if (payment.status !== "open") continue;
    const transitions = payment.status_transitions as Json;
    if (outOfBand) {
      payment.status = "canceled";
      transitions.canceled_at = t;
      const pi = intentOf(ctx, invoice);
      if (pi) Object.assign(pi, { status: "canceled", canceled_at: t, cancellation_reason: "void_invoice" });
      continue;
    }
    Object.assign(payment, { status: "paid", amount_paid: invoice.amount_due });
    transitions.paid_at = t;
    emitFor(ctx, "invoice_payment.paid", payment);
  }
  emitFor(ctx, "invoice.paid", invoice);
  if (!outOfBand) emitFor(ctx, "invoice.payment_succeeded", invoice);
  subscriptionAfterPayment(ctx, invoice, (charge?.payment_method as string | null | undefined) ?? null);
}

/** The next attempt after a failure, from the retry schedule (null: no retries, or none left). */
function scheduleNext(ctx: Ctx, invoice: Json): number | null {
  if (invoice.auto_advance !== true || invoice.collection_method !== "charge_automatically") return null;
  if (invoice.billing_reason === "subscription_create") return null;
  const schedule = retryScheduleFor(ctx, invoice.customer as string);
  const retriesDone = Number(invoice.attempt_count) - 1;
  const delay = schedule.delaysDays[retriesDone];
  return delay === undefined ? null : now() + Math.round(delay * 86400);
}

/** What an attempt on the invoice's PaymentIntent did to the invoice. */
export function intentSettled(ctx: Ctx, pi: Json, outcome: Outcome, countAttempt: boolean): void {
  const invoiceId = ctx.state.notes.get(pi.id as string)?.invoice as string | undefined;
  const invoice = invoiceId ? find(ctx.state, "invoice", invoiceId, ctx.scope)?.obj : undefined;
  if (!invoice || invoice.status === "paid" || invoice.status === "void") return;
  if (countAttempt) {
    invoice.attempt_count = Number(invoice.attempt_count) + 1;
    invoice.attempted = true;
  }
  if (outcome.status === "succeeded") {
    markPaid(ctx, invoice, outcome.charge);
    return;
  }
  if (outcome.status === "requires_action") {
    invoice.next_payment_attempt = null;
    emitFor(ctx, "invoice.payment_action_required", invoice);
    subscriptionAfterFailure(ctx, invoice, false);
    return;
  }
  const next = scheduleNext(ctx, invoice);
  invoice.next_payment_attempt = next;
  emitFor(ctx, "invoice.payment_failed", invoice);
  const exhausted =
    next === null &&
    invoice.auto_advance === true &&
    invoice.collection_method === "charge_automatically" &&
    invoice.billing_reason !== "subscription_create";
  subscriptionAfterFailure(ctx, invoice, exhausted);
}

/** One payment attempt on an open invoice with `pmId`; returns what happened. */
export function collect(ctx: Ctx, invoice: Json, pmId: string | null, forceDecline = false): Outcome | null {
  const pi = intentOf(ctx, invoice);
  if (!pi || (invoice.status !== "open" && invoice.status !== "uncollectible")) return null;
  if (pi.status === "succeeded") return null;
  const outcome = runPayment(ctx, pi, pmId, { forceDecline });
  intentSettled(ctx, pi, outcome, true);
  return outcome;
}

function cancelPayments(ctx: Ctx, invoice: Json): void {
  const t = now();
  for (const payment of paymentsOf(ctx, invoice.id as string)) {
    if (payment.status !== "open") continue;
    payment.status = "canceled";
    (payment.status_transitions as Json).canceled_at = t;
  }
  const pi = intentOf(ctx, invoice);
  if (pi && pi.status !== "succeeded" && pi.status !== "canceled") {
    Object.assign(pi, {
      status: "canceled",
      canceled_at: t,
      cancellation_reason: "void_invoice",
      next_action: null,
    });
    emitFor(ctx, "payment_intent.canceled", pi);
  }
}

export function voidInvoice(ctx: Ctx, invoice: Json): void {
  cancelPayments(ctx, invoice);
  Object.assign(invoice, { status: "void", next_payment_attempt: null, auto_advance: false });
  (invoice.status_transitions as Json).voided_at = now();
  emitFor(ctx, "invoice.voided", invoice);
}

export function markUncollectible(ctx: Ctx, invoice: Json): void {
  Object.assign(invoice, { status: "uncollectible", next_payment_attempt: null });
  (invoice.status_transitions as Json).marked_uncollectible_at = now();
  emitFor(ctx, "invoice.marked_uncollectible", invoice);
}
