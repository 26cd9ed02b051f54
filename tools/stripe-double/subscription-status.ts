// What an invoice's payment does to its subscription: paid → `active` (and a pending update is
// applied); failed → `past_due` (a first invoice keeps it `incomplete`), and once the retries are
// exhausted, the status the retry schedule says (`canceled`, `unpaid` or stays `past_due`).

import { attachPaymentMethod } from "./payments.ts";
import { retryScheduleFor } from "./retries.ts";
import type { Ctx } from "./router.ts";
import { all, clone, find, type Json, note } from "./state.ts";
import { cancelSubscription } from "./subscription-cancel.ts";
import { applyPendingUpdate } from "./subscription-pending.ts";
import { diff, emitFor } from "./webhooks.ts";

function subscriptionOf(ctx: Ctx, invoice: Json): Json | null {
  if (typeof invoice.subscription !== "string") return null;
  return find(ctx.state, "subscription", invoice.subscription, ctx.scope)?.obj ?? null;
}

/** While the request that caused a payment still changes the subscription, it alone emits events. */
export function quietly<T>(ctx: Ctx, sub: Json, work: () => T): T {
  const n = note(ctx.state, sub.id as string);
  const was = n.quiet;
  n.quiet = true;
  try {
    return work();
  } finally {
    n.quiet = was;
  }
}

const isQuiet = (ctx: Ctx, sub: Json) => ctx.state.notes.get(sub.id as string)?.quiet === true;

function otherOpenInvoices(ctx: Ctx, sub: Json, invoice: Json): boolean {
  return all(ctx.state, "invoice", ctx.scope).some(
    (s) => s.obj.subscription === sub.id && s.obj.id !== invoice.id && s.obj.status === "open",
  );
}

export function subscriptionAfterPayment(ctx: Ctx, invoice: Json, pmId: string | null): void {
  const sub = subscriptionOf(ctx, invoice);
  if (!sub || sub.status === "canceled" || sub.status === "incomplete_expired") return;
  const before = clone(sub);
  const save = (sub.payment_settings as Json | null)?.save_default_payment_method === "on_subscription";
  if (save && pmId && sub.default_payment_method !== pmId) {
    attachPaymentMethod(ctx, pmId, sub.customer as string, false, "payment_method");
    sub.default_payment_method = pmId;
  }
  const applied = applyPendingUpdate(ctx, sub, invoice);
  if (
    ["incomplete", "past_due", "unpaid"].includes(sub.status as string) &&
    !otherOpenInvoices(ctx, sub, invoice)
  ) {
    sub.status = "active";
  }
  const previous = diff(before, sub);
  if (isQuiet(ctx, sub)) return;
  if (previous) emitFor(ctx, "customer.subscription.updated", sub, { previous });
  if (applied) emitFor(ctx, "customer.subscription.pending_update_applied", sub, { previous });
}

export function subscriptionAfterFailure(ctx: Ctx, invoice: Json, exhausted: boolean): void {
  const sub = subscriptionOf(ctx, invoice);
  if (!sub || sub.status === "canceled" || sub.status === "incomplete_expired") return;
  const before = clone(sub);
  if (
    invoice.billing_reason !== "subscription_create" &&
    (sub.status === "active" || sub.status === "trialing")
  ) {
    sub.status = "past_due";
  }
  if (exhausted) {
    const after = retryScheduleFor(ctx, sub.customer as string).after;
    if (after === "canceled") {
      cancelSubscription(ctx, sub, "payment_failed");
      return;
    }
    if (after === "unpaid") sub.status = "unpaid";
  }
  const previous = diff(before, sub);
  if (previous && !isQuiet(ctx, sub)) emitFor(ctx, "customer.subscription.updated", sub, { previous });
}
