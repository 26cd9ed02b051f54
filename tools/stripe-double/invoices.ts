// Invoice endpoints: retrieve, list, update, and the state machine's verbs.
import { invoicePaymentMethod } from "./billing.ts";
import { apiError } from "./errors.ts";
import { collect, finalizeInvoice, markPaid } from "./invoice-collect.ts";
import { previewRoute } from "./invoice-preview.ts";
import { allow, allowList, applyMetadata, bool, listReply, oneOf, reply, str } from "./params.ts";
import { customerPaymentMethod } from "./payments.ts";
import { type Ctx, type Reply, type Route, route } from "./router.ts";
import { all, clone, type Json, mustFind } from "./state.ts";
import { enterCustomerTime } from "./test-clocks.ts";
import { diff, emitFor } from "./webhooks.ts";

function refuse(message: string, param?: string): never {
  throw apiError(400, { type: "invalid_request_error", message, ...(param ? { param } : {}) });
}

export function findInvoice(ctx: Ctx, id = ctx.match[0] ?? ""): Json {
  const invoice = mustFind(ctx.state, "invoice", id, ctx.scope).obj;
  enterCustomerTime(ctx, invoice.customer);
  return invoice;
}

const REQUIRES_ACTION =
  "This payment requires additional user action before it can be completed successfully. Payment can be completed using the PaymentIntent associated with the invoice. For more details see: https://stripe.com/docs/billing/subscriptions/overview#requires-action";

/** POST /v1/invoices/:id/pay: finalizes a draft, then charges (or records an out-of-band payment). */
function pay(ctx: Ctx): Reply {
  allow(ctx, ["payment_method", "off_session", "paid_out_of_band", "forgive", "source", "mandate"]);
  const invoice = findInvoice(ctx);
  if (invoice.status === "paid") refuse("Invoice is already paid");
  if (invoice.status === "void") refuse("You can only pass in open invoices. This invoice isn't open.");
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

function list(ctx: Ctx): Reply {
  allowList(ctx, ["customer", "subscription", "status", "collection_method", "created", "due_date"]);
  const p = ctx.params;
  const customer = str(p, "customer");
  const subscription = str(p, "subscription");
  const status = oneOf(p, "status", ["draft", "open", "paid", "uncollectible", "void"]);
  const collection = oneOf(p, "collection_method", ["charge_automatically", "send_invoice"]);
  const items = all(ctx.state, "invoice", ctx.scope)
    .map((s) => s.obj)
    .filter(
      (o) =>
        o.deleted !== true &&
        (!customer || o.customer === customer) &&
        (!subscription || o.subscription === subscription) &&
        (!status || o.status === status) &&
        (!collection || o.collection_method === collection),
    );
  return listReply(ctx, items, "/v1/invoices");
}

function update(ctx: Ctx): Reply {
  allow(ctx, ["metadata", "description", "footer"]);
  const invoice = findInvoice(ctx);
  const before = clone(invoice);
  invoice.metadata = applyMetadata(invoice.metadata as Json, ctx.params);
  const previous = diff(before, invoice);
  if (previous) emitFor(ctx, "invoice.updated", invoice, { previous });
  return reply(ctx, invoice);
}

export const invoiceRoutes: Route[] = [
  route(previewRoute.method, previewRoute.path, previewRoute.handler),
  route("GET", "/v1/invoices", list),
  route("GET", "/v1/invoices/:id", (ctx) => reply(ctx, findInvoice(ctx))),
  route("POST", "/v1/invoices/:id", update),
  route("POST", "/v1/invoices/:id/pay", pay),
];
