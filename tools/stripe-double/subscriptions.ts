// Subscriptions: create (first invoice paid, trialing, or incomplete on a declining card),
// retrieve, cancel, list. Updates live in subscription-changes.ts.
import {
  createInvoice,
  itemsOf,
  payInvoice,
  paymentMethodOf,
  periodEnd,
  setPeriod,
  subscriptionAmount,
} from "./billing.ts";
import { invalid, missing, noSuch } from "./errors.ts";
import {
  allow,
  allowList,
  applyMetadata,
  bool,
  int,
  listReply,
  oneOf,
  reply,
  reqStr,
  str,
  timestamp,
} from "./params.ts";
import { chargeDecline, customerPaymentMethod, liveCustomer } from "./payments.ts";
import { type Ctx, type Reply, type Route, route } from "./router.ts";
import { all, find, type Json, mustFind, newId, now, put } from "./state.ts";
import { cancelSubscription, updateSubscription } from "./subscription-changes.ts";
import {
  COMMON,
  checkItems,
  feePercent,
  itemEntries,
  newItem,
  PAYMENT_BEHAVIORS,
  PRORATIONS,
} from "./subscription-items.ts";
import { emitFor } from "./webhooks.ts";

function create(ctx: Ctx): Reply {
  allow(ctx, ["customer", "items", "trial_period_days", "expand", ...COMMON]);
  const p = ctx.params;
  const customerId = reqStr(p, "customer");
  const fee = feePercent(ctx) ?? null;
  liveCustomer(ctx, customerId);
  const entries = itemEntries(p);
  if (!entries || entries.length === 0) throw missing("items");
  const id = newId("sub");
  const items = entries.map((e, i) => newItem(ctx, id, e, i));
  checkItems(items);
  const behavior = oneOf(p, "payment_behavior", PAYMENT_BEHAVIORS) ?? "allow_incomplete";
  oneOf(p, "proration_behavior", PRORATIONS);
  const start = now();
  const trialDays = int(p, "trial_period_days", "trial_period_days", 0) ?? 0;
  const trialEndParam = timestamp(p, "trial_end", true);
  if (typeof trialEndParam === "number" && trialEndParam <= start) {
    throw invalid("trial_end", "Invalid timestamp: must be an integer Unix timestamp in the future.");
  }
  const trialEnd =
    typeof trialEndParam === "number" ? trialEndParam : trialDays > 0 ? start + trialDays * 86400 : null;
  const dpmParam = str(p, "default_payment_method");
  const dpm = dpmParam
    ? (customerPaymentMethod(ctx, dpmParam, customerId, "default_payment_method").id as string)
    : null;
  const sub: Json = {
    id,
    object: "subscription",
    application: null,
    application_fee_percent: fee,
    automatic_tax: { enabled: false, liability: null },
    billing_cycle_anchor: trialEnd ?? start,
    cancel_at: null,
    cancel_at_period_end: false,
    canceled_at: null,
    cancellation_details: { comment: null, feedback: null, reason: null },
    collection_method: "charge_automatically",
    created: start,
    currency: items[0]?.price.currency,
    customer: customerId,
    default_payment_method: dpm,
    description: str(p, "description") || null,
    discounts: [],
    ended_at: null,
    items: {
      object: "list",
      data: items,
      has_more: false,
      total_count: items.length,
      url: `/v1/subscription_items?subscription=${id}`,
    },
    latest_invoice: null,
    livemode: ctx.livemode,
    metadata: applyMetadata({}, p),
    pause_collection: null,
    pending_update: null,
    start_date: start,
    status: "active",
    trial_end: trialEnd,
    trial_start: trialEnd ? start : null,
  };
  const amount = subscriptionAmount(sub);
  const pm = paymentMethodOf(ctx, sub);
  if (trialEnd) {
    sub.status = "trialing";
    setPeriod(sub, start, trialEnd);
  } else {
    setPeriod(sub, start, periodEnd(sub, start));
    const decline = behavior === "default_incomplete" ? null : chargeDecline(ctx, pm);
    if (decline && behavior === "error_if_incomplete" && amount > 0) throw decline;
    if (behavior === "default_incomplete" || (decline && amount > 0)) sub.status = "incomplete";
    sub.latest_invoice = newId("in");
  }
  if (bool(p, "cancel_at_period_end") === true) {
    Object.assign(sub, { cancel_at_period_end: true, cancel_at: sub.current_period_end, canceled_at: start });
  }
  put(ctx.state, "subscription", ctx.scope, sub);
  emitFor(ctx, "customer.subscription.created", sub);
  if (sub.latest_invoice) {
    const invoice = createInvoice(ctx, sub, {
      id: sub.latest_invoice as string,
      reason: "subscription_create",
      amount,
      periodStart: start,
      periodEnd: sub.current_period_end as number,
    });
    if (behavior !== "default_incomplete") payInvoice(ctx, invoice, pm);
  }
  return reply(ctx, sub);
}

function findSub(ctx: Ctx): Json {
  return mustFind(ctx.state, "subscription", ctx.match[0] ?? "", ctx.scope).obj;
}

function cancel(ctx: Ctx): Reply {
  allow(ctx, ["prorate", "invoice_now", "cancellation_details"]);
  const id = ctx.match[0] ?? "";
  const sub = find(ctx.state, "subscription", id, ctx.scope)?.obj;
  if (!sub || sub.status === "canceled") throw noSuch("subscription", id);
  bool(ctx.params, "prorate");
  bool(ctx.params, "invoice_now");
  const details = ctx.params.cancellation_details;
  const comment =
    typeof details === "object" && !Array.isArray(details) ? str(details, "comment") : undefined;
  cancelSubscription(ctx, sub, "cancellation_requested", comment ?? null);
  return reply(ctx, sub);
}

function list(ctx: Ctx): Reply {
  allowList(ctx, [
    "customer",
    "price",
    "status",
    "created",
    "current_period_end",
    "current_period_start",
    "collection_method",
    "test_clock",
  ]);
  const p = ctx.params;
  const customer = str(p, "customer");
  const price = str(p, "price");
  const status = str(p, "status");
  const items = all(ctx.state, "subscription", ctx.scope)
    .map((s) => s.obj)
    .filter(
      (o) =>
        (!customer || o.customer === customer) &&
        (!price || itemsOf(o).some((it) => it.price.id === price)) &&
        (status === "all" ||
          (status ? o.status === status : o.status !== "canceled") ||
          (status === "ended" && o.status === "canceled")),
    );
  return listReply(ctx, items, "/v1/subscriptions");
}

export const subscriptionRoutes: Route[] = [
  route("POST", "/v1/subscriptions", create),
  route("GET", "/v1/subscriptions", list),
  route("GET", "/v1/subscriptions/:id", (ctx) => reply(ctx, findSub(ctx))),
  route("POST", "/v1/subscriptions/:id", updateSubscription),
  route("DELETE", "/v1/subscriptions/:id", cancel),
];
