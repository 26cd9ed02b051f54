// Billing periods, invoices and charges for subscriptions; invoice endpoints.
import { apiError, cardDeclined, type HttpError } from "./errors.ts";
import { allow, allowList, applyMetadata, listReply, oneOf, reply, str } from "./params.ts";
import { chargeDecline } from "./payments.ts";
import { type Ctx, type Reply, type Route, route } from "./router.ts";
import { all, find, type Json, mustFind, newId, now, put } from "./state.ts";
import { diff, emitFor } from "./webhooks.ts";

/** `ts` moved by `count` intervals; month and year steps clamp to the end of shorter months. */
export function addInterval(ts: number, interval: string, count: number): number {
  const d = new Date(ts * 1000);
  if (interval === "day" || interval === "week") {
    d.setUTCDate(d.getUTCDate() + count * (interval === "week" ? 7 : 1));
    return Math.floor(d.getTime() / 1000);
  }
  const months = interval === "year" ? 12 * count : count;
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, last));
  return Math.floor(d.getTime() / 1000);
}

export interface SubItem extends Json {
  id: string;
  price: Json;
  quantity: number;
}

export function itemsOf(sub: Json): SubItem[] {
  return (sub.items as { data: SubItem[] }).data;
}

/** The recurring interval of a subscription (its first item's price). */
export function periodEnd(sub: Json, start: number): number {
  const recurring = itemsOf(sub)[0]?.price.recurring as Json | undefined;
  return addInterval(start, String(recurring?.interval ?? "month"), Number(recurring?.interval_count ?? 1));
}

export function subscriptionAmount(sub: Json): number {
  return itemsOf(sub).reduce((sum, item) => sum + Number(item.price.unit_amount ?? 0) * item.quantity, 0);
}

/** Sets the billing period on the subscription and on each of its items. */
export function setPeriod(sub: Json, start: number, end: number): void {
  sub.current_period_start = start;
  sub.current_period_end = end;
  for (const item of itemsOf(sub)) {
    item.current_period_start = start;
    item.current_period_end = end;
  }
}

export function paymentMethodOf(ctx: Ctx, sub: Json): string | null {
  if (sub.default_payment_method) return sub.default_payment_method as string;
  const customer = find(ctx.state, "customer", sub.customer as string, ctx.scope)?.obj;
  const settings = customer?.invoice_settings as Json | undefined;
  return (settings?.default_payment_method as string | null | undefined) ?? null;
}

export interface NewInvoice {
  id?: string;
  reason: string;
  amount: number;
  periodStart: number;
  periodEnd: number;
}

/** An open (finalized) invoice for the subscription; emits `invoice.created` and `invoice.finalized`. */
export function createInvoice(ctx: Ctx, sub: Json, spec: NewInvoice): Json {
  const id = spec.id ?? newId("in");
  const created = now();
  const customer = find(ctx.state, "customer", sub.customer as string, ctx.scope)?.obj;
  const count = all(ctx.state, "invoice", ctx.scope).filter((s) => s.obj.customer === sub.customer).length;
  const feePercent = sub.application_fee_percent as number | null;
  const lines = itemsOf(sub).map((item) => ({
    id: newId("il"),
    object: "line_item",
    amount:
      spec.reason === "subscription_update"
        ? spec.amount
        : Number(item.price.unit_amount ?? 0) * item.quantity,
    currency: item.price.currency,
    description: `${item.quantity} × ${String(item.price.nickname ?? item.price.product)}`,
    livemode: ctx.livemode,
    metadata: {},
    period: { start: spec.periodStart, end: spec.periodEnd },
    pricing: { type: "price_details", price_details: { price: item.price.id, product: item.price.product } },
    quantity: item.quantity,
    subscription: sub.id,
  }));
  const invoice: Json = {
    id,
    object: "invoice",
    amount_due: spec.amount,
    amount_paid: 0,
    amount_remaining: spec.amount,
    application_fee_amount: feePercent === null ? null : Math.round((spec.amount * feePercent) / 100),
    attempt_count: 0,
    attempted: false,
    auto_advance: true,
    billing_reason: spec.reason,
    collection_method: "charge_automatically",
    created,
    currency: sub.currency,
    customer: sub.customer,
    customer_email: customer?.email ?? null,
    default_payment_method: null,
    description: null,
    hosted_invoice_url: `${ctx.baseUrl}/invoice/${id}`,
    lines: {
      object: "list",
      data: lines,
      has_more: false,
      total_count: lines.length,
      url: `/v1/invoices/${id}/lines`,
    },
    livemode: ctx.livemode,
    metadata: {},
    number: `${String(customer?.invoice_prefix ?? "DBL")}-${String(count + 1).padStart(4, "0")}`,
    parent: {
      type: "subscription_details",
      subscription_details: { metadata: sub.metadata, subscription: sub.id },
    },
    period_end: spec.periodEnd,
    period_start: spec.periodStart,
    status: "open",
    status_transitions: {
      finalized_at: created,
      marked_uncollectible_at: null,
      paid_at: null,
      voided_at: null,
    },
    subscription: sub.id,
    subtotal: spec.amount,
    total: spec.amount,
  };
  put(ctx.state, "invoice", ctx.scope, invoice);
  emitFor(ctx, "invoice.created", invoice);
  emitFor(ctx, "invoice.finalized", invoice);
  return invoice;
}

