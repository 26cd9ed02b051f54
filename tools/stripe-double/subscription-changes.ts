// Changes to existing subscriptions: update (plan change, proration, trial end, cancel at period
// end), immediate cancellation, and the renewal the control endpoint simulates.
import { itemsOf, paymentMethodOf, periodEnd, setPeriod, subscriptionAmount } from "./billing.ts";
import { apiError, invalid, noSuch } from "./errors.ts";
import { priceDescription } from "./invoice-build.ts";
import { collect } from "./invoice-collect.ts";
import { allow, applyMetadata, bool, int, oneOf, reply, str, timestamp } from "./params.ts";
import { chargeDecline, customerPaymentMethod } from "./payments.ts";
import type { Ctx, Reply } from "./router.ts";
import { clone, type Json, now } from "./state.ts";
import { cancelSubscription } from "./subscription-cancel.ts";
import { invoiceSubscription, predictCharge } from "./subscription-invoices.ts";
import {
  COMMON,
  checkItems,
  feePercent,
  itemEntries,
  newItem,
  PAYMENT_BEHAVIORS,
  PRORATIONS,
  recurringPrice,
} from "./subscription-items.ts";
import { quietly } from "./subscription-status.ts";
import { findSubscription } from "./subscriptions.ts";
import { diff, emitFor } from "./webhooks.ts";

export { cancelSubscription };

export function updateSubscription(ctx: Ctx): Reply {
  allow(ctx, ["items", ...COMMON]);
  const sub = findSubscription(ctx);
  const p = ctx.params;
  if (
    sub.status === "canceled" &&
    Object.keys(p).some((k) => !["metadata", "cancellation_details", "expand"].includes(k))
  ) {
    throw apiError(400, {
      type: "invalid_request_error",
      message: "A canceled subscription can only update its cancellation_details and metadata.",
    });
  }
  const before = clone(sub);
  // Work out the whole change first, so a refused payment changes nothing.
  const items = clone(itemsOf(sub));
  const entries = itemEntries(p) ?? [];
  for (const [i, entry] of entries.entries()) {
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
  checkItems(items);
  const proration = oneOf(p, "proration_behavior", PRORATIONS) ?? "create_prorations";
  const behavior = oneOf(p, "payment_behavior", PAYMENT_BEHAVIORS) ?? "allow_incomplete";
  const fee = feePercent(ctx);
  const dpmParam = str(p, "default_payment_method");
  const trialEnd = timestamp(p, "trial_end", true);
  const t = now();
  if (typeof trialEnd === "number" && trialEnd <= t) {
    throw invalid("trial_end", "Invalid timestamp: must be an integer Unix timestamp in the future.");
  }
  const oldAmount = subscriptionAmount(sub);
  const next = { ...sub, items: { ...(sub.items as Json), data: items, total_count: items.length } };
  const newAmount = subscriptionAmount(next);
  const start = sub.current_period_start as number;
  const end = sub.current_period_end as number;
  const restart =
    (trialEnd === "now" && sub.status === "trialing") || str(p, "billing_cycle_anchor") === "now";
  const live = sub.status === "active" || sub.status === "past_due";
  const prorated = Math.round(((newAmount - oldAmount) * Math.max(0, end - t)) / Math.max(1, end - start));
  const charge = restart ? newAmount : proration === "always_invoice" && live && prorated > 0 ? prorated : 0;
  const dpm = dpmParam
    ? (customerPaymentMethod(ctx, dpmParam, sub.customer as string, "default_payment_method").id as string)
    : dpmParam;
  const pm = dpm || paymentMethodOf(ctx, dpm === "" ? { ...sub, default_payment_method: null } : sub);
  const decline = charge > 0 ? chargeDecline(ctx, pm) : null;
  if (decline && behavior === "error_if_incomplete") throw decline;
  void predictCharge;

  sub.items = next.items;
  if (dpm !== undefined) sub.default_payment_method = dpm === "" ? null : dpm;
  if (fee !== undefined) sub.application_fee_percent = fee;
  sub.metadata = applyMetadata(sub.metadata as Json, p);
  const description = str(p, "description");
  if (description !== undefined) sub.description = description || null;
  if (typeof trialEnd === "number") {
    Object.assign(sub, { status: "trialing", trial_end: trialEnd, trial_start: sub.trial_start ?? t });
    setPeriod(sub, start, trialEnd);
  }
  if (restart) {
    if (trialEnd === "now") sub.trial_end = t;
    sub.billing_cycle_anchor = t;
    setPeriod(sub, t, periodEnd(sub, t));
  }
  if (charge > 0 || restart) {
    const first = itemsOf(sub)[0];
    const extra = restart
      ? []
      : [
          {
            amount: charge,
            currency: String(sub.currency),
            description: first
              ? `Remaining time on ${priceDescription(ctx, first.price, first.quantity)}`
              : "Proration",
            period: { start: t, end },
            quantity: 1,
            price: null,
            proration: true,
            subscription: sub.id as string,
            subscriptionItem: first?.id ?? null,
            invoiceItem: null,
            discountable: true,
          },
        ];
    if (restart && sub.status === "trialing") sub.status = "active";
    quietly(ctx, sub, () => {
      const invoice = invoiceSubscription(ctx, sub, {
        reason: restart ? "subscription_cycle" : "subscription_update",
        periodStart: t,
        periodEnd: sub.current_period_end as number,
        regular: restart,
        extra,
      });
      sub.latest_invoice = invoice.id;
      collect(ctx, invoice, pm);
    });
  }
  const atEnd = bool(p, "cancel_at_period_end");
  if (atEnd !== undefined) {
    Object.assign(sub, {
      cancel_at_period_end: atEnd,
      cancel_at: atEnd ? sub.current_period_end : null,
      canceled_at: atEnd ? t : null,
    });
  }
  const cancelAt = timestamp(p, "cancel_at", false);
  if (typeof cancelAt === "number") Object.assign(sub, { cancel_at: cancelAt, canceled_at: t });
  const previous = diff(before, sub);
  if (previous) emitFor(ctx, "customer.subscription.updated", sub, { previous });
  return reply(ctx, sub);
}

/**
 * Control: moves a subscription to its next period as Stripe's clock would. Canceling at period
 * end cancels it; otherwise a renewal invoice is charged (`fail` forces a decline): paid → active,
 * declined → past_due, with the matching invoice and subscription events.
 */
export function advanceSubscription(ctx: Ctx, sub: Json, fail: boolean): Json {
  if (sub.status === "canceled") throw noSuch("subscription", sub.id as string);
  const before = clone(sub);
  const end = sub.current_period_end as number;
  if (sub.cancel_at_period_end === true || (typeof sub.cancel_at === "number" && sub.cancel_at <= end)) {
    cancelSubscription(ctx, sub, "cancellation_requested");
    sub.ended_at = end;
    return sub;
  }
  setPeriod(sub, end, periodEnd(sub, end));
  quietly(ctx, sub, () => {
    const invoice = invoiceSubscription(ctx, sub, {
      reason: "subscription_cycle",
      periodStart: end,
      periodEnd: sub.current_period_end as number,
      regular: true,
    });
    sub.latest_invoice = invoice.id;
    if (sub.status === "trialing") sub.status = "active";
    collect(ctx, invoice, paymentMethodOf(ctx, sub), fail);
  });
  emitFor(ctx, "customer.subscription.updated", sub, { previous: diff(before, sub) });
  return sub;
}
