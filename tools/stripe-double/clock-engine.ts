// What advancing a test clock does: everything due between the clock's frozen time and the target,
// in time order, each at its own time — trial_will_end notices (3 days before a trial ends), trial
// ends, renewals and scheduled cancellations, payment retries of open invoices (from the retry
// schedule), first invoices left unpaid for 23 hours (`incomplete_expired`), pending updates that
// expire, collection pauses that end, auto-advancing drafts that finalize and one-off invoices that
// get collected. Only the clock's own customers (in the clock's account) are touched.
import { invoicePaymentMethod } from "./billing.ts";
import { atTime } from "./clock.ts";
import { collect, finalizeInvoice, voidInvoice } from "./invoice-collect.ts";
import type { Ctx } from "./router.ts";
import { all, clone, find, type Json, note } from "./state.ts";
import { cancelSubscription } from "./subscription-cancel.ts";
import { endTrial, renew } from "./subscription-cycle.ts";
import { diff, emitFor } from "./webhooks.ts";

interface Due {
  at: number;
  run: () => void;
}

const TRIAL_NOTICE = 3 * 86400;
const INCOMPLETE_TTL = 23 * 3600;

function updated(ctx: Ctx, sub: Json, before: Json, extra?: string): void {
  const previous = diff(before, sub);
  if (previous) emitFor(ctx, "customer.subscription.updated", sub, { previous });
  if (extra) emitFor(ctx, extra, sub, { previous });
}

function subscriptionDue(ctx: Ctx, sub: Json): Due[] {
  const out: Due[] = [];
  const status = String(sub.status);
  const n = note(ctx.state, sub.id as string);
  if (status === "trialing" && typeof sub.trial_end === "number") {
    const trialEnd = sub.trial_end;
    if (n.noticeFor !== trialEnd) {
      out.push({
        at: Math.max(trialEnd - TRIAL_NOTICE, Number(sub.created)),
        run: () => {
          n.noticeFor = trialEnd;
          emitFor(ctx, "customer.subscription.trial_will_end", sub);
        },
      });
    }
    out.push({ at: trialEnd, run: () => endTrial(ctx, sub) });
  }
  if (["active", "past_due", "unpaid"].includes(status)) {
    const end = Number(sub.current_period_end);
    const cancelAt = typeof sub.cancel_at === "number" ? sub.cancel_at : null;
    if (cancelAt !== null && cancelAt < end)
      out.push({ at: cancelAt, run: () => cancelSubscription(ctx, sub, "cancellation_requested") });
    else out.push({ at: end, run: () => renew(ctx, sub) });
  }
  if (status === "incomplete") {
    out.push({
      at: Number(sub.created) + INCOMPLETE_TTL,
      run: () => {
        const before = clone(sub);
        const invoice = sub.latest_invoice
          ? find(ctx.state, "invoice", sub.latest_invoice as string, ctx.scope)?.obj
          : undefined;
        if (invoice?.status === "open") voidInvoice(ctx, invoice);
        const t = Number(sub.created) + INCOMPLETE_TTL;
        Object.assign(sub, { status: "incomplete_expired", canceled_at: t, ended_at: t });
        updated(ctx, sub, before);
      },
    });
  }
  const pause = sub.pause_collection as Json | null;
  if (pause && typeof pause.resumes_at === "number") {
    out.push({
      at: pause.resumes_at,
      run: () => {
        const before = clone(sub);
        sub.pause_collection = null;
        updated(ctx, sub, before);
      },
    });
  }
  const pending = sub.pending_update as Json | null;
  if (pending) {
    out.push({
      at: Number(pending.expires_at),
      run: () => {
        const before = clone(sub);
        const waited = n.pending as { invoice: string } | undefined;
        const invoice = waited ? find(ctx.state, "invoice", waited.invoice, ctx.scope)?.obj : undefined;
        if (invoice?.status === "open") voidInvoice(ctx, invoice);
        delete n.pending;
        sub.pending_update = null;
        updated(ctx, sub, before, "customer.subscription.pending_update_expired");
      },
    });
  }
  return out;
}

function invoiceDue(ctx: Ctx, invoice: Json): Due[] {
  if (
    invoice.status === "draft" &&
    invoice.auto_advance === true &&
    typeof invoice.automatically_finalizes_at === "number"
  ) {
    return [{ at: invoice.automatically_finalizes_at, run: () => finalizeInvoice(ctx, invoice) }];
  }
  if (invoice.status !== "open" || invoice.collection_method !== "charge_automatically") return [];
  if (invoice.auto_advance !== true || typeof invoice.next_payment_attempt !== "number") return [];
  return [
    {
      at: invoice.next_payment_attempt,
      run: () => {
        const outcome = collect(ctx, invoice, invoicePaymentMethod(ctx, invoice));
        if (!outcome) invoice.next_payment_attempt = null;
      },
    },
  ];
}

/** Everything due on the clock's customers up to `target`, earliest first. */
function nextDue(ctx: Ctx, clockId: string, target: number): Due | null {
  const customers = new Set(
    all(ctx.state, "customer", ctx.scope)
      .filter((s) => s.obj.test_clock === clockId && s.obj.deleted !== true)
      .map((s) => s.id),
  );
  const due: Due[] = [];
  for (const s of all(ctx.state, "subscription", ctx.scope).reverse()) {
    if (customers.has(String(s.obj.customer))) due.push(...subscriptionDue(ctx, s.obj));
  }
  for (const s of all(ctx.state, "invoice", ctx.scope).reverse()) {
    if (customers.has(String(s.obj.customer))) due.push(...invoiceDue(ctx, s.obj));
  }
  let best: Due | null = null;
  for (const d of due) if (d.at <= target && (!best || d.at < best.at)) best = d;
  return best;
}

/** Runs everything due up to `target`, each step at its own time. */
export function runClock(ctx: Ctx, clock: Json, target: number): void {
  const system: Ctx = { ...ctx, requestId: "", idempotencyKey: null };
  for (let steps = 0; ; steps++) {
    if (steps > 10000) throw new Error(`test clock ${String(clock.id)}: too many steps`);
    const step = nextDue(system, clock.id as string, target);
    if (!step) break;
    atTime(Math.max(step.at, Number(clock.frozen_time)), () => step.run());
  }
}
