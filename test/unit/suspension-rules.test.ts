// The suspension state machine rule by rule: each event from each starting state, effect payloads,
// the threshold, staleness against the two watermarks, and the lifecycle. Orderings, permutations
// and duplicates are in suspension-ordering.test.ts; the builders in suspension-fixtures.ts.
import { describe, expect, it } from "vitest";
import {
  applyAll,
  BILLING_SUSPENSION_REASONS,
  type BillingEvent,
  type BillingState,
  type Effect,
  fromStripeSubscriptionStatus,
  INITIAL_BILLING_STATE,
  SUSPEND_AFTER_ATTEMPTS,
  type TransitionNote,
  transition,
} from "../../src/modules/platform-billing/suspension";
import {
  ACTIVE,
  ANNOUNCED,
  BY_CANCEL,
  BY_PAYMENT,
  CANCELLED,
  created,
  deepFreeze,
  deleted,
  EVENTS,
  type EventName,
  failed,
  fresh,
  isInvoice,
  LIFTED,
  labels,
  mulberry32,
  OTHER,
  otherStream,
  P2,
  PAID,
  PAST_DUE,
  PD,
  permutations,
  REACTIVATED,
  randomSequence,
  STARTS,
  STATE_CHANGING,
  STATE_ROWS,
  type Start,
  SUB,
  SUSPENDED,
  SYNC,
  streamOf,
  succeeded,
  T,
  T0,
  trialWillEnd,
  upcoming,
  updated,
} from "./suspension-fixtures";

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
      lastEventCreated: null,
      lastInvoiceEventCreated: null,
      lastPaidInvoiceId: null,
    });
    expect(Object.keys(INITIAL_BILLING_STATE)).toContain("lastInvoiceEventCreated");
  });
});

describe("transition: state-changing events × starting states", () => {
  it.each(STATE_ROWS)("%s + %s", (start, event, patch, effects, note) => {
    const before = structuredClone(STARTS[start]);
    const result = transition(STARTS[start], EVENTS[event]);
    // Only the event's own stream's watermark moves (to T); the other one is left as it was. An
    // invoice outcome also records which invoice it paid, if it was a payment.
    const invoice = EVENTS[event];
    const paid = isInvoice(invoice)
      ? { lastPaidInvoiceId: invoice.type === "invoice.payment_succeeded" ? invoice.invoiceId : null }
      : {};
    expect(result.state).toEqual({ ...STARTS[start], ...patch, ...paid, [streamOf(EVENTS[event])]: T });
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
    expect(second.state).toMatchObject({ subscriptionStatus: "active", ...P2 });
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
    expect(result.state).toEqual({
      ...newer,
      ...PD,
      ...LIFTED,
      lastInvoiceEventCreated: 20,
      lastPaidInvoiceId: "in_1",
    });
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
