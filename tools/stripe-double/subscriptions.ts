// Subscriptions: create (first invoice charged, trialing, or incomplete), retrieve, list.
// Updates are in subscription-changes.ts, cancellation in subscription-cancel.ts.
import { addInterval, itemsOf, paymentMethodOf, periodEnd, setPeriod } from "./billing.ts";
import { cardDeclined, invalid, missing } from "./errors.ts";
import type { FormObject } from "./form.ts";
import { collect, intentOf } from "./invoice-collect.ts";
import {
  allow,
  allowList,
  applyMetadata,
  bool,
  int,
  listReply,
  obj,
  oneOf,
  reply,
  reqStr,
  str,
  timestamp,
} from "./params.ts";
import { chargeDecline, customerPaymentMethod, liveCustomer } from "./payments.ts";
import { type Ctx, type Reply, type Route, route } from "./router.ts";
import { searchReply } from "./search.ts";
import { all, type Json, mustFind, newId, now, put } from "./state.ts";
import { cancel, resume } from "./subscription-cancel.ts";
import { updateSubscription } from "./subscription-changes.ts";
import { applySubscriptionDiscounts } from "./subscription-discounts.ts";
import { invoiceSubscription, predictCharge } from "./subscription-invoices.ts";
import {
  COMMON,
  checkItems,
  feePercent,
  itemEntries,
  newItem,
  PAYMENT_BEHAVIORS,
  PRORATIONS,
  trialSettings,
} from "./subscription-items.ts";
import { quietly } from "./subscription-status.ts";
import { enterCustomerTime } from "./test-clocks.ts";
import { emitFor } from "./webhooks.ts";

/** Creates a subscription from form params as POST /v1/subscriptions does (Checkout uses it too). */
export function createSubscription(ctx: Ctx, params: FormObject): Json {
  const reply = create({ ...ctx, params, allowed: null });
  return mustFind(ctx.state, "subscription", String((reply.body as Json).id), ctx.scope).obj;
}

function create(ctx: Ctx): Reply {
  allow(ctx, ["customer", "items", "trial_period_days", "trial_from_plan", ...COMMON]);
  const p = ctx.params;
  const customerId = reqStr(p, "customer");
  const fee = feePercent(ctx) ?? null;
  const entries = itemEntries(p);
  if (!entries || entries.length === 0) throw missing("items");
  const id = newId("sub");
  const items = entries.map((e, i) => newItem(ctx, id, e, i));
  checkItems(items);
  const behavior = oneOf(p, "payment_behavior", PAYMENT_BEHAVIORS) ?? "allow_incomplete";
  if (behavior === "pending_if_incomplete") {
    throw invalid(
      "payment_behavior",
      "You can not pass `payment_behavior=pending_if_incomplete` when creating a subscription.",
    );
  }
  const proration = oneOf(p, "proration_behavior", PRORATIONS) ?? "create_prorations";
  const customer = liveCustomer(ctx, customerId);
  const start = now();
  const trialDays = int(p, "trial_period_days", "trial_period_days", 0) ?? 0;
  const trialEndParam = timestamp(p, "trial_end", true);
  if (typeof trialEndParam === "number" && trialEndParam <= start) {
    throw invalid("trial_end", "Invalid timestamp: must be an integer Unix timestamp in the future.");
  }
  const trialEnd =
    trialEndParam === "now"
      ? null
      : typeof trialEndParam === "number"
        ? trialEndParam
        : trialDays > 0
          ? start + trialDays * 86400
          : null;
  const dpmParam = str(p, "default_payment_method");
  const dpm = dpmParam
    ? (customerPaymentMethod(ctx, dpmParam, customerId, "default_payment_method").id as string)
    : null;
  const collection =
    oneOf(p, "collection_method", ["charge_automatically", "send_invoice"]) ?? "charge_automatically";
  const daysUntilDue = int(p, "days_until_due", "days_until_due", 0) ?? null;
  const anchorParam = int(p, "billing_cycle_anchor");
  if (anchorParam !== undefined && anchorParam <= start) {
    throw invalid(
      "billing_cycle_anchor",
      "Invalid timestamp: must be an integer Unix timestamp in the future.",
    );
  }
  const settings = obj(p, "payment_settings");
  const save = settings
    ? oneOf(
        settings,
        "save_default_payment_method",
        ["off", "on_subscription"],
        "payment_settings[save_default_payment_method]",
      )
    : undefined;
  if (collection === "send_invoice" && daysUntilDue === null) {
    throw invalid("days_until_due", "Missing required param: days_until_due.", "parameter_missing");
  }
  const sub: Json = {
    id,
    object: "subscription",
    application: null,
    application_fee_percent: fee,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null },
    billing_cycle_anchor: trialEnd ?? anchorParam ?? start,
    billing_cycle_anchor_config: null,
    billing_mode: { flexible: null, type: "classic" },
    billing_schedules: [],
    billing_thresholds: null,
    cancel_at: null,
    cancel_at_period_end: false,
    canceled_at: null,
    cancellation_details: { comment: null, feedback: null, reason: null },
    collection_method: collection,
    created: start,
    currency: items[0]?.price.currency,
    customer: customerId,
    customer_account: null,
    days_until_due: daysUntilDue,
    default_payment_method: dpm,
    default_source: null,
    default_tax_rates: [],
    description: str(p, "description") || null,
    discounts: [],
    ended_at: null,
    invoice_settings: { account_tax_ids: null, issuer: { type: "self" } },
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
    next_pending_invoice_item_invoice: null,
    on_behalf_of: null,
    pause_collection: null,
    payment_settings: {
      payment_method_options: null,
      payment_method_types: null,
      save_default_payment_method: save ?? "off",
    },
    pending_invoice_item_interval: null,
    pending_setup_intent: null,
    pending_update: null,
    schedule: null,
    start_date: start,
    status: "active",
    test_clock: customer.test_clock ?? null,
    transfer_data: null,
    trial_end: trialEnd,
    trial_settings: trialSettings(p) ?? { end_behavior: { missing_payment_method: "create_invoice" } },
    trial_start: trialEnd ? start : null,
  };
  const pm = paymentMethodOf(ctx, sub);
  let fraction = 1;
  if (trialEnd) {
    sub.status = "trialing";
    setPeriod(sub, start, trialEnd);
  } else if (anchorParam !== undefined) {
    // A first, partial period up to the anchor: prorated (or free with proration_behavior=none).
    setPeriod(sub, start, anchorParam);
    const full = anchorParam - previousAnchor(sub, anchorParam);
    fraction = proration === "none" ? 0 : Math.min(1, (anchorParam - start) / full);
    sub.latest_invoice = newId("in");
  } else {
    setPeriod(sub, start, periodEnd(sub, start));
    sub.latest_invoice = newId("in");
  }
  const charged =
    !trialEnd &&
    collection === "charge_automatically" &&
    itemsOf(sub).some((it) => Number(it.price.unit_amount) * it.quantity > 0);
  const predicted = charged && behavior !== "default_incomplete" ? predictCharge(ctx, pm) : "succeeds";
  if (behavior === "error_if_incomplete" && predicted === "declines") {
    throw chargeDecline(ctx, pm) ?? cardDeclined();
  }
  if (behavior === "error_if_incomplete" && predicted === "requires_action") {
    throw cardDeclined(
      "authentication_required",
      "Your card was declined. This transaction requires authentication.",
    );
  }
  if (charged && (behavior === "default_incomplete" || predicted !== "succeeds")) sub.status = "incomplete";
  if (bool(p, "cancel_at_period_end") === true) {
    Object.assign(sub, { cancel_at_period_end: true, cancel_at: sub.current_period_end, canceled_at: start });
  }
  put(ctx.state, "subscription", ctx.scope, sub);
  applySubscriptionDiscounts(ctx, sub, p);
  emitFor(ctx, "customer.subscription.created", sub);
  if (sub.latest_invoice) {
    quietly(ctx, sub, () => {
      const invoice = invoiceSubscription(ctx, sub, {
        id: sub.latest_invoice as string,
        reason: "subscription_create",
        periodStart: start,
        periodEnd: sub.current_period_end as number,
        regular: true,
        fraction,
      });
      if (invoice.status !== "open" || collection !== "charge_automatically") return;
      if (behavior !== "default_incomplete") collect(ctx, invoice, pm);
      else if (pm)
        Object.assign(intentOf(ctx, invoice) ?? {}, { payment_method: pm, status: "requires_confirmation" });
    });
  }
  return reply(ctx, sub);
}

