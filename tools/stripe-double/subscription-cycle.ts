// What time does to a subscription: the trial ends (billing it, or canceling/pausing it when it has
// no payment method and `trial_settings` say so), a period ends (renewal invoice, or the
// cancellation that was scheduled), and collection pauses shape the renewal invoice. Used by the
// test-clock engine and by POST /__double/subscriptions/:id/advance.
import { invoicePaymentMethod, paymentMethodOf, periodEnd, setPeriod } from "./billing.ts";
import { noSuch } from "./errors.ts";
import { collect, markUncollectible, voidInvoice } from "./invoice-collect.ts";
import type { Ctx } from "./router.ts";
import { all, clone, type Json } from "./state.ts";
import { cancelSubscription } from "./subscription-cancel.ts";
import { invoiceSubscription } from "./subscription-invoices.ts";
import { quietly } from "./subscription-status.ts";
import { enterCustomerTime } from "./test-clocks.ts";
import { diff, emitFor } from "./webhooks.ts";

/** The trial is over: bill the first period, or cancel / pause without a payment method. */
export function endTrial(ctx: Ctx, sub: Json, fail = false): void {
  const before = clone(sub);
  const pm = paymentMethodOf(ctx, sub);
  const missing = ((sub.trial_settings as Json | null)?.end_behavior as Json | undefined)
    ?.missing_payment_method;
  const end = Number(sub.trial_end ?? sub.current_period_end);
  if (!pm && missing === "cancel") {
    cancelSubscription(ctx, sub, "cancellation_requested");
    return;
  }
  if (!pm && missing === "pause") {
    sub.status = "paused";
    const previous = diff(before, sub);
    emitFor(ctx, "customer.subscription.updated", sub, { previous });
    emitFor(ctx, "customer.subscription.paused", sub, { previous });
    return;
  }
  sub.status = "active";
  setPeriod(sub, end, periodEnd(sub, end));
  bill(ctx, sub, end, fail);
  emitFor(ctx, "customer.subscription.updated", sub, { previous: diff(before, sub) });
}

/** The renewal invoice of the period that just started; a collection pause shapes it. */
function bill(ctx: Ctx, sub: Json, start: number, fail: boolean): void {
  const pause = (sub.pause_collection as Json | null)?.behavior;
  const draft = pause === "keep_as_draft" || sub.status === "unpaid";
  quietly(ctx, sub, () => {
    const invoice = invoiceSubscription(ctx, sub, {
      reason: "subscription_cycle",
      periodStart: start,
      periodEnd: Number(sub.current_period_end),
      regular: true,
      draft,
    });
    sub.latest_invoice = invoice.id;
    if (invoice.status !== "open") return;
    if (pause === "mark_uncollectible") markUncollectible(ctx, invoice);
    else if (pause === "void") voidInvoice(ctx, invoice);
    else if (sub.collection_method === "charge_automatically")
      collect(ctx, invoice, paymentMethodOf(ctx, sub), fail);
  });
}

/** The period ended: cancel if that was scheduled, else renew. */
export function renew(ctx: Ctx, sub: Json, fail = false): void {
  const before = clone(sub);
  const end = Number(sub.current_period_end);
  if (sub.cancel_at_period_end === true || (typeof sub.cancel_at === "number" && sub.cancel_at <= end)) {
    cancelSubscription(ctx, sub, "cancellation_requested");
    return;
  }
  if (sub.status === "paused") return;
  setPeriod(sub, end, periodEnd(sub, end));
  bill(ctx, sub, end, fail);
  emitFor(ctx, "customer.subscription.updated", sub, { previous: diff(before, sub) });
}

/** Control: the next payment retry of the subscription's open invoice, now. */
export function retrySubscription(ctx: Ctx, sub: Json, fail: boolean): Json {
  const open = all(ctx.state, "invoice", ctx.scope).find(
    (s) => s.obj.subscription === sub.id && s.obj.status === "open",
  );
  if (open) collect(ctx, open.obj, invoicePaymentMethod(ctx, open.obj), fail);
  return sub;
}

/** Control: the subscription's next step (trial end or period end), `fail` forcing a decline. */
export function advanceSubscription(ctx: Ctx, sub: Json, fail: boolean): Json {
  if (sub.status === "canceled") throw noSuch("subscription", sub.id as string);
  enterCustomerTime(ctx, sub.customer);
  if (sub.status === "trialing") endTrial(ctx, sub, fail);
  else renew(ctx, sub, fail);
  return sub;
}
