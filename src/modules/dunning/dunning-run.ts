import { eq } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { DunningStepRow, InvoiceRow } from "../../db/schema";
import { dunningSteps } from "../../db/schema";
import { type AuditEntry, auditInsert } from "../../lib/audit";
import { newId } from "../../lib/crypto";
import type { MirrorRun } from "../billing-mirror/mirror-run";
import { serializeInvoice } from "../invoices/invoices.schemas";
import { invoiceFields } from "../invoices/stripe-invoice";
import { serializeSubscription } from "../subscriptions/subscriptions.schemas";
import {
  type DunningEffect,
  type DunningEvent,
  type DunningPolicy,
  dunningStep,
  failuresOf,
  type InvoiceDunning,
  NO_DUNNING,
} from "./dunning.rules";
import { loadDunningPolicy } from "./dunning.service";
import { atStripe, subscriptionAfter } from "./dunning-stripe";

/**
 * Carries out dunning inside a mirror run (the tenant's Durable Object, one run at a time): the
 * rule (`dunning.rules.ts`) decides per invoice; this loads what it needs once per run, makes the
 * Stripe call an action needs (`dunning-stripe.ts`, idempotent), and adds the steps, audit
 * records and tenant events to the run's single batch. The Stripe call comes first: if it fails,
 * the event fails alone (and is retried) with nothing of it recorded.
 */
interface DunningRun {
  policy: DunningPolicy | null;
  invoices: Map<string, InvoiceDunning>;
  steps: DunningStepRow[];
  audits: AuditEntry[];
}

const runs = new WeakMap<MirrorRun, DunningRun>();

function dunningRun(run: MirrorRun): DunningRun {
  let state = runs.get(run);
  if (!state) {
    state = { policy: null, invoices: new Map(), steps: [], audits: [] };
    runs.set(run, state);
  }
  return state;
}

async function invoiceDunning(run: MirrorRun, state: DunningRun, stripeInvoiceId: string) {
  const known = state.invoices.get(stripeInvoiceId);
  if (known) return known;
  const rows = await run.ctx.db
    .select({ kind: dunningSteps.kind, attempt: dunningSteps.attempt, action: dunningSteps.action })
    .from(dunningSteps)
    .where(eq(dunningSteps.stripeInvoiceId, stripeInvoiceId));
  const acted = rows.find((row) => row.kind === "action");
  const loaded: InvoiceDunning = {
    failedAttempts: rows
      .filter((row) => row.kind === "failure")
      .map((row) => row.attempt)
      .sort((a, b) => a - b),
    action: (acted?.action as InvoiceDunning["action"] | undefined) ?? NO_DUNNING.action,
    recovered: rows.some((row) => row.kind === "recovery"),
  };
  state.invoices.set(stripeInvoiceId, loaded);
  return loaded;
}

const ENDED = new Set(["canceled", "incomplete_expired"]);

function step(
  run: MirrorRun,
  invoice: InvoiceRow,
  fields: Pick<DunningStepRow, "kind" | "attempt" | "action" | "note" | "stripeEventId">,
): DunningStepRow {
  return {
    ...fields,
    id: newId("dstep"),
    tenantId: run.tenant.id,
    livemode: invoice.livemode,
    stripeInvoiceId: invoice.stripeInvoiceId,
    invoiceId: invoice.id,
    subscriptionId: invoice.subscriptionId,
    customerId: invoice.customerId,
    createdAt: run.ctx.clock.now(),
  };
}

