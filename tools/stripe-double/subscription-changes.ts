// POST /v1/subscriptions/:id: items (price, quantity, deleted, new), prorations
// (`create_prorations` → pending proration invoice items, `always_invoice` → invoiced now, `none`),
// `proration_date`, trial changes (`trial_end=now` ends the trial and bills), `billing_cycle_anchor=now`
// and a new billing interval (the cycle restarts now and bills), cancel at period end (and resuming
// it), `pause_collection`, and the payment behaviours: a refused payment changes nothing
// (`error_if_incomplete`) or waits as a `pending_update` (`pending_if_incomplete`). A canceled subscription takes only metadata and cancellation details,
// an incomplete one only metadata and its default payment method; a price in another currency than
// the subscription's is refused.
import { itemsOf, paymentMethodOf, periodEnd, type SubItem, setPeriod } from "./billing.ts";
import { apiError, cardDeclined, invalid, noSuch } from "./errors.ts";
import type { FormObject } from "./form.ts";
import { collect } from "./invoice-collect.ts";
import { allow, applyMetadata, bool, int, obj, oneOf, reply, str, timestamp } from "./params.ts";
import { chargeDecline, customerPaymentMethod } from "./payments.ts";
import { createProrationItems, prorationLines } from "./proration.ts";
import type { Ctx, Reply } from "./router.ts";
import { clone, type Json, note, now } from "./state.ts";
import { applySubscriptionDiscounts } from "./subscription-discounts.ts";
import { invoiceSubscription, pendingItemsFor, predictCharge } from "./subscription-invoices.ts";
import {
  COMMON,
  checkItems,
  feePercent,
  itemEntries,
  newItem,
  PAYMENT_BEHAVIORS,
  PRORATIONS,
  recurringPrice,
  trialSettings,
} from "./subscription-items.ts";
import { quietly } from "./subscription-status.ts";
import { findSubscription } from "./subscriptions.ts";
import { diff, emitFor } from "./webhooks.ts";

const PENDING_PARAMS = [
  "items",
  "payment_behavior",
  "proration_behavior",
  "proration_date",
  "billing_cycle_anchor",
  "trial_end",
  "trial_from_plan",
  "add_invoice_items",
  "expand",
];

/** What an `incomplete` subscription may change (Stripe: metadata and the default payment source). */
const INCOMPLETE_PARAMS = ["metadata", "default_payment_method", "default_source", "expand"];

export function newItems(ctx: Ctx, sub: Json, p: FormObject): SubItem[] {
  const items = clone(itemsOf(sub));
  for (const [i, entry] of (itemEntries(p) ?? []).entries()) {
    const itemId = str(entry, "id", `items[${i}][id]`);
    if (!itemId) {
      items.push(newItem(ctx, sub.id as string, entry, i));
      continue;
    }
    const at = items.findIndex((it) => it.id === itemId);
    const item = items[at];
    if (!item) throw noSuch("subscription item", itemId, `items[${i}][id]`);
    if (bool(entry, "deleted", `items[${i}][deleted]`) === true) {
      items.splice(at, 1);
      continue;
    }
    const priceId = str(entry, "price", `items[${i}][price]`);
    if (priceId) item.price = recurringPrice(ctx, priceId, `items[${i}][price]`);
    item.quantity = int(entry, "quantity", `items[${i}][quantity]`, 0) ?? item.quantity;
    item.metadata = applyMetadata(item.metadata as Json, entry);
  }
  const currency = sub.currency as string | undefined;
  const other = items.find((it) => currency && it.price.currency !== currency);
  if (other)
    throw invalid(
      "items",
      `The price specified only supports \`${other.price.currency}\`. This doesn't match the expected currency: \`${currency}\`.`,
    );
  checkItems(items);
  for (const item of items) {
    item.current_period_start = Number(sub.current_period_start);
    item.current_period_end = Number(sub.current_period_end);
  }
  return items;
}

function pauseCollection(p: FormObject): Json | null | undefined {
  if (p.pause_collection === undefined) return undefined;
  if (p.pause_collection === "") return null;
  const pause = obj(p, "pause_collection") ?? {};
  const behavior = oneOf(
    pause,
    "behavior",
    ["keep_as_draft", "mark_uncollectible", "void"],
    "pause_collection[behavior]",
  );
  if (!behavior)
    throw invalid(
      "pause_collection[behavior]",
      "Missing required param: pause_collection[behavior].",
      "parameter_missing",
    );
  return { behavior, resumes_at: int(pause, "resumes_at", "pause_collection[resumes_at]") ?? null };
}

