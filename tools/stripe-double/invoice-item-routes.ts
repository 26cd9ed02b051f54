// Invoice item endpoints: create (pending, or onto a draft invoice), retrieve, update, delete, list.
import { apiError, invalid, missing } from "./errors.ts";
import type { FormObject } from "./form.ts";
import { createInvoiceItem } from "./invoice-items.ts";
import { findInvoice, syncItemLines } from "./invoices.ts";
import {
  allow,
  allowList,
  applyMetadata,
  bool,
  int,
  listReply,
  nullableStr,
  obj,
  reply,
  reqStr,
  str,
} from "./params.ts";
import { liveCustomer } from "./payments.ts";
import { type Ctx, type Reply, type Route, route } from "./router.ts";
import { all, clone, find, type Json, mustFind, newId, now, put } from "./state.ts";
import { enterCustomerTime } from "./test-clocks.ts";
import { diff, emitFor } from "./webhooks.ts";

function draftOf(ctx: Ctx, invoiceId: string, param = "invoice"): Json {
  const invoice = findInvoice(ctx, invoiceId);
  if (invoice.status !== "draft") {
    throw invalid(
      param,
      `Invoice ${invoiceId} is not a draft: invoice items can only be added to or changed on draft invoices.`,
      "invoice_not_editable",
    );
  }
  return invoice;
}

const PRICE_DATA = ["currency", "product", "unit_amount", "unit_amount_decimal", "tax_behavior"];

/**
 * The item's price: one named (`pricing[price]`, or `price` of older versions), which must be
 * one-time, as Stripe refuses a recurring price on an invoice item; or a one-time price made inline
 * from `price_data` for an existing product.
 */
function priceOf(ctx: Ctx, p: FormObject): Json | null {
  const pricing = obj(p, "pricing");
  const param = pricing ? "pricing[price]" : "price";
  const priceId = (pricing ? str(pricing, "price", param) : undefined) ?? str(p, "price");
  const data = obj(p, "price_data");
  if (priceId && data)
    throw invalid("price_data", `You may only specify one of these parameters: ${param}, price_data.`);
  if (data) return inlinePrice(ctx, data);
  if (!priceId) return null;
  const price = mustFind(ctx.state, "price", priceId, ctx.scope, "price", param).obj;
  if (price.type === "recurring")
    throw invalid(
      param,
      "The price specified is set to `type=recurring` but this field only accepts prices with `type=one_time`.",
    );
  return price;
}

function inlinePrice(ctx: Ctx, data: FormObject): Json {
  const unknown = Object.keys(data).find((key) => !PRICE_DATA.includes(key));
  if (unknown && ctx.state.strict)
    throw invalid(
      `price_data[${unknown}]`,
      `Received unknown parameter: price_data[${unknown}]`,
      "parameter_unknown",
    );
  const product = reqStr(data, "product", "price_data[product]");
  mustFind(ctx.state, "product", product, ctx.scope, "product", "price_data[product]");
  const currency = reqStr(data, "currency", "price_data[currency]").toLowerCase();
  const unitAmount = int(data, "unit_amount", "price_data[unit_amount]", 0);
  const decimal = str(data, "unit_amount_decimal", "price_data[unit_amount_decimal]");
  if (unitAmount === undefined && decimal === undefined) throw missing("price_data[unit_amount]");
  const amount = unitAmount ?? Math.round(Number(decimal));
  const price: Json = {
    id: newId("price"),
    object: "price",
    active: false,
    billing_scheme: "per_unit",
    created: now(),
    currency,
    custom_unit_amount: null,
    livemode: ctx.livemode,
    lookup_key: null,
    metadata: {},
    nickname: null,
    product,
    recurring: null,
    tax_behavior: str(data, "tax_behavior", "price_data[tax_behavior]") ?? "unspecified",
    tiers_mode: null,
    transform_quantity: null,
    type: "one_time",
    unit_amount: amount,
    unit_amount_decimal: decimal ?? String(amount),
  };
  put(ctx.state, "price", ctx.scope, price);
  return price;
}

function period(p: FormObject): { start: number; end: number } | undefined {
  const given = obj(p, "period");
  if (!given) return undefined;
  const start = int(given, "start", "period[start]");
  const end = int(given, "end", "period[end]");
  if (start === undefined) throw missing("period[start]");
  if (end === undefined) throw missing("period[end]");
  return { start, end };
}

