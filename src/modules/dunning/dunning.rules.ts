import type { DunningAction } from "../../db/schema";

/**
 * Dunning: what happens to a subscription whose invoice's payment keeps failing, as a pure state
 * machine (the shape of platform billing's `suspension.ts`). Stripe's retries (Smart Retries)
 * decide when to try again; each failed attempt reaches us as `invoice.payment_failed` with
 * Stripe's `attempt_count`. `dunningStep(state, event, policy)` gives the invoice's next dunning
 * state and the effects to carry out: record the attempt, tell the tenant, and, once, the
 * tenant's action when the failures reach its threshold.
 *
 * Order never matters: the state is per invoice, the failures counted are Stripe's own attempt
 * numbers (the highest one seen, so a lost or late event does not delay the action), each attempt
 * is recorded and reported once however often or late its event comes, and the action is taken
 * once per invoice, keyed by the invoice and the threshold rather than by the event that reached
 * it. Any order of the same events therefore ends in the same state with the same effects. (Two
 * facts come from the mirror as it stands: whether the subscription has ended and whether the
 * invoice was settled meanwhile; they differ by arrival order only when the customer paid or the
 * subscription ended anyway, and then not acting is right.)
 */

export interface DunningPolicy {
  /** Failed attempts of one invoice after which `action` is taken (1 to 8). */
  afterAttempts: number;
  action: DunningAction;
  /** Whether each failed attempt is reported to the tenant (`invoice.payment_failed`). */
  notifyEachFailure: boolean;
}

/** Until a tenant sets its own: report every failure, and leave the subscription to Stripe's settings. */
export const DEFAULT_DUNNING_POLICY: DunningPolicy = {
  afterAttempts: 4,
  action: "leave_past_due",
  notifyEachFailure: true,
};

export const MAX_DUNNING_ATTEMPTS = 8;

/** What dunning knows of one invoice. */
export interface InvoiceDunning {
  /** Stripe's attempt numbers seen failing, ascending, each once. */
  failedAttempts: readonly number[];
  /** The action taken for this invoice, once; null before. */
  action: DunningAction | null;
  /** Whether a subscription marked unpaid for this invoice got its collection back. */
  recovered: boolean;
}

export const NO_DUNNING: InvoiceDunning = { failedAttempts: [], action: null, recovered: false };

export type DunningEvent =
  | {
      type: "payment_failed";
      attempt: number;
      /** Whether the invoice belongs to a subscription of the tenant's (one-off invoices get no action). */
      subscription: boolean;
      /** A subscription's first invoice: the subscription stays `incomplete` and Stripe expires it. */
      firstInvoice: boolean;
      /** The subscription has ended already (canceled, expired): nothing to act on. */
      subscriptionEnded: boolean;
      /** The invoice was paid or voided meanwhile: the customer owes nothing on it. */
      invoiceSettled: boolean;
    }
  | { type: "paid" };

export type DunningEffect =
  | { kind: "record_failure"; attempt: number }
  | { kind: "notify"; attempt: number }
  /** `attempt` is the threshold that was reached: the action's key, whichever event reached it. */
  | { kind: "act"; action: DunningAction; attempt: number }
  | { kind: "resume_collection" };

export interface DunningStep {
  state: InvoiceDunning;
  effects: DunningEffect[];
  note: string;
}

/** The failures Stripe counted for the invoice: the highest attempt number seen. */
export const failuresOf = (state: InvoiceDunning) => Math.max(0, ...state.failedAttempts);

function whyNoAction(event: Extract<DunningEvent, { type: "payment_failed" }>): string | null {
  if (!event.subscription) return "not a subscription's invoice";
  if (event.firstInvoice) return "a first invoice: the subscription stays incomplete until Stripe expires it";
  if (event.subscriptionEnded) return "the subscription has ended";
  if (event.invoiceSettled) return "the invoice is settled";
  return null;
}

function paymentFailed(
  state: InvoiceDunning,
  event: Extract<DunningEvent, { type: "payment_failed" }>,
  policy: DunningPolicy,
): DunningStep {
  if (!Number.isInteger(event.attempt) || event.attempt < 1)
    return { state, effects: [], note: `ignored: attempt ${event.attempt}` };
  if (state.failedAttempts.includes(event.attempt))
    return { state, effects: [], note: `attempt ${event.attempt} already recorded` };
  const next: InvoiceDunning = {
    ...state,
    failedAttempts: [...state.failedAttempts, event.attempt].sort((a, b) => a - b),
  };
  const effects: DunningEffect[] = [{ kind: "record_failure", attempt: event.attempt }];
  if (policy.notifyEachFailure) effects.push({ kind: "notify", attempt: event.attempt });
  const failures = failuresOf(next);
  const notes = [`failure ${event.attempt} recorded (${failures} of ${policy.afterAttempts})`];
  if (state.action === null && failures >= policy.afterAttempts) {
    const why = whyNoAction(event);
    if (why) notes.push(`no action: ${why}`);
    else {
      effects.push({ kind: "act", action: policy.action, attempt: policy.afterAttempts });
      notes.push(`action: ${policy.action}`);
      return { state: { ...next, action: policy.action }, effects, note: notes.join("; ") };
    }
  }
  return { state: next, effects, note: notes.join("; ") };
}

/** One event's step for one invoice. */
export function dunningStep(state: InvoiceDunning, event: DunningEvent, policy: DunningPolicy): DunningStep {
  if (event.type === "payment_failed") return paymentFailed(state, event, policy);
  if (state.action === "mark_unpaid" && !state.recovered) {
    return {
      state: { ...state, recovered: true },
      effects: [{ kind: "resume_collection" }],
      note: "paid: the subscription marked unpaid collects again",
    };
  }
  return { state, effects: [], note: "paid" };
}
