// Ending subscriptions: DELETE /v1/subscriptions/:id (now), and the cancellation every path shares.
import { noSuch } from "./errors.ts";
import { allow, bool, reply, str } from "./params.ts";
import type { Ctx, Reply } from "./router.ts";
import { find, type Json, now } from "./state.ts";
import { enterCustomerTime } from "./test-clocks.ts";
import { emitFor } from "./webhooks.ts";

/** Cancels now: status canceled, `canceled_at` and `ended_at`; emits `customer.subscription.deleted`. */
export function cancelSubscription(ctx: Ctx, sub: Json, reason: string, comment: string | null = null): void {
  const t = now();
  Object.assign(sub, {
    status: "canceled",
    canceled_at: sub.canceled_at ?? t,
    ended_at: t,
    cancel_at: null,
    cancellation_details: { comment, feedback: null, reason },
  });
  emitFor(ctx, "customer.subscription.deleted", sub);
}

export function cancel(ctx: Ctx): Reply {
  allow(ctx, ["prorate", "invoice_now", "cancellation_details"]);
  const id = ctx.match[0] ?? "";
  const sub = find(ctx.state, "subscription", id, ctx.scope)?.obj;
  if (!sub || sub.status === "canceled") throw noSuch("subscription", id);
  enterCustomerTime(ctx, sub.customer);
  bool(ctx.params, "prorate");
  bool(ctx.params, "invoice_now");
  const details = ctx.params.cancellation_details;
  const comment =
    typeof details === "object" && !Array.isArray(details) ? str(details, "comment") : undefined;
  cancelSubscription(ctx, sub, "cancellation_requested", comment ?? null);
  return reply(ctx, sub);
}
