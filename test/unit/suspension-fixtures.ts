/**
 * Shared builders of the suspension state machine's tests (rules and ordering): one tenant billed on
 * SUB, events created at T after the starting watermark T0, the starting states, the table of
 * state-changing rows, and seeded generators of event sequences.
 */
import {
  type BillingEvent,
  type BillingState,
  type Effect,
  INITIAL_BILLING_STATE,
  type StripeSubscriptionStatus,
  SUSPEND_AFTER_ATTEMPTS,
  type SubscriptionSnapshot,
  type TransitionNote,
} from "../../src/modules/platform-billing/suspension";

// ---------------------------------------------------------------------------------------------
// Fixtures: one tenant billed on SUB; events are created at T, after the starting watermark T0.

export const SUB = "sub_current";
export const OTHER = "sub_other";
export const PRICE = "price_pro";
export const T0 = 1_000;
export const T = 2_000;
export const TRIAL_END = 1_701_000_000;
export const P1 = { currentPeriodStart: 1_700_000_000, currentPeriodEnd: 1_702_592_000 };
export const P2 = { currentPeriodStart: 1_702_592_000, currentPeriodEnd: 1_705_270_400 };

export type Of<T extends BillingEvent["type"]> = Extract<BillingEvent, { type: T }>;
export type SubscriptionType = Extract<BillingEvent, { subscription: SubscriptionSnapshot }>["type"];

export function snap(
  status: StripeSubscriptionStatus,
  over: Partial<SubscriptionSnapshot> = {},
): SubscriptionSnapshot {
  return { id: SUB, status, ...P1, trialEnd: null, cancelAtPeriodEnd: false, priceId: PRICE, ...over };
}

export function subEvent(
  type: SubscriptionType,
  status: StripeSubscriptionStatus,
  at: number,
  over: Partial<SubscriptionSnapshot>,
): BillingEvent {
  return { type, created: at, subscription: snap(status, over) };
}

export const created = (status: StripeSubscriptionStatus, at = T, over: Partial<SubscriptionSnapshot> = {}) =>
  subEvent("customer.subscription.created", status, at, over);
export const updated = (status: StripeSubscriptionStatus, at = T, over: Partial<SubscriptionSnapshot> = {}) =>
  subEvent("customer.subscription.updated", status, at, over);
export const deleted = (at = T, over: Partial<SubscriptionSnapshot> = {}) =>
  subEvent("customer.subscription.deleted", "canceled", at, over);
export const trialWillEnd = (at = T, over: Partial<SubscriptionSnapshot> = {}): BillingEvent => ({
  type: "customer.subscription.trial_will_end",
  created: at,
  subscription: snap("trialing", { trialEnd: TRIAL_END, ...over }),
});
export const failed = (
  attemptCount: number,
  at = T,
  over: Partial<Of<"invoice.payment_failed">> = {},
): BillingEvent => ({
  type: "invoice.payment_failed",
  created: at,
  invoiceId: "in_1",
  subscriptionId: SUB,
  attemptCount,
  amountDue: 4900,
  currency: "eur",
  ...over,
});
export const succeeded = (at = T, over: Partial<Of<"invoice.payment_succeeded">> = {}): BillingEvent => ({
  type: "invoice.payment_succeeded",
  created: at,
  invoiceId: "in_1",
  subscriptionId: SUB,
  amountPaid: 4900,
  currency: "eur",
  ...over,
});
export const upcoming = (at = T, over: Partial<Of<"invoice.upcoming">> = {}): BillingEvent => ({
  type: "invoice.upcoming",
  created: at,
  subscriptionId: SUB,
  amountDue: 4900,
  currency: "eur",
  nextPaymentAttempt: 1_702_595_600,
  ...over,
});

/** Both watermarks at T0: the tenant has seen a snapshot and an invoice outcome before T. */
export const billed: BillingState = {
  ...INITIAL_BILLING_STATE,
  stripeSubscriptionId: SUB,
  ...P1,
  lastEventCreated: T0,
  lastInvoiceEventCreated: T0,
};

export const STARTS = {
  none: INITIAL_BILLING_STATE,
  active: { ...billed, subscriptionStatus: "active" },
  past_due: { ...billed, subscriptionStatus: "past_due" },
  trialing: { ...billed, subscriptionStatus: "trialing", trialEnd: TRIAL_END },
  suspended_payment_failed: {
    ...billed,
    subscriptionStatus: "past_due",
    tenantStatus: "suspended",
    suspendedReason: "payment_failed",
  },
  suspended_cancelled: {
    ...billed,
    subscriptionStatus: "cancelled",
    tenantStatus: "suspended",
    suspendedReason: "subscription_cancelled",
  },
  suspended_manual: {
    ...billed,
    subscriptionStatus: "active",
    tenantStatus: "suspended",
    suspendedReason: "manual",
  },
} satisfies Record<string, BillingState>;
export type Start = keyof typeof STARTS;
/** The active tenant before any event was applied: no watermark yet, in either stream. */
export const fresh: BillingState = {
  ...STARTS.active,
  lastEventCreated: null,
  lastInvoiceEventCreated: null,
};