function setItems(sub: Json, items: SubItem[]): void {
  sub.items = { ...(sub.items as Json), data: items, total_count: items.length };
}

export function updateSubscription(ctx: Ctx): Reply {
  allow(ctx, ["items", "cancellation_details", ...COMMON]);
  const sub = findSubscription(ctx);
  const p = ctx.params;
  if (
    sub.status === "canceled" &&
    Object.keys(p).some((k) => !["metadata", "cancellation_details", "expand"].includes(k))
  ) {
    throw apiError(400, {
      type: "invalid_request_error",
      code: "invalid_canceled_subscription_fields",
      message: "A canceled subscription can only update its cancellation_details and metadata.",
    });
  }
  const other = Object.keys(p).find((k) => !INCOMPLETE_PARAMS.includes(k));
  if (sub.status === "incomplete" && other) {
    throw apiError(400, {
      type: "invalid_request_error",
      param: other,
      message:
        "This subscription is incomplete: until its first invoice is paid it can only have its metadata, default_source and default_payment_method updated.",
    });
  }
  const before = clone(sub);
  const t = now();
  // Work out the whole change first, so a refused payment changes nothing.
  const items = newItems(ctx, sub, p);
  const proration = oneOf(p, "proration_behavior", PRORATIONS) ?? "create_prorations";
  const behavior = oneOf(p, "payment_behavior", PAYMENT_BEHAVIORS) ?? "allow_incomplete";
  if (behavior === "pending_if_incomplete") {
    const other = Object.keys(p).find((k) => !PENDING_PARAMS.includes(k));
    if (other)
      throw invalid(
        other,
        `When using \`payment_behavior=pending_if_incomplete\`, you can only update the following parameters: ${PENDING_PARAMS.join(", ")}.`,
      );
  }
  const at = int(p, "proration_date") ?? t;
  const fee = feePercent(ctx);
  const trialEnd = timestamp(p, "trial_end", true);
  if (typeof trialEnd === "number" && trialEnd <= t)
    throw invalid("trial_end", "Invalid timestamp: must be an integer Unix timestamp in the future.");
  const anchor = oneOf(p, "billing_cycle_anchor", ["now", "unchanged"]);
  const trialing = sub.status === "trialing";
  const live = ["active", "past_due", "unpaid"].includes(sub.status as string);
  // Stripe: a change of billing interval resets the billing cycle anchor to now and bills at once.
  const cycle = (it: SubItem | undefined) =>
    it
      ? JSON.stringify([(it.price.recurring as Json).interval, (it.price.recurring as Json).interval_count])
      : null;
  const newInterval = live && cycle(items[0]) !== cycle(itemsOf(sub)[0]);
  const resetCycle = anchor === "now" || newInterval;
  const restart = (trialEnd === "now" && trialing) || resetCycle;
  const prorations =
    !live || proration === "none" || typeof trialEnd === "number"
      ? []
      : resetCycle
        ? prorationLines(ctx, sub, itemsOf(sub), [], at)
        : prorationLines(ctx, sub, itemsOf(sub), items, at);
  const invoiceNow = restart || (proration === "always_invoice" && prorations.length > 0);
  const dpmParam = str(p, "default_payment_method");
  const dpm = dpmParam
    ? (customerPaymentMethod(ctx, dpmParam, sub.customer as string, "default_payment_method").id as string)
    : dpmParam;
  const pm = dpm || paymentMethodOf(ctx, dpm === "" ? { ...sub, default_payment_method: null } : sub);
  const due =
    prorations.reduce((s, l) => s + l.amount, 0) +
    (restart ? items.reduce((s, it) => s + Number(it.price.unit_amount ?? 0) * it.quantity, 0) : 0) +
    (invoiceNow
      ? pendingItemsFor(ctx, sub.customer as string, sub.id as string).reduce(
          (s, ii) => s + Number(ii.amount),
          0,
        )
      : 0);
  const predicted =
    invoiceNow && due > 0 && sub.collection_method === "charge_automatically"
      ? predictCharge(ctx, pm)
      : "succeeds";
  if (behavior === "error_if_incomplete" && predicted === "declines")
    throw chargeDecline(ctx, pm) ?? cardDeclined();
  if (behavior === "error_if_incomplete" && predicted === "requires_action")
    throw cardDeclined(
      "authentication_required",
      "Your card was declined. This transaction requires authentication.",
    );
  const pending = behavior === "pending_if_incomplete" && predicted !== "succeeds";
  const pause = pauseCollection(p);
  const settings = trialSettings(p);

  applySubscriptionDiscounts(ctx, sub, p);
  if (pending) {
    const expires = Math.min(
      t + 23 * 3600,
      Number(sub.current_period_end),
      typeof sub.trial_end === "number" && sub.trial_end > t ? sub.trial_end : Number.POSITIVE_INFINITY,
    );
    const apply: Json = { items: { ...(sub.items as Json), data: items, total_count: items.length } };
    sub.pending_update = {
      billing_cycle_anchor: restart ? t : null,
      cancel_at_period_end: null,
      discount: null,
      discounts: null,
      expires_at: expires,
      metadata: null,
      subscription_items: clone(items),
      trial_end: trialEnd === "now" ? t : (trialEnd ?? null),
      trial_from_plan: null,
    };
    const status = sub.status;
    quietly(ctx, sub, () => {
      createProrationItems(ctx, sub, prorations);
      const invoice = invoiceSubscription(ctx, sub, {
        reason: "subscription_update",
        periodStart: t,
        periodEnd: Number(sub.current_period_end),
        regular: false,
      });
      note(ctx.state, sub.id as string).pending = { invoice: invoice.id, apply };
      sub.latest_invoice = invoice.id;
      collect(ctx, invoice, pm);
    });
    sub.status = status;
  } else {
    setItems(sub, items);
    if (dpm !== undefined) sub.default_payment_method = dpm === "" ? null : dpm;
    if (fee !== undefined) sub.application_fee_percent = fee;
    if (settings) sub.trial_settings = settings;
    if (pause !== undefined) sub.pause_collection = pause;
    const collection = oneOf(p, "collection_method", ["charge_automatically", "send_invoice"]);
    if (collection) sub.collection_method = collection;
    const daysUntilDue = int(p, "days_until_due", "days_until_due", 0);
    if (daysUntilDue !== undefined) sub.days_until_due = daysUntilDue;
    if (typeof trialEnd === "number") {
      Object.assign(sub, { status: "trialing", trial_end: trialEnd, trial_start: sub.trial_start ?? t });
      setPeriod(sub, Number(sub.current_period_start), trialEnd);
    }
    if (restart) {
      if (trialEnd === "now") sub.trial_end = t;
      if (sub.status === "trialing") sub.status = "active";
      sub.billing_cycle_anchor = t;
      setPeriod(sub, t, periodEnd(sub, t));
    }
    if (prorations.length > 0) createProrationItems(ctx, sub, prorations);
    if (invoiceNow) {
      quietly(ctx, sub, () => {
        const invoice = invoiceSubscription(ctx, sub, {
          reason: restart ? "subscription_cycle" : "subscription_update",
          periodStart: t,
          periodEnd: Number(sub.current_period_end),
          regular: restart,
        });
        sub.latest_invoice = invoice.id;
        if (invoice.status === "open" && sub.collection_method === "charge_automatically")
          collect(ctx, invoice, pm);
      });
    }
  }
  sub.metadata = applyMetadata(sub.metadata as Json, p);
  const description = str(p, "description");
  if (description !== undefined) sub.description = description || null;
  const atEnd = bool(p, "cancel_at_period_end");
  if (atEnd !== undefined)
    Object.assign(sub, {
      cancel_at_period_end: atEnd,
      cancel_at: atEnd ? sub.current_period_end : null,
      canceled_at: atEnd ? t : null,
    });
  const cancelAt = p.cancel_at === "" ? null : timestamp(p, "cancel_at", false);
  if (cancelAt !== undefined)
    Object.assign(sub, {
      cancel_at: cancelAt,
      canceled_at: cancelAt === null ? null : t,
      cancel_at_period_end: false,
    });
  const details = obj(p, "cancellation_details");
  if (details) {
    const feedback = str(details, "feedback", "cancellation_details[feedback]");
    const comment = str(details, "comment", "cancellation_details[comment]");
    sub.cancellation_details = {
      ...(sub.cancellation_details as Json),
      ...(feedback !== undefined ? { feedback: feedback || null } : {}),
      ...(comment !== undefined ? { comment: comment || null } : {}),
    };
  }
  const previous = diff(before, sub);
  if (previous) emitFor(ctx, "customer.subscription.updated", sub, { previous });
  return reply(ctx, sub);
}
