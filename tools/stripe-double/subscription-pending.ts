// Pending updates (`payment_behavior=pending_if_incomplete`): the change waits for its invoice to be
// paid, then applies (`customer.subscription.pending_update_applied`); after 23 hours it expires
// (`customer.subscription.pending_update_expired`).
import type { Ctx } from "./router.ts";
import { type Json, note } from "./state.ts";

/** Applies the subscription's pending update when `invoice` is the one it waited for. */
export function applyPendingUpdate(ctx: Ctx, sub: Json, invoice: Json): boolean {
  const pending = note(ctx.state, sub.id as string).pending as { invoice: string; apply: Json } | undefined;
  if (!pending || pending.invoice !== invoice.id) return false;
  Object.assign(sub, pending.apply, { pending_update: null });
  delete note(ctx.state, sub.id as string).pending;
  return true;
}