export const EVENTS = {
  "created(active)": created("active"),
  "updated(active, renewed)": updated("active", T, P2),
  "updated(past_due)": updated("past_due"),
  deleted: deleted(),
  "payment_failed#1": failed(1),
  "payment_failed#3": failed(SUSPEND_AFTER_ATTEMPTS),
  payment_succeeded: succeeded(),
  trial_will_end: trialWillEnd(),
  "invoice.upcoming": upcoming(),
} satisfies Record<string, BillingEvent>;
export type EventName = keyof typeof EVENTS;

export type Watermark = "lastEventCreated" | "lastInvoiceEventCreated";
export type InvoiceEvent = Of<"invoice.payment_failed" | "invoice.payment_succeeded">;
export type SnapshotEvent = Of<SubscriptionType>;
export const isInvoice = (e: BillingEvent): e is InvoiceEvent =>
  e.type === "invoice.payment_failed" || e.type === "invoice.payment_succeeded";
export const isSnapshot = (e: BillingEvent): e is SnapshotEvent =>
  e.type === "customer.subscription.created" ||
  e.type === "customer.subscription.updated" ||
  e.type === "customer.subscription.deleted";
/** The watermark of the event's stream: invoice outcomes have their own. */
export const streamOf = (e: BillingEvent): Watermark =>
  isInvoice(e) ? "lastInvoiceEventCreated" : "lastEventCreated";
export const otherStream = (e: BillingEvent): Watermark =>
  isInvoice(e) ? "lastEventCreated" : "lastInvoiceEventCreated";

/** Effects as short labels, so whole tables stay readable. */
export const labels = (effects: Effect[]) =>
  effects.map((e) => (e.kind === "emit" ? `emit:${e.type}` : `audit:${e.action}`));

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object") {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
deepFreeze(STARTS);
deepFreeze(EVENTS);

// ---------------------------------------------------------------------------------------------
// The suspension table: every event × every starting state. Events are at T, newer than both
// starting watermarks (T0), so each one moves its own stream's watermark to T and leaves the other.

export const SYNC = "audit:billing.subscription_synced";
export const PAID = "audit:billing.payment_succeeded";
/** subscription.past_due announced by a snapshot (rule 3): no invoice, no billing.payment_failed. */
export const ANNOUNCED = "emit:subscription.past_due";
export const PAST_DUE = [ANNOUNCED, "audit:billing.payment_failed"];
export const SUSPENDED = ["emit:tenant.suspended", "audit:tenant.suspended"];
export const REACTIVATED = ["emit:tenant.reactivated", "audit:tenant.reactivated"];
export const SYNCED_FROM_NONE = { stripeSubscriptionId: SUB, ...P1 };
export const BY_PAYMENT = { tenantStatus: "suspended", suspendedReason: "payment_failed" } as const;
export const BY_CANCEL = { tenantStatus: "suspended", suspendedReason: "subscription_cancelled" } as const;
export const LIFTED = { tenantStatus: "active", suspendedReason: null } as const;
export const ACTIVE = { subscriptionStatus: "active" } as const;
export const PD = { subscriptionStatus: "past_due" } as const;
export const CANCELLED = { subscriptionStatus: "cancelled" } as const;

