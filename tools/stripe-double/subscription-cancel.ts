// Ending and resuming subscriptions: DELETE /v1/subscriptions/:id (now, with `prorate` crediting the
// unused time and `invoice_now` billing what is pending in a final invoice), POST
// /v1/subscriptions/:id/resume (a `paused` subscription), and the cancellation every path shares.
import { itemsOf, paymentMethodOf, periodEnd, setPeriod } from "./billing.ts";
import { apiError, noSuch } from "./errors.ts";
import { collect } from "./invoice-collect.ts";
import { allow, bool, int, obj, oneOf, reply, str } from "./params.ts";
import { createProrationItems, prorationLines } from "./proration.ts";
import type { Ctx, Reply } from "./router.ts";
import { clone, find, type Json, now } from "./state.ts";
import { invoiceSubscription, pendingItemsFor } from "./subscription-invoices.ts";
import { PRORATIONS } from "./subscription-items.ts";
import { quietly } from "./subscription-status.ts";
import { enterCustomerTime } from "./test-clocks.ts";
import { diff, emitFor } from "./webhooks.ts";

/** Cancels now: status canceled, `canceled_at` and `ended_at`; emits `customer.subscription.deleted`. */
export function cancelSubscription(ctx: Ctx, sub: Json, reason: string, comment: string | null = null): void {
  const t = now();
  Object.assign(sub, {
    status: "canceled",
    canceled_at: sub.canceled_at ?? t,
    ended_at: t,
    cancel_at: null,
    pending_update: null,
    cancellation_details: {
      ...(sub.cancellation_details as Json),
      comment: comment ?? (sub.cancellation_details as Json | null)?.comment ?? null,
      reason,
    },
  });
  emitFor(ctx, "customer.subscription.deleted", sub);
}

export function cancel(ctx: Ctx): Reply {
  allow(ctx, ["prorate", "invoice_now", "cancellation_details"]);
  const id = ctx.match[0] ?? "";
  const sub = find(ctx.state, "subscription", id, ctx.scope)?.obj;
  if (!sub || sub.status === "canceled") throw noSuch("subscription", id);
  enterCustomerTime(ctx, sub.customer);
  const prorate = bool(ctx.params, "prorate") === true;
  const invoiceNow = bool(ctx.params, "invoice_now") === true;
  const details = obj(ctx.params, "cancellation_details");
  const comment = details ? str(details, "comment", "cancellation_details[comment]") : undefined;
  const feedback = details ? str(details, "feedback", "cancellation_details[feedback]") : undefined;
  const t = now();
  if (prorate && ["active", "past_due", "unpaid"].includes(sub.status as string)) {
    createProrationItems(ctx, sub, prorationLines(ctx, sub, itemsOf(sub), [], t));
  }
  if (invoiceNow && pendingItemsFor(ctx, sub.customer as string, sub.id as string).length > 0) {
    quietly(ctx, sub, () => {
      const invoice = invoiceSubscription(ctx, sub, {
        reason: "subscription_update",
        periodStart: t,
        periodEnd: t,
        regular: false,
      });
      sub.latest_invoice = invoice.id;
      if (sub.collection_method === "charge_automatically") collect(ctx, invoice, paymentMethodOf(ctx, sub));
    });
  }
  if (feedback) (sub.cancellation_details as Json).feedback = feedback;
  cancelSubscription(ctx, sub, "cancellation_requested", comment ?? null);
  return reply(ctx, sub);
}

/** POST /v1/subscriptions/:id/resume: a `paused` subscription starts a new period (or keeps its own). */
export function resume(ctx: Ctx): Reply {
  allow(ctx, ["billing_cycle_anchor", "proration_behavior", "proration_date", "payment_behavior"]);
  const id = ctx.match[0] ?? "";
  const sub = find(ctx.state, "subscription", id, ctx.scope)?.obj;
  if (!sub) throw noSuch("subscription", id);
  enterCustomerTime(ctx, sub.customer);
  if (sub.status !== "paused") {
    throw apiError(400, {
      type: "invalid_request_error",
      message: `Only a subscription with \`status=paused\` can be resumed. This subscription's status is \`${String(sub.status)}\`.`,
    });
  }
  // At this API version `billing_cycle_anchor` is `{type: now|unchanged}` (a bare string is accepted too).
  const anchorParam = obj(ctx.params, "billing_cycle_anchor");
  const anchor = anchorParam
    ? oneOf(anchorParam, "type", ["now", "unchanged"], "billing_cycle_anchor[type]")
    : oneOf(ctx.params, "billing_cycle_anchor", ["now", "unchanged"]);
  const onSuccess =
    oneOf(ctx.params, "payment_behavior", ["resume_on_payment_attempt", "resume_on_payment_success"]) ===
    "resume_on_payment_success";
  oneOf(ctx.params, "proration_behavior", PRORATIONS);
  int(ctx.params, "proration_date");
  const before = clone(sub);
  const t = now();
  sub.status = "active";
  if (anchor !== "unchanged" || Number(sub.current_period_end) <= t) {
    sub.billing_cycle_anchor = t;
    setPeriod(sub, t, periodEnd(sub, t));
    quietly(ctx, sub, () => {
      const invoice = invoiceSubscription(ctx, sub, {
        reason: "subscription_cycle",
        periodStart: t,
        periodEnd: Number(sub.current_period_end),
        regular: true,
      });
      sub.latest_invoice = invoice.id;
      if (invoice.status === "open" && sub.collection_method === "charge_automatically") {
        const outcome = collect(ctx, invoice, paymentMethodOf(ctx, sub));
        if (onSuccess && outcome && outcome.status !== "succeeded") sub.status = "paused";
      }
    });
  }
  const previous = diff(before, sub);
  if (sub.status === "paused") {
    if (previous) emitFor(ctx, "customer.subscription.updated", sub, { previous });
    return reply(ctx, sub);
  }
  emitFor(ctx, "customer.subscription.updated", sub, { previous });
  emitFor(ctx, "customer.subscription.resumed", sub, { previous });
  return reply(ctx, sub);
}