/** The start of the full period that ends at `anchor`. */
function previousAnchor(sub: Json, anchor: number): number {
  const recurring = itemsOf(sub)[0]?.price.recurring as Json | undefined;
  return addInterval(anchor, String(recurring?.interval ?? "month"), -Number(recurring?.interval_count ?? 1));
}

export function findSubscription(ctx: Ctx, id = ctx.match[0] ?? ""): Json {
  const sub = mustFind(ctx.state, "subscription", id, ctx.scope).obj;
  enterCustomerTime(ctx, sub.customer);
  return sub;
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
    "automatic_tax",
  ]);
  const p = ctx.params;
  const customer = str(p, "customer");
  const price = str(p, "price");
  const status = str(p, "status");
  const collection = str(p, "collection_method");
  const items = all(ctx.state, "subscription", ctx.scope)
    .map((s) => s.obj)
    .filter(
      (o) =>
        (!customer || o.customer === customer) &&
        (!price || itemsOf(o).some((it) => it.price.id === price)) &&
        (!collection || o.collection_method === collection) &&
        (status === "all" ||
          (status ? o.status === status : o.status !== "canceled" && o.status !== "incomplete_expired") ||
          (status === "ended" && (o.status === "canceled" || o.status === "incomplete_expired"))),
    );
  return listReply(ctx, items, "/v1/subscriptions");
}

/** GET /v1/subscriptions/search: fields `created`, `metadata`, `status`. */
function search(ctx: Ctx): Reply {
  const items = all(ctx.state, "subscription", ctx.scope).map((s) => s.obj);
  return searchReply(ctx, items, "subscriptions", ["created", "metadata", "status"]);
}

export const subscriptionRoutes: Route[] = [
  route("POST", "/v1/subscriptions", create),
  route("GET", "/v1/subscriptions", list),
  route("GET", "/v1/subscriptions/search", search),
  route("GET", "/v1/subscriptions/:id", (ctx) => reply(ctx, findSubscription(ctx))),
  route("POST", "/v1/subscriptions/:id", updateSubscription),
  route("DELETE", "/v1/subscriptions/:id", cancel),
  route("POST", "/v1/subscriptions/:id/resume", resume),
];
