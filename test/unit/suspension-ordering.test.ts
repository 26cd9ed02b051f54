// The suspension state machine under arrival orders: permutations, seeded random orders checked
// against oracles, and duplicate deliveries. The rules one by one are in suspension-rules.test.ts.
import { describe, expect, it } from "vitest";
import {
  applyAll,
  type BillingEvent,
  type BillingState,
  fromStripeSubscriptionStatus,
  INITIAL_BILLING_STATE,
  SUSPEND_AFTER_ATTEMPTS,
  transition,
} from "../../src/modules/platform-billing/suspension";
import {
  ACTIVE,
  ANNOUNCED,
  BY_CANCEL,
  BY_PAYMENT,
  CANCELLED,
  created,
  deleted,
  EVENTS,
  failed,
  fresh,
  type InvoiceEvent,
  isInvoice,
  isSnapshot,
  LIFTED,
  labels,
  mixedSequence,
  mulberry32,
  PD,
  permutations,
  REACTIVATED,
  randomSequence,
  STARTS,
  STATE_CHANGING,
  STATE_ROWS,
  SYNCED_FROM_NONE,
  shuffle,
  succeeded,
  T,
  T0,
  trialWillEnd,
  updated,
} from "./suspension-fixtures";

// ---------------------------------------------------------------------------------------------
// Order independence. Each stream drops a state-changing event older than its own newest applied
// one (rule 1). For the events of one subscription, with distinct `created`, what that leaves
// depending on arrival order is exactly this (the tests below check it against an oracle):
//
// - Never order-dependent: the mirrored snapshot fields (stripeSubscriptionId, currentPeriodStart,
//   currentPeriodEnd, trialEnd, cancelAtPeriodEnd) are the newest snapshot's, and each
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

describe("manual suspension (property)", () => {
  it("survives any random sequence of billing events", () => {
    const rand = mulberry32(7);
    for (let run = 0; run < 50; run++) {
      const events = randomSequence(rand, 5 + Math.floor(rand() * 16), "any", 2 * T0);
      const { state } = applyAll(STARTS.suspended_manual, shuffle(rand, events));
      expect(state).toMatchObject({ tenantStatus: "suspended", suspendedReason: "manual" });
    }
  });
});

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
      { lastEventCreated: 60, lastInvoiceEventCreated: 50, lastPaidInvoiceId: "in_1" },
    ],
    [
      "deleted → late payment",
      succeeded(60),
      deleted(50),
      { lastEventCreated: 50, lastInvoiceEventCreated: 60, lastPaidInvoiceId: "in_1" },
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
        lastPaidInvoiceId: "in_1",
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
      lastPaidInvoiceId: "in_1",
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
        lastPaidInvoiceId: "in_1",
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
