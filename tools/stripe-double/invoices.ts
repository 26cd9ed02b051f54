// Invoice endpoints: create a draft, update (drafts fully; finalized ones: metadata and
// auto_advance), retrieve, list, search, lines, delete (drafts). The verbs are in
// invoice-actions.ts, previews in invoice-preview.ts.
import { apiError, invalid, missing } from "./errors.ts";
import type { FormObject } from "./form.ts";
import { draftInvoice, lineItem, linesOf, recompute, setLines } from "./invoice-build.ts";
import { createPreview } from "./invoice-preview.ts";
import {
  allow,
  allowList,
  applyMetadata,
  bool,
  int,
  listReply,
  nullableStr,
  oneOf,
  reply,
  str,
} from "./params.ts";
import { customerPaymentMethod, liveCustomer } from "./payments.ts";
import { type Ctx, type Reply, type Route, route } from "./router.ts";
import { searchReply } from "./search.ts";
import { all, clone, type Json, mustFind, put } from "./state.ts";
import { invoiceDiscounts } from "./subscription-discounts.ts";
import { invoiceItemLine, pendingItemsFor } from "./subscription-invoices.ts";
import { enterCustomerTime } from "./test-clocks.ts";
import { diff, emitFor } from "./webhooks.ts";

export function findInvoice(ctx: Ctx, id = ctx.match[0] ?? ""): Json {
  const invoice = mustFind(ctx.state, "invoice", id, ctx.scope).obj;
  enterCustomerTime(ctx, invoice.customer);
  return invoice;
}

/** The invoice item a line was made from, if any. */
export function itemOfLine(line: Json): string | null {
  const parent = line.parent as {
    invoice_item_details?: { invoice_item?: string } | null;
    subscription_item_details?: { invoice_item?: string | null } | null;
  } | null;
  return (
    parent?.invoice_item_details?.invoice_item ?? parent?.subscription_item_details?.invoice_item ?? null
  );
}

/** Rebuilds a draft's invoice-item lines from the items attached to it (others are kept). */
export function syncItemLines(ctx: Ctx, invoice: Json): void {
  const kept = linesOf(invoice).filter((l) => itemOfLine(l) === null);
  const items = all(ctx.state, "invoiceitem", ctx.scope)
    .map((s) => s.obj)
    .filter((ii) => ii.invoice === invoice.id && ii.deleted !== true)
    .reverse();
  setLines(ctx, invoice, [
    ...items.map((ii) => lineItem(ctx, invoiceItemLine(ctx, ii), invoice.id as string)),
    ...kept,
  ]);
}

function feeAmount(ctx: Ctx, p: FormObject): number | null | undefined {
  const fee = int(p, "application_fee_amount", "application_fee_amount", 0);
  if (fee !== undefined && !ctx.scope) {
    throw invalid(
      "application_fee_amount",
      "Can only apply an application_fee_amount when the request is made on behalf of another account (using an OAuth key or the Stripe-Account header).",
    );
  }
  return fee;
}

const DRAFT_FIELDS = [
  "customer",
  "collection_method",
  "days_until_due",
  "due_date",
  "auto_advance",
  "description",
  "metadata",
  "application_fee_amount",
  "discounts",
  "default_payment_method",
  "footer",
  "currency",
  "statement_descriptor",
  "custom_fields",
  "effective_at",
  "number",
  "automatically_finalizes_at",
  "payment_settings",
  "rendering",
  "account_tax_ids",
  "default_tax_rates",
  "on_behalf_of",
  "issuer",
  "shipping_details",
  "shipping_cost",
  "transfer_data",
  "automatic_tax",
];

function setDraftFields(ctx: Ctx, invoice: Json, p: FormObject): void {
  const collection = oneOf(p, "collection_method", ["charge_automatically", "send_invoice"]);
  if (collection) invoice.collection_method = collection;
  const days = int(p, "days_until_due", "days_until_due", 0);
  const due = int(p, "due_date");
  if (invoice.collection_method === "charge_automatically" && (days !== undefined || due !== undefined)) {
    throw invalid(
      days !== undefined ? "days_until_due" : "due_date",
      "Invoices with `collection_method=charge_automatically` can't have a due date.",
    );
  }
  if (due !== undefined) invoice.due_date = due;
  else if (days !== undefined) invoice.due_date = Number(invoice.created) + days * 86400;
  if (invoice.collection_method === "send_invoice" && invoice.due_date === null)
    throw missing("days_until_due");
  const auto = bool(p, "auto_advance");
  if (auto !== undefined) {
    invoice.auto_advance = auto;
    invoice.automatically_finalizes_at =
      auto && invoice.status === "draft" ? Number(invoice.created) + 3600 : null;
  }
  for (const key of ["description", "footer", "statement_descriptor", "number"]) {
    const v = nullableStr(p, key);
    if (v !== undefined) invoice[key] = v;
  }
  const fee = feeAmount(ctx, p);
  if (fee !== undefined) invoice.application_fee_amount = fee;
  const pm = str(p, "default_payment_method");
  if (pm !== undefined)
    invoice.default_payment_method = pm
      ? customerPaymentMethod(ctx, pm, invoice.customer as string, "default_payment_method").id
      : null;
  invoice.metadata = applyMetadata(invoice.metadata as Json, p);
  const discounts = invoiceDiscounts(ctx, invoice, p);
  if (discounts) invoice.discounts = discounts;
  recompute(ctx, invoice);
}