export type Row = [Start, EventName, Partial<BillingState>, string[], TransitionNote];
export const STATE_ROWS: Row[] = [
  ["none", "created(active)", { ...SYNCED_FROM_NONE, ...ACTIVE }, [SYNC], "synced"],
  ["active", "created(active)", {}, [], "synced"],
  ["past_due", "created(active)", ACTIVE, [SYNC], "synced"],
  ["trialing", "created(active)", { ...ACTIVE, trialEnd: null }, [SYNC], "synced"],
  ["suspended_payment_failed", "created(active)", ACTIVE, [SYNC], "synced"],
  ["suspended_cancelled", "created(active)", ACTIVE, [SYNC], "synced"],
  ["suspended_manual", "created(active)", {}, [], "synced"],

  ["none", "updated(active, renewed)", { ...SYNCED_FROM_NONE, ...P2, ...ACTIVE }, [SYNC], "synced"],
  ["active", "updated(active, renewed)", P2, [SYNC], "synced"],
  ["past_due", "updated(active, renewed)", { ...P2, ...ACTIVE }, [SYNC], "synced"],
  ["trialing", "updated(active, renewed)", { ...P2, ...ACTIVE, trialEnd: null }, [SYNC], "synced"],
  ["suspended_payment_failed", "updated(active, renewed)", { ...P2, ...ACTIVE }, [SYNC], "synced"],
  ["suspended_cancelled", "updated(active, renewed)", { ...P2, ...ACTIVE }, [SYNC], "synced"],
  ["suspended_manual", "updated(active, renewed)", P2, [SYNC], "synced"],

  // Rule 3: a sync that moves the status into past_due announces it (after the sync audit).
  ["none", "updated(past_due)", { ...SYNCED_FROM_NONE, ...PD }, [SYNC, ANNOUNCED], "synced"],
  ["active", "updated(past_due)", PD, [SYNC, ANNOUNCED], "synced"],
  ["past_due", "updated(past_due)", {}, [], "synced"],
  ["trialing", "updated(past_due)", { ...PD, trialEnd: null }, [SYNC, ANNOUNCED], "synced"],
  ["suspended_payment_failed", "updated(past_due)", {}, [], "synced"],
  ["suspended_cancelled", "updated(past_due)", PD, [SYNC, ANNOUNCED], "synced"],
  ["suspended_manual", "updated(past_due)", PD, [SYNC, ANNOUNCED], "synced"],

  ["none", "deleted", { ...SYNCED_FROM_NONE, ...CANCELLED, ...BY_CANCEL }, [SYNC, ...SUSPENDED], "suspended"],
  ["active", "deleted", { ...CANCELLED, ...BY_CANCEL }, [SYNC, ...SUSPENDED], "suspended"],
  ["past_due", "deleted", { ...CANCELLED, ...BY_CANCEL }, [SYNC, ...SUSPENDED], "suspended"],
  ["trialing", "deleted", { ...CANCELLED, trialEnd: null, ...BY_CANCEL }, [SYNC, ...SUSPENDED], "suspended"],
  // Rule 5: a payment suspension becomes a cancellation one, with no new suspension effects.
  ["suspended_payment_failed", "deleted", { ...CANCELLED, ...BY_CANCEL }, [SYNC], "cancelled"],
  ["suspended_cancelled", "deleted", {}, [], "cancelled"],
  ["suspended_manual", "deleted", CANCELLED, [SYNC], "cancelled"],

  ["none", "payment_failed#1", PD, PAST_DUE, "past_due"],
  ["active", "payment_failed#1", PD, PAST_DUE, "past_due"],
  ["past_due", "payment_failed#1", {}, [], "past_due"],
  ["trialing", "payment_failed#1", PD, PAST_DUE, "past_due"],
  ["suspended_payment_failed", "payment_failed#1", {}, [], "past_due"],
  // Rule 2: a cancelled status is never changed by an invoice event, so nothing is announced.
  ["suspended_cancelled", "payment_failed#1", {}, [], "past_due"],
  ["suspended_manual", "payment_failed#1", PD, PAST_DUE, "past_due"],

  ["none", "payment_failed#3", { ...PD, ...BY_PAYMENT }, [...PAST_DUE, ...SUSPENDED], "suspended"],
  ["active", "payment_failed#3", { ...PD, ...BY_PAYMENT }, [...PAST_DUE, ...SUSPENDED], "suspended"],
  ["past_due", "payment_failed#3", BY_PAYMENT, SUSPENDED, "suspended"],
  ["trialing", "payment_failed#3", { ...PD, ...BY_PAYMENT }, [...PAST_DUE, ...SUSPENDED], "suspended"],
  ["suspended_payment_failed", "payment_failed#3", {}, [], "past_due"],
  ["suspended_cancelled", "payment_failed#3", {}, [], "past_due"],
  ["suspended_manual", "payment_failed#3", PD, PAST_DUE, "past_due"],

  ["none", "payment_succeeded", ACTIVE, [PAID], "paid"],
  ["active", "payment_succeeded", {}, [], "paid"],
  ["past_due", "payment_succeeded", ACTIVE, [PAID], "paid"],
  ["trialing", "payment_succeeded", ACTIVE, [PAID], "paid"],
  [
    "suspended_payment_failed",
    "payment_succeeded",
    { ...ACTIVE, ...LIFTED },
    [PAID, ...REACTIVATED],
    "reactivated",
  ],
  // Rules 2 and 4: the status stays cancelled, so the suspension is not lifted and, the status not
  // becoming active, nothing is audited: the payment changes only the invoice watermark.
  ["suspended_cancelled", "payment_succeeded", {}, [], "paid"],
  ["suspended_manual", "payment_succeeded", {}, [], "paid"],
];