/** Runs one dunning event for one invoice: decides, acts at Stripe, then records and reports. */
async function applyDunning(
  run: MirrorRun,
  invoice: InvoiceRow,
  event: DunningEvent,
  eventId: string,
  report: (attempt: number) => void,
): Promise<string> {
  const state = dunningRun(run);
  state.policy ??= await loadDunningPolicy(run.ctx.db, run.tenant.id);
  const policy = state.policy;
  const before = await invoiceDunning(run, state, invoice.stripeInvoiceId);
  const decided = dunningStep(before, event, policy);
  const subscription = invoice.stripeSubscriptionId
    ? run.state.subscriptions.get(invoice.stripeSubscriptionId)
    : undefined;
  const acting = decided.effects.find(
    (effect): effect is Extract<DunningEffect, { kind: "act" | "resume_collection" }> =>
      effect.kind === "act" || effect.kind === "resume_collection",
  );
  const answer = acting && subscription ? await atStripe(run, invoice, subscription, acting) : null;
  state.invoices.set(invoice.stripeInvoiceId, decided.state);
  for (const effect of decided.effects) {
    if (effect.kind === "notify") report(effect.attempt);
    if (effect.kind === "record_failure")
      state.steps.push(
        step(run, invoice, {
          kind: "failure",
          attempt: effect.attempt,
          action: null,
          note: decided.note,
          stripeEventId: eventId,
        }),
      );
  }
  if (acting && subscription) {
    const after = answer ? subscriptionAfter(run, subscription, answer) : subscription;
    const action = acting.kind === "act" ? acting.action : "resume_collection";
    const attempt = acting.kind === "act" ? acting.attempt : 0;
    state.steps.push(
      step(run, invoice, {
        kind: acting.kind === "act" ? "action" : "recovery",
        attempt,
        action,
        note: decided.note,
        stripeEventId: eventId,
      }),
    );
    const details = {
      invoice: invoice.id,
      action,
      failed_attempts: failuresOf(decided.state),
      after_attempts: policy.afterAttempts,
    };
    run.emit(
      "subscription.dunning_action",
      { object: "dunning_action", ...details, subscription: serializeSubscription(after) },
      after.livemode,
    );
    state.audits.push({
      tenantId: run.tenant.id,
      actorType: "system",
      action: `dunning.${action}`,
      targetType: "subscription",
      targetId: after.id,
      metadata: { ...details, previous_status: subscription.status, status: after.status },
      at: run.ctx.clock.now(),
    });
  }
  return `dunning: ${decided.note}`;
}

/**
 * `invoice.payment_failed`: one step per failed attempt (reported to the tenant once as
 * `invoice.payment_failed` unless its policy says otherwise), and the policy's action when the
 * failures reach its threshold.
 */
export function applyPaymentFailure(
  run: MirrorRun,
  invoice: InvoiceRow,
  snapshot: Record<string, unknown>,
  eventId: string,
) {
  const attempt = invoiceFields(snapshot);
  const subscription = invoice.stripeSubscriptionId
    ? run.state.subscriptions.get(invoice.stripeSubscriptionId)
    : undefined;
  return applyDunning(
    run,
    invoice,
    {
      type: "payment_failed",
      attempt: attempt.attemptCount,
      subscription: subscription !== undefined,
      firstInvoice: invoice.billingReason === "subscription_create",
      subscriptionEnded: subscription !== undefined && ENDED.has(subscription.status),
      invoiceSettled: invoice.status === "paid" || invoice.status === "void",
    },
    eventId,
    (number) =>
      run.emit(
        "invoice.payment_failed",
        serializeInvoice({
          ...invoice,
          attemptCount: number,
          nextPaymentAttempt: attempt.nextPaymentAttempt,
        }),
        invoice.livemode,
      ),
  );
}

/** A paid invoice whose subscription dunning marked unpaid: its collection resumes. */
export async function applyInvoicePaid(
  run: MirrorRun,
  invoice: InvoiceRow,
  eventId: string,
): Promise<string | null> {
  const subscription = invoice.stripeSubscriptionId
    ? run.state.subscriptions.get(invoice.stripeSubscriptionId)
    : undefined;
  if (invoice.status !== "paid" || subscription?.status !== "unpaid") return null;
  return applyDunning(run, invoice, { type: "paid" }, eventId, () => undefined);
}

/** The run's dunning steps (a replayed step is a no-op) and audit records, for its batch. */
export function dunningStatements(run: MirrorRun): BatchItem<"sqlite">[] {
  const state = runs.get(run);
  if (!state) return [];
  const { db } = run.ctx;
  return [
    ...state.steps.map((row) => db.insert(dunningSteps).values(row).onConflictDoNothing()),
    ...state.audits.map((entry) => auditInsert(db, entry)),
  ];
}
