// The invoice state machine's verbs: finalize, pay, send, void, mark_uncollectible. Wrong-state
// requests answer Stripe's 400 messages (no `code`, as recorded from Stripe).
import { invoicePaymentMethod } from "./billing.ts";
import { apiError } from "./errors.ts";
import { collect, finalizeInvoice, markPaid, markUncollectible, voidInvoice } from "./invoice-collect.ts";
import { findInvoice } from "./invoices.ts";
import { allow, bool, reply, str } from "./params.ts";
import { customerPaymentMethod } from "./payments.ts";
import { type Ctx, type Reply, type Route, route } from "./router.ts";
import { emitFor } from "./webhooks.ts";

function refuse(message: string): never {
  throw apiError(400, { type: "invalid_request_error", message });
}

const NOT_OPEN = "You can only pass in open invoices. This invoice isn't open.";
const REQUIRES_ACTION =
  "This payment requires additional user action before it can be completed successfully. Payment can be completed using the PaymentIntent associated with the invoice. For more details see: https://stripe.com/docs/billing/subscriptions/overview#requires-action";

function finalize(ctx: Ctx): Reply {
  allow(ctx, ["auto_advance"]);
  const invoice = findInvoice(ctx);
  if (invoice.status !== "draft")
    refuse("This invoice is already finalized, you can't re-finalize a non-draft invoice.");
  const auto = bool(ctx.params, "auto_advance");
  if (auto !== undefined) invoice.auto_advance = auto;
  finalizeInvoice(ctx, invoice);
  return reply(ctx, invoice);
}

/** POST /v1/invoices/:id/pay: finalizes a draft, then charges (or records an out-of-band payment). */
function pay(ctx: Ctx): Reply {
  allow(ctx, ["payment_method", "off_session", "paid_out_of_band", "forgive", "source", "mandate"]);
  const invoice = findInvoice(ctx);
  if (invoice.status === "paid") refuse("Invoice is already paid");
  if (invoice.status === "void") refuse(NOT_OPEN);
  const pmParam = str(ctx.params, "payment_method");
  const pm = pmParam
    ? (customerPaymentMethod(ctx, pmParam, invoice.customer as string, "payment_method").id as string)
    : null;
  finalizeInvoice(ctx, invoice);
  if (invoice.status === "paid") return reply(ctx, invoice);
  if (bool(ctx.params, "paid_out_of_band") === true) {
    markPaid(ctx, invoice, null, true);
    return reply(ctx, invoice);
  }
  const outcome = collect(ctx, invoice, pm ?? invoicePaymentMethod(ctx, invoice));
  if (outcome?.status === "failed") {
    const d = outcome.decline;
    throw apiError(402, {
      type: "card_error",
      code: d.code,
      decline_code: d.declineCode,
      message: d.message,
      ...(outcome.charge ? { charge: outcome.charge.id as string } : {}),
    });
  }
  if (outcome?.status === "requires_action") {
    throw apiError(402, {
      type: "card_error",
      code: "invoice_payment_intent_requires_action",
      message: REQUIRES_ACTION,
    });
  }
  return reply(ctx, invoice);
}

function send(ctx: Ctx): Reply {
  allow(ctx, []);
  const invoice = findInvoice(ctx);
  if (invoice.collection_method !== "send_invoice")
    refuse("You can only send an invoice when its `collection_method` is `send_invoice`.");
  if (invoice.status === "paid" || invoice.status === "void" || invoice.status === "uncollectible") {
    refuse(
      "This invoice cannot be sent right now. Please contact us via https://support.stripe.com/contact with details, so we can help.",
    );
  }
  finalizeInvoice(ctx, invoice);
  emitFor(ctx, "invoice.sent", invoice);
  return reply(ctx, invoice);
}

function voidIt(ctx: Ctx): Reply {
  allow(ctx, []);
  const invoice = findInvoice(ctx);
  if (invoice.status === "paid") refuse("Invoices with `paid` payments cannot be voided.");
  if (invoice.status !== "open" && invoice.status !== "uncollectible") refuse(NOT_OPEN);
  voidInvoice(ctx, invoice);
  return reply(ctx, invoice);
}

function uncollectible(ctx: Ctx): Reply {
  allow(ctx, []);
  const invoice = findInvoice(ctx);
  if (invoice.status === "uncollectible") refuse("This invoice has already been marked uncollectible.");
  if (invoice.status !== "open") refuse(NOT_OPEN);
  markUncollectible(ctx, invoice);
  return reply(ctx, invoice);
}

export const invoiceActionRoutes: Route[] = [
  route("POST", "/v1/invoices/:id/finalize", finalize),
  route("POST", "/v1/invoices/:id/pay", pay),
  route("POST", "/v1/invoices/:id/send", send),
  route("POST", "/v1/invoices/:id/void", voidIt),
  route("POST", "/v1/invoices/:id/mark_uncollectible", uncollectible),
];