export const STATE_CHANGING: [string, (at: number) => BillingEvent][] = [
  ["created", (at) => created("active", at)],
  ["updated", (at) => updated("past_due", at, P2)],
  ["deleted", (at) => deleted(at)],
  ["payment_failed", (at) => failed(3, at)],
  ["payment_succeeded", (at) => succeeded(at)],
];

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export function shuffle<T>(rand: () => number, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

export function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)] as T;
}

export function* permutations<T>(items: readonly T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield [...items];
    return;
  }
  for (let i = 0; i < items.length; i++) {
    const rest = [...items.slice(0, i), ...items.slice(i + 1)];
    for (const tail of permutations(rest)) yield [items[i] as T, ...tail];
  }
}

/** Random subscription terms: a monthly period, cancel at period end or not, one of two prices. */
export function randomTerms(rand: () => number): Partial<SubscriptionSnapshot> {
  const start = 1_700_000_000 + Math.floor(rand() * 12) * 2_592_000;
  return {
    currentPeriodStart: start,
    currentPeriodEnd: start + 2_592_000,
    cancelAtPeriodEnd: rand() < 0.2,
    priceId: pick(rand, [PRICE, "price_max"]),
  };
}

export const LIVE_STATUSES = ["trialing", "active", "past_due", "unpaid", "incomplete", "paused"] as const;
export const FIRST_STATUSES = ["trialing", "active", "incomplete"] as const;

export type Family = "renewals" | "cancellation" | "any";

/**
 * A sequence on one subscription (SUB), `created` strictly increasing from `from`: created first,
 * then renewals, plan changes, failed/paid invoices and notifications. "renewals" ends with an
 * update and never reaches the suspension threshold; "cancellation" is the same ending with the
 * deletion; "any" also has final attempts, and deletions anywhere (even before updates, which
 * Stripe never sends).
 */
export function randomSequence(
  rand: () => number,
  length: number,
  family: Family,
  from: number,
): BillingEvent[] {
  let at = from;
  const next = () => (at += 1 + Math.floor(rand() * 50));
  const middle: (() => BillingEvent)[] = [
    () => updated(pick(rand, LIVE_STATUSES), next(), randomTerms(rand)),
    () => failed(1 + Math.floor(rand() * 2), next(), { invoiceId: `in_${at}` }),
    () => succeeded(next(), { invoiceId: `in_${at}` }),
    () => trialWillEnd(next()),
    () => upcoming(next()),
  ];
  if (family === "any")
    middle.push(
      () => failed(3 + Math.floor(rand() * 2), next()),
      () => deleted(next(), randomTerms(rand)),
    );
  const events = [created(pick(rand, FIRST_STATUSES), next(), randomTerms(rand))];
  while (events.length < length - 1) events.push(pick(rand, middle)());
  if (family === "renewals") events.push(updated(pick(rand, LIVE_STATUSES), next(), randomTerms(rand)));
  else if (family === "cancellation") events.push(deleted(next(), randomTerms(rand)));
  else events.push(pick(rand, middle)());
  return events;
}

/**
 * A mixed sequence of one subscription as Stripe sends it, `created` strictly increasing from
 * `from`: created first, then updates, failed invoices (attempts 1 to 4, so final ones too), paid
 * invoices and notifications. Half of them end the subscription: the deletion is its last
 * snapshot, and invoice outcomes (a final invoice failing or paid) may still come after it.
 */
export function mixedSequence(rand: () => number, length: number, from: number): BillingEvent[] {
  let at = from;
  const next = () => (at += 1 + Math.floor(rand() * 50));
  const invoices: (() => BillingEvent)[] = [
    () => failed(1 + Math.floor(rand() * 4), next(), { invoiceId: `in_${at}` }),
    () => succeeded(next(), { invoiceId: `in_${at}` }),
    () => upcoming(next()),
  ];
  const middle: (() => BillingEvent)[] = [
    ...invoices,
    () => updated(pick(rand, LIVE_STATUSES), next(), randomTerms(rand)),
    () => trialWillEnd(next()),
  ];
  const deleteAt = rand() < 0.5 ? 1 + Math.floor(rand() * (length - 1)) : length;
  const events = [created(pick(rand, FIRST_STATUSES), next(), randomTerms(rand))];
  for (let i = 1; i < length; i++) {
    events.push(
      i === deleteAt ? deleted(next(), randomTerms(rand)) : pick(rand, i < deleteAt ? middle : invoices)(),
    );
  }
  return events;
}