function create(ctx: Ctx): Reply {
  allow(ctx, [
    ...DRAFT_FIELDS,
    "pending_invoice_items_behavior",
    "subscription",
    "from_invoice",
    "customer_account",
  ]);
  const p = ctx.params;
  const customerId = str(p, "customer");
  if (!customerId) throw missing("customer");
  const customer = liveCustomer(ctx, customerId);
  const include = oneOf(p, "pending_invoice_items_behavior", ["include", "exclude"]) === "include";
  const subId = str(p, "subscription");
  if (subId) mustFind(ctx.state, "subscription", subId, ctx.scope, "subscription", "subscription");
  const pending =
    include || subId
      ? pendingItemsFor(ctx, customerId, subId ?? null).filter(
          (ii) => !subId || (ii.parent as Json | null) !== null,
        )
      : [];
  const currency = (
    str(p, "currency") ??
    (pending[0]?.currency as string | undefined) ??
    (customer.currency as string | null) ??
    "usd"
  ).toLowerCase();
  const invoice = draftInvoice(ctx, { customer, currency, billingReason: "manual" });
  setDraftFields(ctx, invoice, p);
  for (const ii of pending.filter((i) => i.currency === currency)) ii.invoice = invoice.id;
  put(ctx.state, "invoice", ctx.scope, invoice);
  syncItemLines(ctx, invoice);
  emitFor(ctx, "invoice.created", invoice);
  return reply(ctx, invoice);
}

const OPEN_FIELDS = ["metadata", "auto_advance", "expand"];

function update(ctx: Ctx): Reply {
  allow(ctx, DRAFT_FIELDS);
  const invoice = findInvoice(ctx);
  const p = ctx.params;
  const before = clone(invoice);
  if (invoice.status !== "draft") {
    const other = Object.keys(p).find((k) => !OPEN_FIELDS.includes(k));
    if (other)
      throw apiError(400, {
        type: "invalid_request_error",
        param: other,
        message: "Finalized invoices can't be updated in this way",
      });
    invoice.metadata = applyMetadata(invoice.metadata as Json, p);
    const auto = bool(p, "auto_advance");
    if (auto !== undefined) invoice.auto_advance = auto;
  } else {
    setDraftFields(ctx, invoice, p);
  }
  const previous = diff(before, invoice);
  if (previous) emitFor(ctx, "invoice.updated", invoice, { previous });
  return reply(ctx, invoice);
}

function remove(ctx: Ctx): Reply {
  const invoice = findInvoice(ctx);
  if (invoice.status !== "draft")
    throw apiError(400, { type: "invalid_request_error", message: "You can only delete draft invoices." });
  if (invoice.subscription)
    throw apiError(400, {
      type: "invalid_request_error",
      message: "You can't delete invoices created by subscriptions.",
    });
  ctx.state.objects.delete(invoice.id as string);
  emitFor(ctx, "invoice.deleted", invoice);
  return { status: 200, body: { id: invoice.id, object: "invoice", deleted: true } };
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
        (!customer || o.customer === customer) &&
        (!subscription || o.subscription === subscription) &&
        (!status || o.status === status) &&
        (!collection || o.collection_method === collection),
    );
  return listReply(ctx, items, "/v1/invoices");
}

function lines(ctx: Ctx): Reply {
  allowList(ctx);
  const invoice = findInvoice(ctx);
  return listReply(ctx, linesOf(invoice), `/v1/invoices/${String(invoice.id)}/lines`);
}

export const invoiceRoutes: Route[] = [
  route("POST", "/v1/invoices/create_preview", createPreview),
  route("POST", "/v1/invoices", create),
  route("GET", "/v1/invoices", list),
  route("GET", "/v1/invoices/search", (ctx) =>
    searchReply(
      ctx,
      all(ctx.state, "invoice", ctx.scope).map((s) => s.obj),
      "invoices",
      ["created", "currency", "customer", "metadata", "number", "status", "subscription", "total"],
    ),
  ),
  route("GET", "/v1/invoices/:id", (ctx) => reply(ctx, findInvoice(ctx))),
  route("POST", "/v1/invoices/:id", update),
  route("DELETE", "/v1/invoices/:id", remove),
  route("GET", "/v1/invoices/:id/lines", lines),
];
