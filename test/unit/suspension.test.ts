import { describe, expect, it } from "vitest";
import {
  applyAll,
  BILLING_SUSPENSION_REASONS,
  type BillingEvent,
  type BillingState,
  type Effect,
  fromStripeSubscriptionStatus,
  INITIAL_BILLING_STATE,
  type StripeSubscriptionStatus,
  SUSPEND_AFTER_ATTEMPTS,
  type SubscriptionSnapshot,
  type TransitionNote,
  transition,
} from "../../src/modules/platform-billing/suspension";

// ---------------------------------------------------------------------------------------------
// Fixtures: one tenant billed on SUB; events are created at T, after the starting watermark T0.

const SUB = "sub_current";
const OTHER = "sub_other";
const PRICE = "price_pro";
const T0 = 1_000;
const T = 2_000;
const TRIAL_END = 1_701_000_000;
const P1 = { currentPeriodStart: 1_700_000_000, currentPeriodEnd: 1_702_592_000 };
const P2 = { currentPeriodStart: 1_702_592_000, currentPeriodEnd: 1_705_270_400 };

type Of<T extends BillingEvent["type"]> = Extract<BillingEvent, { type: T }>;
type SubscriptionType = Extract<BillingEvent, { subscription: SubscriptionSnapshot }>["type"];

function snap(
  status: StripeSubscriptionStatus,
  over: Partial<SubscriptionSnapshot> = {},
): SubscriptionSnapshot {
  return { id: SUB, status, ...P1, trialEnd: null, cancelAtPeriodEnd: false, priceId: PRICE, ...over };
}

function subEvent(
  type: SubscriptionType,
  status: StripeSubscriptionStatus,
  at: number,
  over: Partial<SubscriptionSnapshot>,
): BillingEvent {
  return { type, created: at, subscription: snap(status, over) };
}

const created = (status: StripeSubscriptionStatus, at = T, over: Partial<SubscriptionSnapshot> = {}) =>
  subEvent("customer.subscription.created", status, at, over);
const updated = (status: StripeSubscriptionStatus, at = T, over: Partial<SubscriptionSnapshot> = {}) =>
  subEvent("customer.subscription.updated", status, at, over);
const deleted = (at = T, over: Partial<SubscriptionSnapshot> = {}) =>
  subEvent("customer.subscription.deleted", "canceled", at, over);