function create(ctx: Ctx): Reply {
  allow(ctx, [
    "customer",
    "invoice",
    "amount",
    "currency",
    "pricing",
    "price",
    "price_data",
    "quantity",
    "description",
    "discountable",
    "discounts",
    "metadata",
    "period",
    "subscription",
    "tax_rates",
    "tax_behavior",
    "tax_code",
    "unit_amount_decimal",
    "customer_account",
  ]);
  const p = ctx.params;
  const customerId = str(p, "customer");
  if (!customerId) throw missing("customer");
  const customer = liveCustomer(ctx, customerId);
  const invoiceId = str(p, "invoice");
  const invoice = invoiceId ? draftOf(ctx, invoiceId) : null;
  if (invoice && invoice.customer !== customerId)
    throw invalid("invoice", `Invoice ${invoiceId} does not belong to customer ${customerId}.`);
  const price = priceOf(ctx, p);
  const quantity = int(p, "quantity", "quantity", 0) ?? 1;
  const unitDecimal = str(p, "unit_amount_decimal");
  if (unitDecimal !== undefined && !/^-?\d+(\.\d{1,12})?$/.test(unitDecimal))
    throw invalid("unit_amount_decimal", `Invalid decimal: ${unitDecimal}`);
  const amount =
    int(p, "amount") ??
    (unitDecimal !== undefined ? Math.round(Number(unitDecimal) * quantity) : undefined) ??
    (price ? Number(price.unit_amount) * quantity : undefined);
  if (amount === undefined) throw missing("amount");
  const currency = (str(p, "currency") ?? (price?.currency as string | undefined))?.toLowerCase();
  if (!currency) throw missing("currency");
  if (invoice && invoice.currency !== currency)
    throw invalid(
      "currency",
      `The currency of the invoice item (${currency}) must match the invoice's currency (${String(invoice.currency)}).`,
    );
  const subId = str(p, "subscription");
  if (subId) mustFind(ctx.state, "subscription", subId, ctx.scope, "subscription", "subscription");
  const item = createInvoiceItem(ctx, {
    customer: customerId,
    amount,
    currency,
    description: nullableStr(p, "description") ?? (price ? null : "Invoice item"),
    period: period(p),
    quantity,
    price,
    subscription: subId ?? null,
    invoice: invoice ? (invoice.id as string) : null,
    discountable: bool(p, "discountable") ?? true,
    metadata: applyMetadata({}, p),
    testClock: (customer.test_clock as string | null) ?? null,
  });
  if (invoice) syncItemLines(ctx, invoice);
  return reply(ctx, item);
}

function findItem(ctx: Ctx): Json {
  const item = mustFind(ctx.state, "invoiceitem", ctx.match[0] ?? "", ctx.scope, "invoiceitem").obj;
  enterCustomerTime(ctx, item.customer);
  return item;
}

function editable(ctx: Ctx, item: Json): Json | null {
  if (!item.invoice) return null;
  const invoice = find(ctx.state, "invoice", item.invoice as string, ctx.scope)?.obj;
  if (invoice && invoice.status !== "draft") {
    throw apiError(400, {
      type: "invalid_request_error",
      code: "invoice_not_editable",
      message: `The invoice item ${String(item.id)} is on a finalized invoice and can no longer be changed.`,
    });
  }
  return invoice ?? null;
}

function update(ctx: Ctx): Reply {
  allow(ctx, [
    "amount",
    "description",
    "discountable",
    "discounts",
    "metadata",
    "period",
    "pricing",
    "price",
    "quantity",
    "tax_rates",
    "unit_amount_decimal",
  ]);
  const item = findItem(ctx);
  const invoice = editable(ctx, item);
  const before = clone(item);
  const p = ctx.params;
  const quantity = int(p, "quantity", "quantity", 0);
  if (quantity !== undefined) item.quantity = quantity;
  const amount = int(p, "amount");
  if (amount !== undefined) item.amount = amount;
  const description = nullableStr(p, "description");
  if (description !== undefined) item.description = description;
  const discountable = bool(p, "discountable");
  if (discountable !== undefined) item.discountable = discountable;
  const span = period(p);
  if (span) item.period = span;
  item.metadata = applyMetadata(item.metadata as Json, p);
  if (invoice) syncItemLines(ctx, invoice);
  const previous = diff(before, item);
  if (previous) emitFor(ctx, "invoiceitem.updated", item, { previous });
  return reply(ctx, item);
}

function remove(ctx: Ctx): Reply {
  const item = findItem(ctx);
  const invoice = editable(ctx, item);
  ctx.state.objects.delete(item.id as string);
  if (invoice) syncItemLines(ctx, invoice);
  emitFor(ctx, "invoiceitem.deleted", item);
  return { status: 200, body: { id: item.id, object: "invoiceitem", deleted: true } };
}

function list(ctx: Ctx): Reply {
  allowList(ctx, ["customer", "invoice", "pending", "created", "customer_account"]);
  const customer = str(ctx.params, "customer");
  const invoice = str(ctx.params, "invoice");
  const pending = bool(ctx.params, "pending");
  const items = all(ctx.state, "invoiceitem", ctx.scope)
    .map((s) => s.obj)
    .filter(
      (o) =>
        (!customer || o.customer === customer) &&
        (!invoice || o.invoice === invoice) &&
        (pending === undefined || (o.invoice === null) === pending),
    );
  return listReply(ctx, items, "/v1/invoiceitems");
}

export const invoiceItemRoutes: Route[] = [
  route("POST", "/v1/invoiceitems", create),
  route("GET", "/v1/invoiceitems", list),
  route("GET", "/v1/invoiceitems/:id", (ctx) => reply(ctx, findItem(ctx))),
  route("POST", "/v1/invoiceitems/:id", update),
  route("DELETE", "/v1/invoiceitems/:id", remove),
];