/** Charges an open invoice. Returns the card error when the payment method declines. */
export function payInvoice(
  ctx: Ctx,
  invoice: Json,
  pmId: string | null,
  forceDecline = false,
): HttpError | null {
  const amount = Number(invoice.amount_due);
  const decline = amount > 0 ? (forceDecline ? cardDeclined() : chargeDecline(ctx, pmId)) : null;
  if (amount > 0) {
    invoice.attempt_count = Number(invoice.attempt_count) + 1;
    invoice.attempted = true;
  }
  if (decline) {
    emitFor(ctx, "invoice.payment_failed", invoice);
    return decline;
  }
  invoice.status = "paid";
  invoice.amount_paid = amount;
  invoice.amount_remaining = 0;
  invoice.default_payment_method = pmId;
  (invoice.status_transitions as Json).paid_at = now();
  emitFor(ctx, "invoice.paid", invoice);
  emitFor(ctx, "invoice.payment_succeeded", invoice);
  return null;
}

/** POST /v1/invoices/:id/pay: retries an open invoice; a paid one brings its subscription to active. */
function pay(ctx: Ctx): Reply {
  allow(ctx, ["payment_method", "off_session", "paid_out_of_band", "forgive", "source", "mandate"]);
  const invoice = mustFind(ctx.state, "invoice", ctx.match[0] ?? "", ctx.scope).obj;
  if (invoice.status !== "open") {
    throw apiError(400, {
      type: "invalid_request_error",
      code: "invoice_not_editable",
      message: "Invoice is already paid",
    });
  }
  const sub = find(ctx.state, "subscription", invoice.subscription as string, ctx.scope)?.obj;
  const pm = str(ctx.params, "payment_method") ?? (sub ? paymentMethodOf(ctx, sub) : null);
  const decline = payInvoice(ctx, invoice, pm);
  if (decline) throw decline;
  if (sub && (sub.status === "incomplete" || sub.status === "past_due" || sub.status === "unpaid")) {
    const before = structuredClone(sub);
    sub.status = "active";
    emitFor(ctx, "customer.subscription.updated", sub, { previous: diff(before, sub) });
  }
  return reply(ctx, invoice);
}

function list(ctx: Ctx): Reply {
  allowList(ctx, ["customer", "subscription", "status", "collection_method", "created"]);
  const p = ctx.params;
  const customer = str(p, "customer");
  const subscription = str(p, "subscription");
  const status = oneOf(p, "status", ["draft", "open", "paid", "uncollectible", "void"]);
  const items = all(ctx.state, "invoice", ctx.scope)
    .map((s) => s.obj)
    .filter(
      (o) =>
        (!customer || o.customer === customer) &&
        (!subscription || o.subscription === subscription) &&
        (!status || o.status === status),
    );
  return listReply(ctx, items, "/v1/invoices");
}

function update(ctx: Ctx): Reply {
  allow(ctx, ["metadata", "description", "footer"]);
  const invoice = mustFind(ctx.state, "invoice", ctx.match[0] ?? "", ctx.scope).obj;
  const before = structuredClone(invoice);
  invoice.metadata = applyMetadata(invoice.metadata as Json, ctx.params);
  const previous = diff(before, invoice);
  if (previous) emitFor(ctx, "invoice.updated", invoice, { previous });
  return reply(ctx, invoice);
}

export const invoiceRoutes: Route[] = [
  route("GET", "/v1/invoices", list),
  route("GET", "/v1/invoices/:id", (ctx) =>
    reply(ctx, mustFind(ctx.state, "invoice", ctx.match[0] ?? "", ctx.scope).obj),
  ),
  route("POST", "/v1/invoices/:id", update),
  route("POST", "/v1/invoices/:id/pay", pay),
];