const trialWillEnd = (at = T, over: Partial<SubscriptionSnapshot> = {}): BillingEvent => ({
  type: "customer.subscription.trial_will_end",
  created: at,
  subscription: snap("trialing", { trialEnd: TRIAL_END, ...over }),
});
const failed = (
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
const succeeded = (at = T, over: Partial<Of<"invoice.payment_succeeded">> = {}): BillingEvent => ({
  type: "invoice.payment_succeeded",
  created: at,
  invoiceId: "in_1",
  subscriptionId: SUB,
  amountPaid: 4900,
  currency: "eur",
  ...over,
});
const upcoming = (at = T, over: Partial<Of<"invoice.upcoming">> = {}): BillingEvent => ({
  type: "invoice.upcoming",
  created: at,
  subscriptionId: SUB,
  amountDue: 4900,
  currency: "eur",
  nextPaymentAttempt: 1_702_595_600,
  ...over,
});

/** Both watermarks at T0: the tenant has seen a snapshot and an invoice outcome before T. */
const billed: BillingState = {
  ...INITIAL_BILLING_STATE,
  stripeSubscriptionId: SUB,
  ...P1,
  priceId: PRICE,
  lastEventCreated: T0,
  lastInvoiceEventCreated: T0,
};

const STARTS = {
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
type Start = keyof typeof STARTS;
/** The active tenant before any event was applied: no watermark yet, in either stream. */
const fresh: BillingState = { ...STARTS.active, lastEventCreated: null, lastInvoiceEventCreated: null };

const EVENTS = {
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
type EventName = keyof typeof EVENTS;

type Watermark = "lastEventCreated" | "lastInvoiceEventCreated";
type InvoiceEvent = Of<"invoice.payment_failed" | "invoice.payment_succeeded">;
type SnapshotEvent = Of<SubscriptionType>;
const isInvoice = (e: BillingEvent): e is InvoiceEvent =>
  e.type === "invoice.payment_failed" || e.type === "invoice.payment_succeeded";
const isSnapshot = (e: BillingEvent): e is SnapshotEvent =>
  e.type === "customer.subscription.created" ||
  e.type === "customer.subscription.updated" ||
  e.type === "customer.subscription.deleted";
/** The watermark of the event's stream: invoice outcomes have their own. */
const streamOf = (e: BillingEvent): Watermark =>
  isInvoice(e) ? "lastInvoiceEventCreated" : "lastEventCreated";
const otherStream = (e: BillingEvent): Watermark =>
  isInvoice(e) ? "lastEventCreated" : "lastInvoiceEventCreated";

/** Effects as short labels, so whole tables stay readable. */
const labels = (effects: Effect[]) =>
  effects.map((e) => (e.kind === "emit" ? `emit:${e.type}` : `audit:${e.action}`));

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object") {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
deepFreeze(STARTS);
deepFreeze(EVENTS);

// ---------------------------------------------------------------------------------------------

describe("fromStripeSubscriptionStatus", () => {
  it.each([
    ["incomplete", "incomplete"],
    ["incomplete_expired", "cancelled"],
    ["trialing", "trialing"],
    ["active", "active"],
    ["past_due", "past_due"],
    ["canceled", "cancelled"],
    ["unpaid", "unpaid"],
    ["paused", "unpaid"],
  ] as const)("%s → %s", (stripe, ours) => {
    expect(fromStripeSubscriptionStatus(stripe)).toBe(ours);
  });
});

describe("constants", () => {
  it("follow the contract", () => {
    expect(SUSPEND_AFTER_ATTEMPTS).toBe(3);
    expect(BILLING_SUSPENSION_REASONS).toEqual(["payment_failed", "subscription_cancelled"]);
  });

  it("INITIAL_BILLING_STATE has no watermark in either stream", () => {
    expect(INITIAL_BILLING_STATE).toEqual({
      tenantStatus: "active",
      suspendedReason: null,
      subscriptionStatus: "none",
      stripeSubscriptionId: null,
      currentPeriodStart: null,
      currentPeriodEnd: null,
      trialEnd: null,
      cancelAtPeriodEnd: false,
      priceId: null,
      lastEventCreated: null,
      lastInvoiceEventCreated: null,
    });
    expect(Object.keys(INITIAL_BILLING_STATE)).toContain("lastInvoiceEventCreated");
  });
});

// ---------------------------------------------------------------------------------------------
// The suspension table: every event × every starting state. Events are at T, newer than both
// starting watermarks (T0), so each one moves its own stream's watermark to T and leaves the other.

const SYNC = "audit:billing.subscription_synced";
const PAID = "audit:billing.payment_succeeded";
/** subscription.past_due announced by a snapshot (rule 3): no invoice, no billing.payment_failed. */
const ANNOUNCED = "emit:subscription.past_due";
const PAST_DUE = [ANNOUNCED, "audit:billing.payment_failed"];
const SUSPENDED = ["emit:tenant.suspended", "audit:tenant.suspended"];
const REACTIVATED = ["emit:tenant.reactivated", "audit:tenant.reactivated"];
const SYNCED_FROM_NONE = { stripeSubscriptionId: SUB, ...P1, priceId: PRICE };
const BY_PAYMENT = { tenantStatus: "suspended", suspendedReason: "payment_failed" } as const;
const BY_CANCEL = { tenantStatus: "suspended", suspendedReason: "subscription_cancelled" } as const;
const LIFTED = { tenantStatus: "active", suspendedReason: null } as const;
const ACTIVE = { subscriptionStatus: "active" } as const;
const PD = { subscriptionStatus: "past_due" } as const;
const CANCELLED = { subscriptionStatus: "cancelled" } as const;

type Row = [Start, EventName, Partial<BillingState>, string[], TransitionNote];
const STATE_ROWS: Row[] = [
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

describe("transition: state-changing events × starting states", () => {
  it.each(STATE_ROWS)("%s + %s", (start, event, patch, effects, note) => {
    const before = structuredClone(STARTS[start]);
    const result = transition(STARTS[start], EVENTS[event]);
    // Only the event's own stream's watermark moves (to T); the other one is left as it was.
    expect(result.state).toEqual({ ...STARTS[start], ...patch, [streamOf(EVENTS[event])]: T });
    expect(labels(result.effects)).toEqual(effects);
    expect(result).toMatchObject({ applied: true, note });
    expect(STARTS[start]).toEqual(before);
  });

  it("covers every state-changing event from every starting state", () => {
    const names = (Object.keys(EVENTS) as EventName[]).filter(
      (n) => !["trial_will_end", "invoice.upcoming"].includes(n),
    );
    const covered = new Set(STATE_ROWS.map(([start, event]) => `${start}|${event}`));
    for (const start of Object.keys(STARTS))
      for (const name of names) expect(covered).toContain(`${start}|${name}`);
    expect(STATE_ROWS).toHaveLength(Object.keys(STARTS).length * names.length);
  });
});

const NOTIFICATION_ROWS = (Object.keys(STARTS) as Start[]).flatMap((start) => [
  [start, "trial_will_end", "emit:tenant.trial_will_end"] as const,
  [start, "invoice.upcoming", "emit:invoice.upcoming"] as const,
]);

describe("transition: notifications × starting states", () => {
  it.each(NOTIFICATION_ROWS)("%s + %s emits and changes nothing", (start, event, effect) => {
    const result = transition(STARTS[start], EVENTS[event]);
    expect(result.state).toBe(STARTS[start]);
    expect(labels(result.effects)).toEqual([effect]);
    expect(result).toMatchObject({ applied: true, note: "notified" });
  });
});

// ---------------------------------------------------------------------------------------------

describe("effect payloads", () => {
  it("subscription.past_due and billing.payment_failed carry the invoice", () => {
    const data = {
      subscription_id: SUB,
      invoice_id: "in_1",
      attempt_count: 1,
      amount_due: 4900,
      currency: "eur",
    };
    expect(transition(STARTS.active, failed(1)).effects).toEqual([
      { kind: "emit", type: "subscription.past_due", data },
      { kind: "audit", action: "billing.payment_failed", metadata: data },
    ]);
  });

  it("tenant.suspended for payment_failed names the invoice and the attempt", () => {
    const ids = { subscription_id: SUB, invoice_id: "in_9", attempt_count: 4 };
    expect(transition(STARTS.past_due, failed(4, T, { invoiceId: "in_9" })).effects).toEqual([
      { kind: "emit", type: "tenant.suspended", data: { reason: "payment_failed", ...ids } },
      { kind: "audit", action: "tenant.suspended", reason: "payment_failed", metadata: ids },
    ]);
  });

  it("tenant.suspended for subscription_cancelled names the subscription, after the sync audit", () => {
    expect(transition(STARTS.active, deleted()).effects).toEqual([
      {
        kind: "audit",
        action: "billing.subscription_synced",
        metadata: {
          subscription_id: SUB,
          status: "cancelled",
          previous_subscription_id: SUB,
          previous_status: "active",
        },
      },
      {
        kind: "emit",
        type: "tenant.suspended",
        data: { reason: "subscription_cancelled", subscription_id: SUB },
      },
      {
        kind: "audit",
        action: "tenant.suspended",
        reason: "subscription_cancelled",
        metadata: { subscription_id: SUB },
      },
    ]);
  });

  it("tenant.reactivated gives the previous reason", () => {
    const data = { previous_reason: "payment_failed", subscription_id: SUB, invoice_id: "in_1" };
    expect(transition(STARTS.suspended_payment_failed, succeeded()).effects).toEqual([
      {
        kind: "audit",
        action: "billing.payment_succeeded",
        metadata: {
          subscription_id: SUB,
          invoice_id: "in_1",
          amount_paid: 4900,
          currency: "eur",
          previous_status: "past_due",
        },
      },
      { kind: "emit", type: "tenant.reactivated", data },
      { kind: "audit", action: "tenant.reactivated", reason: "payment_succeeded", metadata: data },
    ]);
  });

  it("tenant.trial_will_end gives the trial end from the snapshot", () => {
    expect(transition(STARTS.trialing, trialWillEnd(T, { trialEnd: 1_234 })).effects).toEqual([
      { kind: "emit", type: "tenant.trial_will_end", data: { subscription_id: SUB, trial_end: 1_234 } },
    ]);
  });

  it("invoice.upcoming gives the amount and the next attempt", () => {
    expect(
      transition(STARTS.active, upcoming(T, { nextPaymentAttempt: null, amountDue: 0 })).effects,
    ).toEqual([
      {
        kind: "emit",
        type: "invoice.upcoming",
        data: { subscription_id: SUB, amount_due: 0, currency: "eur", next_payment_attempt: null },
      },
    ]);
  });

  it("billing.subscription_synced on a plan switch names both subscriptions", () => {
    const [effect] = transition(
      STARTS.active,
      updated("active", T, { id: OTHER, priceId: "price_max" }),
    ).effects;
    expect(effect).toEqual({
      kind: "audit",
      action: "billing.subscription_synced",
      metadata: {
        subscription_id: OTHER,
        status: "active",
        previous_subscription_id: SUB,
        previous_status: "active",
      },
    });
  });
  it("subscription.past_due from a sync names the subscription, after the sync audit", () => {
    expect(transition(STARTS.active, updated("past_due")).effects).toEqual([
      {
        kind: "audit",
        action: "billing.subscription_synced",
        metadata: {
          subscription_id: SUB,
          status: "past_due",
          previous_subscription_id: SUB,
          previous_status: "active",
        },
      },
      { kind: "emit", type: "subscription.past_due", data: { subscription_id: SUB } },
    ]);
  });

  it("subscription.past_due from the adoption of a past_due subscription names the new one", () => {
    const { effects } = transition(STARTS.active, updated("past_due", T, { id: OTHER }));
    expect(effects.at(-1)).toEqual({
      kind: "emit",
      type: "subscription.past_due",
      data: { subscription_id: OTHER },
    });
  });

  it("a payment on a cancelled subscription lifts nothing and audits nothing (the status stays cancelled)", () => {
    expect(transition(STARTS.suspended_cancelled, succeeded()).effects).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------

describe("suspension threshold", () => {
  it.each([
    [1, "active"],
    [2, "active"],
    [3, "suspended"],
    [4, "suspended"],
    [7, "suspended"],
  ] as const)("attempt %i leaves the tenant %s", (attempt, tenantStatus) => {
    expect(transition(STARTS.active, failed(attempt)).state.tenantStatus).toBe(tenantStatus);
  });
});

describe("other subscriptions (rule 2)", () => {
  const onOther = { id: OTHER };
  const ignored: [string, BillingEvent][] = [
    ["deleted", deleted(T, onOther)],
    ["payment_failed", failed(3, T, { subscriptionId: OTHER })],
    ["payment_failed without subscription", failed(3, T, { subscriptionId: null })],
    ["payment_succeeded", succeeded(T, { subscriptionId: OTHER })],
    ["payment_succeeded without subscription", succeeded(T, { subscriptionId: null })],
    ["invoice.upcoming", upcoming(T, { subscriptionId: OTHER })],
    ["invoice.upcoming without subscription", upcoming(T, { subscriptionId: null })],
    ["trial_will_end", trialWillEnd(T, onOther)],
    ["created(canceled)", created("canceled", T, onOther)],
    ["updated(canceled)", updated("canceled", T, onOther)],
    ["updated(incomplete_expired)", updated("incomplete_expired", T, onOther)],
  ];
  it.each(ignored)("%s of another subscription is ignored", (_, event) => {
    for (const start of [STARTS.active, STARTS.suspended_payment_failed, STARTS.suspended_cancelled]) {
      expect(transition(start, event)).toEqual({
        state: start,
        effects: [],
        applied: false,
        note: "other_subscription",
      });
    }
  });

  const adopted = ["active", "trialing", "past_due", "incomplete", "unpaid", "paused"] as const;
  it.each(adopted.flatMap((status) => [created(status, T, onOther), updated(status, T, onOther)]))(
    "$type of another subscription with status $subscription.status is adopted (plan switch)",
    (event) => {
      const status = "subscription" in event ? event.subscription.status : "active";
      const result = transition(STARTS.active, event);
      expect(result.state).toEqual({
        ...STARTS.active,
        stripeSubscriptionId: OTHER,
        subscriptionStatus: fromStripeSubscriptionStatus(status),
        lastEventCreated: T,
      });
      expect(result).toMatchObject({ applied: true, note: "adopted" });
      // Rule 3: adopting a past_due subscription moves the status into past_due, so it is announced.
      expect(labels(result.effects)).toEqual(status === "past_due" ? [SYNC, ANNOUNCED] : [SYNC]);
    },
  );

  it("after a plan switch, the old subscription's deletion does not suspend", () => {
    const events = [
      created("active", 10),
      created("active", 20, { id: OTHER, priceId: "price_max" }),
      deleted(30),
    ];
    const { state, effects } = applyAll(INITIAL_BILLING_STATE, events);
    expect(state).toMatchObject({
      stripeSubscriptionId: OTHER,
      subscriptionStatus: "active",
      tenantStatus: "active",
    });
    expect(state.priceId).toBe("price_max");
    expect(state.lastEventCreated).toBe(20);
    expect(state.lastInvoiceEventCreated).toBeNull();
    expect(labels(effects)).toEqual([SYNC, SYNC]);
  });

  it("with no subscription yet, invoice events of any subscription apply and adopt nothing", () => {
    for (const subscriptionId of [SUB, OTHER, null]) {
      const result = transition(INITIAL_BILLING_STATE, failed(3, T, { subscriptionId }));
      expect(result.state).toMatchObject({ subscriptionStatus: "past_due", tenantStatus: "suspended" });
      expect(result.state.stripeSubscriptionId).toBeNull();
      expect(result.state).toMatchObject({ lastEventCreated: null, lastInvoiceEventCreated: T });
      expect(labels(transition(INITIAL_BILLING_STATE, upcoming(T, { subscriptionId })).effects)).toEqual([
        "emit:invoice.upcoming",
      ]);
    }
  });

  it("with no subscription yet, any subscription event adopts its id, even a cancelled one", () => {
    for (const event of [
      created("canceled", T, onOther),
      updated("incomplete", T, onOther),
      deleted(T, onOther),
    ]) {
      expect(transition(INITIAL_BILLING_STATE, event).state.stripeSubscriptionId).toBe(OTHER);
    }
  });
});

// ---------------------------------------------------------------------------------------------

const STATE_CHANGING: [string, (at: number) => BillingEvent][] = [
  ["created", (at) => created("active", at)],
  ["updated", (at) => updated("past_due", at, P2)],
  ["deleted", (at) => deleted(at)],
  ["payment_failed", (at) => failed(3, at)],
  ["payment_succeeded", (at) => succeeded(at)],
];

describe("staleness (rule 1): each stream against its own watermark", () => {
  it.each(STATE_CHANGING)("%s older than its stream's watermark changes nothing", (_, make) => {
    const event = make(T0 - 1);
    const starts = Object.values(STARTS).filter((s) => s[streamOf(event)] !== null);
    expect(starts).toHaveLength(Object.keys(STARTS).length - 1);
    for (const start of starts) {
      expect(transition(start, event)).toEqual({ state: start, effects: [], applied: false, note: "stale" });
    }
  });

  it.each(STATE_CHANGING)("%s at exactly its stream's watermark is applied", (_, make) => {
    const event = make(T0);
    const result = transition(STARTS.trialing, event);
    expect(result.applied).toBe(true);
    expect(result.state[streamOf(event)]).toBe(T0);
    expect(result.state[otherStream(event)]).toBe(T0);
  });

  it.each(STATE_CHANGING)("%s newer than its stream's watermark moves that one only", (_, make) => {
    const event = make(T0 + 1);
    const { state } = transition(STARTS.trialing, event);
    expect(state[streamOf(event)]).toBe(T0 + 1);
    expect(state[otherStream(event)]).toBe(T0);
  });

  it.each(STATE_CHANGING)("%s with no watermark in its stream applies and sets it", (_, make) => {
    const event = make(T0 - 1);
    const start: BillingState = { ...STARTS.trialing, [streamOf(event)]: null };
    const { state, applied } = transition(start, event);
    expect(applied).toBe(true);
    expect(state[streamOf(event)]).toBe(T0 - 1);
    expect(state[otherStream(event)]).toBe(T0);
  });

  it.each([
    ["trial_will_end", trialWillEnd(1)],
    ["invoice.upcoming", upcoming(1)],
    ["trial_will_end (newer)", trialWillEnd(T0 * 9)],
    ["invoice.upcoming (newer)", upcoming(T0 * 9)],
  ])("%s is never stale and moves neither watermark", (_, event) => {
    for (const start of Object.values(STARTS)) {
      const result = transition(start, event);
      expect(result.state).toBe(start);
      expect(result.effects).toHaveLength(1);
    }
  });

  it("an old payment failure after a newer payment changes nothing", () => {
    const paid = applyAll(fresh, [failed(1, 100), succeeded(200)]).state;
    expect(transition(paid, failed(3, 150))).toEqual({
      state: paid,
      effects: [],
      applied: false,
      note: "stale",
    });
    expect(paid).toMatchObject({
      subscriptionStatus: "active",
      tenantStatus: "active",
      lastEventCreated: null,
      lastInvoiceEventCreated: 200,
    });
  });

  it("updated delivered before created: created is older, so ignored, and updated's state is kept", () => {
    const later = updated("active", 200, { ...P2, priceId: "price_max" });
    const first = transition(INITIAL_BILLING_STATE, later);
    const second = transition(first.state, created("incomplete", 100));
    expect(second).toEqual({ state: first.state, effects: [], applied: false, note: "stale" });
    expect(second.state).toMatchObject({ subscriptionStatus: "active", priceId: "price_max", ...P2 });
  });
});

describe("two watermarks (rule 1)", () => {
  /** A newer snapshot (at 300) than invoice outcome (at 100). */
  const snapshotAhead: BillingState = {
    ...STARTS.active,
    lastEventCreated: 300,
    lastInvoiceEventCreated: 100,
  };
  /** A newer invoice outcome (at 300) than snapshot (at 100). */
  const invoiceAhead: BillingState = {
    ...STARTS.active,
    lastEventCreated: 100,
    lastInvoiceEventCreated: 300,
  };

  it.each([
    ["payment_failed#1", failed(1, 200)],
    ["payment_failed#3", failed(3, 200)],
    ["payment_succeeded", succeeded(200)],
  ])("%s older than the newest snapshot but newer than the last invoice outcome is applied", (_, event) => {
    const past: BillingState = { ...snapshotAhead, subscriptionStatus: "past_due", ...BY_PAYMENT };
    for (const start of [snapshotAhead, past]) {
      const result = transition(start, event);
      expect(result.applied).toBe(true);
      expect(result.note).not.toBe("stale");
      expect(result.state).toMatchObject({ lastEventCreated: 300, lastInvoiceEventCreated: 200 });
    }
  });

  it.each([
    ["created", created("active", 200, P2)],
    ["updated", updated("past_due", 200, P2)],
    ["deleted", deleted(200, P2)],
  ])("%s older than the last invoice outcome but newer than the newest snapshot is applied", (_, event) => {
    const result = transition(invoiceAhead, event);
    expect(result.applied).toBe(true);
    expect(result.state).toMatchObject({ ...P2, lastEventCreated: 200, lastInvoiceEventCreated: 300 });
    if (event.type === "customer.subscription.deleted") expect(result.state).toMatchObject(CANCELLED);
  });

  it.each([
    ["payment_failed#3", failed(3, 200)],
    ["payment_succeeded", succeeded(200)],
  ])("%s older than the last invoice outcome is stale, even when newer than every snapshot", (_, event) => {
    const start: BillingState = { ...invoiceAhead, subscriptionStatus: "past_due", ...BY_PAYMENT };
    expect(transition(start, event)).toEqual({ state: start, effects: [], applied: false, note: "stale" });
  });

  it.each([
    ["created", created("active", 200, P2)],
    ["updated", updated("past_due", 200, P2)],
    ["deleted", deleted(200)],
  ])("%s older than the newest snapshot is stale, even when newer than every invoice outcome", (_, event) => {
    expect(transition(snapshotAhead, event)).toEqual({
      state: snapshotAhead,
      effects: [],
      applied: false,
      note: "stale",
    });
  });

  it("each stream keeps the maximum of its own events, whatever the interleaving", () => {
    const events = [
      updated("active", 50),
      failed(1, 10),
      succeeded(40),
      updated("active", 20),
      failed(2, 30),
    ];
    for (const order of permutations(events)) {
      expect(applyAll(fresh, order).state).toMatchObject({
        lastEventCreated: 50,
        lastInvoiceEventCreated: 40,
      });
    }
  });

  it("a stream with no event keeps a null watermark", () => {
    expect(
      applyAll(INITIAL_BILLING_STATE, [created("active", 10), updated("active", 20)]).state,
    ).toMatchObject({ lastEventCreated: 20, lastInvoiceEventCreated: null });
    expect(applyAll(INITIAL_BILLING_STATE, [failed(1, 10), succeeded(20)]).state).toMatchObject({
      lastEventCreated: null,
      lastInvoiceEventCreated: 20,
    });
  });
});

describe("invoice outcomes and the subscription status (rule 2)", () => {
  it("an invoice event not older than the newest snapshot sets the status", () => {
    expect(transition(STARTS.active, failed(1, T0)).state.subscriptionStatus).toBe("past_due");
    expect(transition(STARTS.past_due, succeeded(T0)).state.subscriptionStatus).toBe("active");
    expect(transition(fresh, failed(1, 1)).state.subscriptionStatus).toBe("past_due");
  });

  it("a failure older than the newest snapshot keeps the snapshot's status and announces nothing", () => {
    const newer = applyAll(fresh, [updated("active", 30)]).state;
    const result = transition(newer, failed(1, 20));
    expect(result).toMatchObject({ applied: true, note: "past_due" });
    expect(result.state).toEqual({ ...newer, lastInvoiceEventCreated: 20 });
    expect(result.effects).toEqual([]);
  });

  it("a final failure older than the newest snapshot still counts: it suspends, status unchanged", () => {
    const newer = applyAll(fresh, [updated("unpaid", 30)]).state;
    const result = transition(newer, failed(3, 20));
    expect(result.state).toEqual({ ...newer, ...BY_PAYMENT, lastInvoiceEventCreated: 20 });
    expect(labels(result.effects)).toEqual(SUSPENDED);
  });

  it("a payment older than the newest snapshot keeps the snapshot's status but lifts the suspension", () => {
    const newer = applyAll(fresh, [failed(3, 10), updated("past_due", 30)]).state;
    expect(newer).toMatchObject({ ...PD, ...BY_PAYMENT });
    const result = transition(newer, succeeded(20));
    expect(result.state).toEqual({ ...newer, ...PD, ...LIFTED, lastInvoiceEventCreated: 20 });
    expect(result.note).toBe("reactivated");
    // The snapshot's past_due stands (it is newer), so the payment is not audited as a recovery.
    expect(labels(result.effects)).toEqual(REACTIVATED);
  });

  it.each([
    ["payment_failed#1", failed(1, 5_000)],
    ["payment_failed#3", failed(3, 5_000)],
    ["payment_succeeded", succeeded(5_000)],
  ])("%s never changes a cancelled status, even newer than the deletion", (_, event) => {
    for (const start of [STARTS.suspended_cancelled, { ...STARTS.suspended_cancelled, ...LIFTED }]) {
      const { state, effects } = transition(start, event);
      expect(state.subscriptionStatus).toBe("cancelled");
      expect(labels(effects)).not.toContain(ANNOUNCED);
      expect(labels(effects)).not.toContain("audit:billing.payment_failed");
    }
  });

  it("subscription.past_due is announced only when the failure moves the status into past_due", () => {
    expect(labels(transition(STARTS.active, failed(1)).effects)).toEqual(PAST_DUE);
    expect(labels(transition(STARTS.past_due, failed(1)).effects)).toEqual([]);
    const newer = applyAll(fresh, [updated("active", 30)]).state;
    expect(labels(transition(newer, failed(1, 20)).effects)).toEqual([]);
    expect(labels(transition(STARTS.suspended_cancelled, failed(1)).effects)).toEqual([]);
  });
});

describe("past_due announced by whichever event brings it first (rules 2 and 3)", () => {
  it("a sync into past_due announces it; a sync already in past_due does not", () => {
    expect(labels(transition(STARTS.active, updated("past_due")).effects)).toEqual([SYNC, ANNOUNCED]);
    expect(labels(transition(STARTS.past_due, updated("past_due", T, P2)).effects)).toEqual([SYNC]);
    expect(labels(transition(STARTS.active, created("past_due")).effects)).toEqual([SYNC, ANNOUNCED]);
  });

  it("a failure after a past_due sync announces nothing more, and the reverse", () => {
    const [update, failure] = [updated("past_due", 10), failed(1, 10)];
    const syncFirst = applyAll(fresh, [update, failure]);
    const failureFirst = applyAll(fresh, [failure, update]);
    expect(labels(syncFirst.effects)).toEqual([SYNC, ANNOUNCED]);
    expect(labels(failureFirst.effects)).toEqual(PAST_DUE);
    expect(syncFirst.state).toEqual(failureFirst.state);
  });
});

describe("payments lift billing suspensions unless the subscription is cancelled (rule 4)", () => {
  it.each(BILLING_SUSPENSION_REASONS)(
    "lifts %s when the status after the payment is not cancelled",
    (reason) => {
      const start: BillingState = { ...STARTS.past_due, tenantStatus: "suspended", suspendedReason: reason };
      const result = transition(start, succeeded());
      expect(result.state).toMatchObject({ ...ACTIVE, ...LIFTED });
      expect(result.note).toBe("reactivated");
      expect(result.effects.find((e) => e.kind === "emit")).toEqual({
        kind: "emit",
        type: "tenant.reactivated",
        data: { previous_reason: reason, subscription_id: SUB, invoice_id: "in_1" },
      });
    },
  );

  it.each(BILLING_SUSPENSION_REASONS)("does not lift %s when the subscription is cancelled", (reason) => {
    const start: BillingState = { ...STARTS.suspended_cancelled, suspendedReason: reason };
    const result = transition(start, succeeded());
    expect(result.state).toMatchObject({ ...CANCELLED, tenantStatus: "suspended", suspendedReason: reason });
    expect(result.note).toBe("paid");
    expect(labels(result.effects)).not.toContain("emit:tenant.reactivated");
  });

  it("a late payment (the final invoice, newer than the deletion) does not reactivate", () => {
    const { state, effects } = applyAll(fresh, [deleted(10), succeeded(20)]);
    expect(state).toMatchObject({
      ...CANCELLED,
      ...BY_CANCEL,
      lastEventCreated: 10,
      lastInvoiceEventCreated: 20,
    });
    expect(labels(effects)).not.toContain("emit:tenant.reactivated");
  });
});

describe("deletion and the suspension reason (rule 5)", () => {
  it("an active tenant is suspended for subscription_cancelled", () => {
    const result = transition(STARTS.active, deleted());
    expect(result.state).toMatchObject({ ...CANCELLED, ...BY_CANCEL });
    expect(labels(result.effects)).toEqual([SYNC, ...SUSPENDED]);
  });

  it("a payment_failed suspension becomes subscription_cancelled, without new suspension effects", () => {
    const result = transition(STARTS.suspended_payment_failed, deleted());
    expect(result.state).toEqual({
      ...STARTS.suspended_payment_failed,
      ...CANCELLED,
      ...BY_CANCEL,
      lastEventCreated: T,
    });
    expect(labels(result.effects)).toEqual([SYNC]);
    expect(result.note).toBe("cancelled");
  });

  it("the reason changes even when the snapshot mirrors nothing new (no effects at all)", () => {
    const start: BillingState = { ...STARTS.suspended_payment_failed, ...CANCELLED };
    const result = transition(start, deleted());
    expect(result).toMatchObject({ applied: true, note: "cancelled", effects: [] });
    expect(result.state).toEqual({ ...start, ...BY_CANCEL, lastEventCreated: T });
  });

  it.each(["manual", "tos_violation"])("a %s suspension keeps its reason", (reason) => {
    const start: BillingState = { ...STARTS.suspended_manual, suspendedReason: reason };
    const result = transition(start, deleted());
    expect(result.state).toMatchObject({ ...CANCELLED, tenantStatus: "suspended", suspendedReason: reason });
    expect(labels(result.effects)).toEqual([SYNC]);
  });

  it("after the deletion, a payment that would have lifted the payment suspension does not", () => {
    const { state } = applyAll(STARTS.suspended_payment_failed, [deleted(T), succeeded(T + 1)]);
    expect(state).toMatchObject({ ...CANCELLED, ...BY_CANCEL });
  });
});

// ---------------------------------------------------------------------------------------------

describe("lifecycle", () => {
  it("created → failed ×3 → succeeded → deleted", () => {
    const steps: [BillingEvent, Partial<BillingState>, string[], TransitionNote][] = [
      [created("active", 10), { subscriptionStatus: "active", tenantStatus: "active" }, [SYNC], "synced"],
      [failed(1, 20), { subscriptionStatus: "past_due", tenantStatus: "active" }, PAST_DUE, "past_due"],
      [failed(2, 30), { subscriptionStatus: "past_due", tenantStatus: "active" }, [], "past_due"],
      [failed(3, 40), { subscriptionStatus: "past_due", ...BY_PAYMENT }, SUSPENDED, "suspended"],
      [succeeded(50), { subscriptionStatus: "active", ...LIFTED }, [PAID, ...REACTIVATED], "reactivated"],
      [deleted(60), { subscriptionStatus: "cancelled", ...BY_CANCEL }, [SYNC, ...SUSPENDED], "suspended"],
    ];
    let state = INITIAL_BILLING_STATE;
    for (const [event, expected, effects, note] of steps) {
      const result = transition(state, event);
      expect(result.state).toMatchObject({ ...expected, [streamOf(event)]: event.created });
      expect(result.state[otherStream(event)]).toBe(state[otherStream(event)]);
      expect(labels(result.effects)).toEqual(effects);
      expect(result).toMatchObject({ applied: true, note });
      state = result.state;
    }
    expect(state).toMatchObject({ lastEventCreated: 60, lastInvoiceEventCreated: 50 });
    const all = applyAll(
      INITIAL_BILLING_STATE,
      steps.map(([event]) => event),
    );
    expect(all.state).toEqual(state);
    expect(labels(all.effects).filter((l) => l === ANNOUNCED)).toHaveLength(1);
    expect(labels(all.effects)).toEqual(steps.flatMap(([, , effects]) => effects));
  });

  it("created → failed ×3 → deleted → late payment: the cancellation stands", () => {
    const steps: [BillingEvent, Partial<BillingState>, string[], TransitionNote][] = [
      [created("active", 10), { subscriptionStatus: "active", tenantStatus: "active" }, [SYNC], "synced"],
      [failed(1, 20), { subscriptionStatus: "past_due", tenantStatus: "active" }, PAST_DUE, "past_due"],
      [failed(2, 30), { subscriptionStatus: "past_due", tenantStatus: "active" }, [], "past_due"],
      [failed(3, 40), { subscriptionStatus: "past_due", ...BY_PAYMENT }, SUSPENDED, "suspended"],
      [deleted(50), { subscriptionStatus: "cancelled", ...BY_CANCEL }, [SYNC], "cancelled"],
      [succeeded(60), { subscriptionStatus: "cancelled", ...BY_CANCEL }, [], "paid"],
    ];
    let state = INITIAL_BILLING_STATE;
    for (const [event, expected, effects, note] of steps) {
      const result = transition(state, event);
      expect(result.state).toMatchObject({ ...expected, [streamOf(event)]: event.created });
      expect(labels(result.effects)).toEqual(effects);
      expect(result).toMatchObject({ applied: true, note });
      state = result.state;
    }
    expect(state).toMatchObject({ lastEventCreated: 50, lastInvoiceEventCreated: 60 });
  });
});

describe("duplicates (rule 10)", () => {
  const cases = STATE_ROWS.map(([start, event]) => [start, event] as const);
  it.each(cases)("%s + %s twice: same state, no effects the second time", (start, event) => {
    const first = transition(STARTS[start], EVENTS[event]);
    const second = transition(first.state, EVENTS[event]);
    expect(second).toEqual({ state: first.state, effects: [], applied: false, note: "no_change" });
    expect(second.state).toBe(first.state);
  });

  it.each(STATE_CHANGING)("%s five times gives one set of effects", (_, make) => {
    const event = make(T);
    const once = applyAll(STARTS.past_due, [event]);
    const fives = applyAll(STARTS.past_due, Array(5).fill(event));
    expect(fives).toEqual(once);
    expect(once.effects.length).toBeGreaterThan(0);
  });

  it("a payment older than the newest snapshot, delivered twice, has effects once", () => {
    const newer = applyAll(fresh, [failed(3, 10), updated("past_due", 30)]).state;
    const first = transition(newer, succeeded(20));
    expect(labels(first.effects)).toEqual(REACTIVATED);
    expect(transition(first.state, succeeded(20))).toEqual({
      state: first.state,
      effects: [],
      applied: false,
      note: "no_change",
    });
  });

  it("mixed sequences: every state-changing event delivered twice in a row gives the state and effects of once", () => {
    const rand = mulberry32(404);
    for (let run = 0; run < 100; run++) {
      const events = mixedSequence(rand, 5 + Math.floor(rand() * 16), 0);
      const arrival = shuffle(rand, events);
      // Notifications emit every time (below), so only state-changing events are delivered twice.
      const twice = arrival.flatMap((e): BillingEvent[] => (isInvoice(e) || isSnapshot(e) ? [e, e] : [e]));
      expect(applyAll(INITIAL_BILLING_STATE, twice)).toEqual(applyAll(INITIAL_BILLING_STATE, arrival));
    }
  });

  it("notifications emit every time: their dedupe is by Stripe event id, upstream", () => {
    expect(applyAll(STARTS.trialing, Array(5).fill(trialWillEnd())).effects).toHaveLength(5);
  });
});

describe("manual suspension", () => {
  it.each([
    ["payment_succeeded", succeeded()],
    ["updated(active)", updated("active", T, P2)],
    ["created(active) of a new subscription", created("active", T, { id: OTHER })],
    ["payment_failed#3", failed(3)],
    ["deleted", deleted()],
  ])("is not lifted or replaced by %s", (_, event) => {
    expect(transition(STARTS.suspended_manual, event).state).toMatchObject({
      tenantStatus: "suspended",
      suspendedReason: "manual",
    });
  });

  it("survives any random sequence of billing events", () => {
    const rand = mulberry32(7);
    for (let run = 0; run < 50; run++) {
      const events = randomSequence(rand, 5 + Math.floor(rand() * 16), "any", 2 * T0);
      const { state } = applyAll(STARTS.suspended_manual, shuffle(rand, events));
      expect(state).toMatchObject({ tenantStatus: "suspended", suspendedReason: "manual" });
    }
  });
});

describe("immutability", () => {
  it("never mutates a deep-frozen state or event, across the whole table", () => {
    for (const start of Object.values(STARTS)) {
      expect(Object.isFrozen(start)).toBe(true);
      for (const event of Object.values(EVENTS)) expect(() => transition(start, event)).not.toThrow();
    }
    const events = deepFreeze(randomSequence(mulberry32(1), 20, "any", 0));
    expect(() => applyAll(STARTS.none, events)).not.toThrow();
  });
});

describe("applyAll", () => {
  it("with no events returns the state and no effects", () => {
    expect(applyAll(STARTS.active, [])).toEqual({ state: STARTS.active, effects: [] });
  });

  it("is the fold of transition", () => {
    const events = randomSequence(mulberry32(3), 15, "any", 0);
    let state: BillingState = INITIAL_BILLING_STATE;
    const effects: Effect[] = [];
    for (const event of events) {
      const result = transition(state, event);
      state = result.state;
      effects.push(...result.effects);
    }
    expect(applyAll(INITIAL_BILLING_STATE, events)).toEqual({ state, effects });
  });
});

// ---------------------------------------------------------------------------------------------
// Order independence. Each stream drops a state-changing event older than its own newest applied
// one (rule 1). For the events of one subscription, with distinct `created`, what that leaves
// depending on arrival order is exactly this (the tests below check it against an oracle):
//
// - Never order-dependent: the mirrored snapshot fields (stripeSubscriptionId, currentPeriodStart,
//   currentPeriodEnd, trialEnd, cancelAtPeriodEnd, priceId) are the newest snapshot's, and each
//   watermark is the newest `created` of its own stream (null when the stream had no event).
// - subscriptionStatus: both streams set it. Let S be the newest snapshot and I the newest invoice
//   outcome. If S is the deletion, or I is older than S, the status is S's in every order. If I is
//   not older than S and S is not the deletion, the status is I's (past_due/active, as in
//   `created` order) when I arrives after S, and S's when S arrives after I: I cannot be applied
//   again, and every other invoice outcome is then stale.
// - tenantStatus / suspendedReason: order-independent when the subscription is deleted (suspended
//   for subscription_cancelled in every order, rules 4 and 5), and when the newest invoice outcome
//   is a payment (active in every order) or a final failure (suspended for payment_failed in every
//   order). Otherwise (no deletion, and the newest invoice outcome is a non-final failure, e.g. the
//   next invoice's first attempt) the tenant is decided by the newest decisive invoice outcome (a
//   payment or a final failure) among those applied, i.e. each not older than every invoice
//   outcome that arrived before it (none applied: active). In `created` order that is the newest
//   decisive one; in another order it may have been overtaken by a newer invoice outcome and
//   dropped as stale, and an older decisive one (or none) then decides. Both ways happen: a stale final failure loses a suspension (failed#3 of in_1 arriving
//   after failed#1 of in_2: never suspended), and a stale payment loses a reactivation (payment of
//   in_1 arriving after failed#1 of in_2: stays suspended for payment_failed).
// - Effects narrate the path taken, so they depend on order (e.g. whether past_due is announced by
//   the sync, with only the subscription id, or by the failure, with the invoice and the
//   billing.payment_failed audit). Only states are compared here.
//
// So the contract's lifecycle (created, three failures, payment, deletion, in either order of the
// last two), sequences of renewals, and sequences ending with the deletion give one state in
// every order.
//
// Stripe never updates a deleted subscription. Where a sequence does (the "any" family), a
// deletion overtaken by a newer update is stale, so the tenant's suspension depends on order as
// it did with one watermark; only the never-order-dependent fields are checked there.

/** Deterministic PRNG, so a failing permutation can be replayed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function shuffle<T>(rand: () => number, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)] as T;
}

function* permutations<T>(items: readonly T[]): Generator<T[]> {
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
function randomTerms(rand: () => number): Partial<SubscriptionSnapshot> {
  const start = 1_700_000_000 + Math.floor(rand() * 12) * 2_592_000;
  return {
    currentPeriodStart: start,
    currentPeriodEnd: start + 2_592_000,
    cancelAtPeriodEnd: rand() < 0.2,
    priceId: pick(rand, [PRICE, "price_max"]),
  };
}

const LIVE_STATUSES = ["trialing", "active", "past_due", "unpaid", "incomplete", "paused"] as const;
const FIRST_STATUSES = ["trialing", "active", "incomplete"] as const;

type Family = "renewals" | "cancellation" | "any";

/**
 * A sequence on one subscription (SUB), `created` strictly increasing from `from`: created first,
 * then renewals, plan changes, failed/paid invoices and notifications. "renewals" ends with an
 * update and never reaches the suspension threshold; "cancellation" is the same ending with the
 * deletion; "any" also has final attempts, and deletions anywhere (even before updates, which
 * Stripe never sends).
 */
function randomSequence(rand: () => number, length: number, family: Family, from: number): BillingEvent[] {
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
function mixedSequence(rand: () => number, length: number, from: number): BillingEvent[] {
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

const byCreated = (events: readonly BillingEvent[]) => [...events].sort((a, b) => a.created - b.created);
const newest = <E extends BillingEvent>(events: readonly E[]): E | undefined =>
  events.reduce<E | undefined>(
    (best, e) => (best === undefined || e.created > best.created ? e : best),
    undefined,
  );
const isDeletion = (e: BillingEvent) => e.type === "customer.subscription.deleted";
const isFinalFailure = (e: BillingEvent) =>
  e.type === "invoice.payment_failed" && e.attemptCount >= SUSPEND_AFTER_ATTEMPTS;

/** The fields no arrival order changes. */
const orderFree = ({ subscriptionStatus, tenantStatus, suspendedReason, ...rest }: BillingState) => rest;
const tenantOf = ({ tenantStatus, suspendedReason }: BillingState) => ({ tenantStatus, suspendedReason });

/** Invoice outcomes applied in this arrival order: each one not older than every one before it. */
function appliedInvoices(order: readonly BillingEvent[]): InvoiceEvent[] {
  let mark = Number.NEGATIVE_INFINITY;
  const applied: InvoiceEvent[] = [];
  for (const e of order) {
    if (isInvoice(e) && e.created >= mark) {
      mark = e.created;
      applied.push(e);
    }
  }
  return applied;
}

/** Oracle: subscriptionStatus after this arrival order of a mixed sequence (see the comment above). */
function expectedStatus(order: readonly BillingEvent[]): BillingState["subscriptionStatus"] {
  const snapshot = newest(order.filter(isSnapshot));
  if (snapshot === undefined) throw new Error("mixed sequences start with created");
  if (isDeletion(snapshot)) return "cancelled";
  const invoice = newest(order.filter(isInvoice));
  const invoiceLast =
    invoice !== undefined &&
    invoice.created >= snapshot.created &&
    order.indexOf(invoice) > order.indexOf(snapshot);
  if (!invoiceLast) return fromStripeSubscriptionStatus(snapshot.subscription.status);
  return invoice.type === "invoice.payment_failed" ? "past_due" : "active";
}

/** Oracle: the tenant after this arrival order of a mixed sequence (see the comment above). */
function expectedTenant(
  order: readonly BillingEvent[],
): Pick<BillingState, "tenantStatus" | "suspendedReason"> {
  if (order.some(isDeletion)) return BY_CANCEL;
  const decisive = appliedInvoices(order)
    .filter((e) => e.type === "invoice.payment_succeeded" || isFinalFailure(e))
    .at(-1);
  return decisive !== undefined && isFinalFailure(decisive) ? BY_PAYMENT : LIFTED;
}

describe("order independence", () => {
  it.each([
    ["renewals", 101],
    ["cancellation", 202],
  ] as const)("%s: every permutation gives the whole state of the sorted sequence", (family, seed) => {
    const rand = mulberry32(seed);
    for (let run = 0; run < 40; run++) {
      const events = randomSequence(rand, 5 + Math.floor(rand() * 16), family, 0);
      const expected = applyAll(INITIAL_BILLING_STATE, byCreated(events)).state;
      expect(applyAll(INITIAL_BILLING_STATE, [...events].reverse()).state).toEqual(expected);
      for (let p = 0; p < 50; p++) {
        expect(applyAll(INITIAL_BILLING_STATE, shuffle(rand, events)).state).toEqual(expected);
      }
    }
  });

  it.each([
    [
      "succeeded → deleted",
      succeeded(50),
      deleted(60),
      { lastEventCreated: 60, lastInvoiceEventCreated: 50 },
    ],
    [
      "deleted → late payment",
      succeeded(60),
      deleted(50),
      { lastEventCreated: 50, lastInvoiceEventCreated: 60 },
    ],
  ] as const)("the contract's lifecycle (… %s), all 720 orders: one state", (_, paid, del, marks) => {
    const events = [created("active", 10), failed(1, 20), failed(2, 30), failed(3, 40), paid, del];
    const expected = applyAll(INITIAL_BILLING_STATE, byCreated(events)).state;
    expect(expected).toEqual({
      ...INITIAL_BILLING_STATE,
      ...SYNCED_FROM_NONE,
      ...CANCELLED,
      ...BY_CANCEL,
      ...marks,
    });
    let orders = 0;
    for (const order of permutations(events)) {
      expect(applyAll(INITIAL_BILLING_STATE, order).state).toEqual(expected);
      orders++;
    }
    expect(orders).toBe(720);
  });

  it("mixed sequences: the order-free fields never change; status and tenant follow the oracles", () => {
    const rand = mulberry32(303);
    const seen = {
      statusDiverged: 0,
      suspensionLost: 0,
      reactivationLost: 0,
      deleted: 0,
      settledByPayment: 0,
      settledByFinal: 0,
    };
    for (let run = 0; run < 300; run++) {
      const events = mixedSequence(rand, 4 + Math.floor(rand() * 14), 0);
      const sorted = byCreated(events);
      const expected = applyAll(INITIAL_BILLING_STATE, sorted).state;
      expect(expected.subscriptionStatus).toBe(expectedStatus(sorted));
      expect(tenantOf(expected)).toEqual(expectedTenant(sorted));

      const snapshot = newest(events.filter(isSnapshot));
      const invoice = newest(events.filter(isInvoice));
      const statusSettled =
        snapshot === undefined ||
        isDeletion(snapshot) ||
        invoice === undefined ||
        invoice.created < snapshot.created;
      const tenantSettled =
        events.some(isDeletion) ||
        invoice === undefined ||
        invoice.type === "invoice.payment_succeeded" ||
        isFinalFailure(invoice);
      if (events.some(isDeletion)) seen.deleted++;
      else if (invoice?.type === "invoice.payment_succeeded") seen.settledByPayment++;
      else if (invoice !== undefined && isFinalFailure(invoice)) seen.settledByFinal++;

      for (const order of [
        [...events].reverse(),
        ...Array.from({ length: 20 }, () => shuffle(rand, events)),
      ]) {
        const { state } = applyAll(INITIAL_BILLING_STATE, order);
        expect(orderFree(state)).toEqual(orderFree(expected));
        expect(state.subscriptionStatus).toBe(expectedStatus(order));
        expect(tenantOf(state)).toEqual(expectedTenant(order));
        if (statusSettled) expect(state.subscriptionStatus).toBe(expected.subscriptionStatus);
        if (tenantSettled) expect(tenantOf(state)).toEqual(tenantOf(expected));
        if (state.subscriptionStatus !== expected.subscriptionStatus) seen.statusDiverged++;
        if (state.tenantStatus !== expected.tenantStatus) {
          // Only between active and suspended for payment_failed, never with a deletion.
          expect([tenantOf(expected), tenantOf(state)]).toContainEqual(BY_PAYMENT);
          expect([tenantOf(expected), tenantOf(state)]).toContainEqual(LIFTED);
          if (state.tenantStatus === "active") seen.suspensionLost++;
          else seen.reactivationLost++;
        }
      }
    }
    // The generator reaches every case, and each dependence is real.
    for (const count of Object.values(seen)) expect(count).toBeGreaterThan(10);
  });

  it("any sequence, even one Stripe never sends: the snapshot fields and both watermarks never depend on order", () => {
    const rand = mulberry32(505);
    for (let run = 0; run < 200; run++) {
      const events = randomSequence(rand, 5 + Math.floor(rand() * 16), "any", 0);
      const expected = applyAll(INITIAL_BILLING_STATE, byCreated(events)).state;
      const snapshot = newest(events.filter(isSnapshot));
      expect(expected).toMatchObject({
        lastEventCreated: snapshot?.created ?? null,
        lastInvoiceEventCreated: newest(events.filter(isInvoice))?.created ?? null,
      });
      for (let p = 0; p < 20; p++) {
        expect(orderFree(applyAll(INITIAL_BILLING_STATE, shuffle(rand, events)).state)).toEqual(
          orderFree(expected),
        );
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Cases that depended on delivery order with one watermark, and no longer do.

describe("order-independent outcomes (formerly order-dependent)", () => {
  it("a payment delivered after a newer subscription update still counts: reactivated in every order", () => {
    const events = [failed(3, 10), succeeded(20), updated("active", 30)];
    for (const order of permutations(events)) {
      expect(applyAll(fresh, order).state).toEqual({
        ...fresh,
        ...ACTIVE,
        ...LIFTED,
        lastEventCreated: 30,
        lastInvoiceEventCreated: 20,
      });
    }
    expect(labels(applyAll(fresh, [events[0], events[2], events[1]] as BillingEvent[]).effects)).toContain(
      "emit:tenant.reactivated",
    );
  });

  it("a final failure overtaken by a newer subscription update still suspends", () => {
    const [third, update] = [failed(3, 10), updated("unpaid", 20)];
    const expected = {
      ...fresh,
      subscriptionStatus: "unpaid",
      ...BY_PAYMENT,
      lastEventCreated: 20,
      lastInvoiceEventCreated: 10,
    };
    expect(applyAll(fresh, [third, update]).state).toEqual(expected);
    expect(applyAll(fresh, [update, third]).state).toEqual(expected);
  });

  it("created delivered after a newer invoice event still mirrors the subscription", () => {
    const [c, paid] = [created("active", 10), succeeded(20)];
    const expected = {
      ...INITIAL_BILLING_STATE,
      ...SYNCED_FROM_NONE,
      ...ACTIVE,
      lastEventCreated: 10,
      lastInvoiceEventCreated: 20,
    };
    expect(applyAll(INITIAL_BILLING_STATE, [c, paid]).state).toEqual(expected);
    expect(applyAll(INITIAL_BILLING_STATE, [paid, c]).state).toEqual(expected);
  });

  it("subscription.past_due is announced once whether the past_due update or the failure arrives first", () => {
    const events = [updated("past_due", 10), failed(1, 10)];
    for (const order of [events, [...events].reverse()]) {
      expect(labels(applyAll(fresh, order).effects).filter((l) => l === ANNOUNCED)).toHaveLength(1);
    }
    expect(applyAll(fresh, events).state).toEqual(applyAll(fresh, [...events].reverse()).state);
  });

  it("a late payment does not reactivate the tenant of a cancelled subscription, in either order", () => {
    const events = [deleted(10), succeeded(20)];
    for (const order of [events, [...events].reverse()]) {
      expect(applyAll(fresh, order).state).toEqual({
        ...fresh,
        ...CANCELLED,
        ...BY_CANCEL,
        lastEventCreated: 10,
        lastInvoiceEventCreated: 20,
      });
    }
  });

  it("the lifecycle's suspension reason no longer depends on order: final failure, deletion, then the payment", () => {
    const [c, f1, f2, f3, paid, del] = [
      created("active", 10),
      failed(1, 20),
      failed(2, 30),
      failed(3, 40),
      succeeded(50),
      deleted(60),
    ];
    // With one watermark this order kept payment_failed (the payment was stale after the deletion).
    const { state } = applyAll(INITIAL_BILLING_STATE, [c, f1, f2, f3, del, paid]);
    expect(state).toMatchObject({
      ...CANCELLED,
      ...BY_CANCEL,
      lastEventCreated: 60,
      lastInvoiceEventCreated: 50,
    });
  });
});

// ---------------------------------------------------------------------------------------------
// What still depends on delivery order (see "Order independence" above). Pinned, so a change of
// rule is a deliberate change of test.

describe("remaining order dependence", () => {
  it("subscriptionStatus: an invoice outcome newer than every snapshot decides it only if it arrives last", () => {
    const [c, paid] = [created("incomplete", 10), succeeded(20)];
    expect(applyAll(INITIAL_BILLING_STATE, [c, paid]).state.subscriptionStatus).toBe("active");
    expect(applyAll(INITIAL_BILLING_STATE, [paid, c]).state.subscriptionStatus).toBe("incomplete");

    const [update, failure] = [updated("active", 10), failed(1, 20)];
    expect(applyAll(fresh, [update, failure]).state.subscriptionStatus).toBe("past_due");
    expect(applyAll(fresh, [failure, update]).state.subscriptionStatus).toBe("active");
    // Everything else is the same in both orders.
    expect(orderFree(applyAll(fresh, [update, failure]).state)).toEqual(
      orderFree(applyAll(fresh, [failure, update]).state),
    );
    expect(tenantOf(applyAll(fresh, [update, failure]).state)).toEqual(
      tenantOf(applyAll(fresh, [failure, update]).state),
    );
  });

  it("subscriptionStatus: a newer snapshot settles it in every order", () => {
    const events = [created("incomplete", 10), succeeded(20), updated("active", 30)];
    for (const order of permutations(events)) {
      expect(applyAll(INITIAL_BILLING_STATE, order).state.subscriptionStatus).toBe("active");
    }
  });

  it("tenant: a final failure overtaken by a newer failure of the next invoice is stale, so never suspends", () => {
    const [third, nextInvoice] = [failed(3, 10, { invoiceId: "in_1" }), failed(1, 20, { invoiceId: "in_2" })];
    expect(applyAll(fresh, [third, nextInvoice]).state).toMatchObject({ ...PD, ...BY_PAYMENT });
    expect(applyAll(fresh, [nextInvoice, third]).state).toMatchObject({ ...PD, ...LIFTED });
  });

  it("tenant: a payment overtaken by a newer failure of the next invoice is stale, so never reactivates", () => {
    const [third, paid, nextInvoice] = [
      failed(3, 10, { invoiceId: "in_1" }),
      succeeded(20, { invoiceId: "in_1" }),
      failed(1, 30, { invoiceId: "in_2" }),
    ];
    expect(applyAll(fresh, [third, paid, nextInvoice]).state).toMatchObject({ ...PD, ...LIFTED });
    expect(applyAll(fresh, [third, nextInvoice, paid]).state).toMatchObject({ ...PD, ...BY_PAYMENT });
  });

  it("tenant: a newer payment or final failure settles it in every order", () => {
    const base = [failed(3, 10, { invoiceId: "in_1" }), succeeded(20), failed(1, 30, { invoiceId: "in_2" })];
    for (const [last, tenant] of [
      [succeeded(40, { invoiceId: "in_2" }), LIFTED],
      [failed(3, 40, { invoiceId: "in_2" }), BY_PAYMENT],
    ] as const) {
      for (const order of permutations([...base, last])) {
        expect(tenantOf(applyAll(fresh, order).state)).toEqual(tenant);
      }
    }
  });
});
