import { describe, expect, it } from "vitest";
import type { AppliedDiscount } from "../../src/db/schema";
import { type Flows, zeroFlows, zeroStocks } from "../../src/modules/analytics/analytics.reads";
import { mayChurnTwice, summaryFigures } from "../../src/modules/analytics/figures";
import {
  deriveLedger,
  discountEndSource,
  dueDiscountEnds,
  type MrrState,
} from "../../src/modules/analytics/ledger";
import { mrrOf, mrrStateOf, type PriceTerms } from "../../src/modules/analytics/mrr";
import { ledgerDeltas, planDeltas } from "../../src/modules/analytics/rollups";
import { shuffled } from "../billing";

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);

let seq = 0;
function state(subscriptionId: string, day: number, mrr: number, over: Partial<MrrState> = {}): MrrState {
  return {
    subscriptionId,
    sourceEventId: `evt_${++seq}`,
    customerId: "cust_a",
    planId: "plan_basic",
    currency: "usd",
    effectiveAt: T0 + day * DAY,
    status: mrr > 0 ? "active" : "canceled",
    mrr,
    discountEndsAt: null,
    mrrAfterDiscount: null,
    ...over,
  };
}

const types = (states: MrrState[]) =>
  deriveLedger(states).movements.map((m) => [m.type, m.mrrBefore, m.mrrAfter]);

describe("MRR of a subscription", () => {
  const terms = (over: Partial<PriceTerms> = {}): PriceTerms => ({
    status: "active",
    unitAmount: 1000,
    quantity: 1,
    currency: "usd",
    interval: "month",
    intervalCount: 1,
    discount: null,
    ...over,
  });
  const discount = (over: Partial<AppliedDiscount>): AppliedDiscount => ({
    coupon: "co_x",
    promotion_code: null,
    percent_off: null,
    amount_off: null,
    currency: null,
    duration: "forever",
    duration_in_months: null,
    start: null,
    end: null,
    ...over,
  });

  it("normalises to a month and multiplies by the quantity", () => {
    expect(mrrOf(terms({ quantity: 3 }), true)).toBe(3000);
    expect(mrrOf(terms({ unitAmount: 12_000, interval: "year" }), true)).toBe(1000);
    expect(mrrOf(terms({ unitAmount: 1000, interval: "week" }), true)).toBe(4333); // 1000 × 52 / 12
    expect(mrrOf(terms({ unitAmount: 3000, intervalCount: 3 }), true)).toBe(1000);
    expect(mrrOf(terms({ unitAmount: 10_000, interval: "year", quantity: 1 }), true)).toBe(833); // 833.33
  });

  it("counts active and past_due only: trials and every other status are 0", () => {
    for (const status of [
      "trialing",
      "incomplete",
      "incomplete_expired",
      "canceled",
      "unpaid",
      "paused",
    ] as const)
      expect(mrrOf(terms({ status }), true)).toBe(0);
    expect(mrrOf(terms({ status: "past_due" }), true)).toBe(1000);
  });

  it("subtracts forever and running repeating discounts, not once-only ones", () => {
    expect(mrrOf(terms({ quantity: 3, discount: discount({ percent_off: 20 }) }), true)).toBe(2400);
    expect(mrrOf(terms({ discount: discount({ percent_off: 50, duration: "once" }) }), true)).toBe(1000);
    expect(
      mrrOf(
        terms({
          unitAmount: 12_000,
          interval: "year",
          discount: discount({ amount_off: 1200, currency: "usd" }),
        }),
        true,
      ),
    ).toBe(900);
    expect(mrrOf(terms({ discount: discount({ amount_off: 500, currency: "eur" }) }), true)).toBe(1000);
    const repeating = mrrStateOf(
      terms({
        discount: discount({
          percent_off: 25,
          duration: "repeating",
          duration_in_months: 3,
          end: 1_800_000_000,
        }),
      }),
    );
    expect(repeating).toEqual({ mrr: 750, discountEndsAt: 1_800_000_000_000, mrrAfterDiscount: 1000 });
  });
});

describe("the ledger of a customer", () => {
  it("classifies new, expansion, contraction, churn and reactivation", () => {
    expect(
      types([
        state("s1", 0, 1000),
        state("s1", 10, 3000),
        state("s1", 20, 2000),
        state("s1", 30, 0),
        state("s1", 40, 1500),
      ]),
    ).toEqual([
      ["new", 0, 1000],
      ["expansion", 1000, 3000],
      ["contraction", 3000, 2000],
      ["churn", 2000, 0],
      ["reactivation", 0, 1500],
    ]);
  });

  it("cancelling one of two subscriptions is a contraction; a second subscription is an expansion", () => {
    expect(types([state("s1", 0, 1000), state("s2", 5, 500), state("s1", 10, 0)])).toEqual([
      ["new", 0, 1000],
      ["expansion", 1000, 1500],
      ["contraction", 1500, 500],
    ]);
  });

  it("a switch in the same second (one cancelled, another started) is one movement, not churn and new", () => {
    expect(types([state("s1", 0, 1000), state("s1", 10, 0), state("s2", 10, 2500)])).toEqual([
      ["new", 0, 1000],
      ["expansion", 1000, 2500],
    ]);
  });

  it("of one subscription's states in a second, the one read at Stripe (later in it) is last: one movement", () => {
    const [settled, stale] = [
      state("s1", 10, 5000, { sourceEventId: "evt_a", effectiveAt: T0 + 10 * DAY + 999 }),
      state("s1", 10, 3000, { sourceEventId: "evt_b" }),
    ];
    for (const order of [
      [state("s1", 0, 1000), settled, stale],
      [stale, settled, state("s1", 0, 1000)],
    ]) {
      const { movements } = deriveLedger(order);
      expect(movements.map((m) => [m.type, m.mrrBefore, m.mrrAfter, m.effectiveAt])).toEqual([
        ["new", 0, 1000, T0],
        ["expansion", 1000, 5000, T0 + 10 * DAY],
      ]);
    }
  });

  it("a trial is 0; converting is new business; a trial that ends unpaid is counted as lost", () => {
    const converted = deriveLedger([state("s1", 0, 0, { status: "trialing" }), state("s1", 14, 2000)]);
    expect(converted.movements.map((m) => [m.type, m.effectiveAt])).toEqual([["new", T0 + 14 * DAY]]);
    expect(converted.steps.map((s) => s.trial)).toEqual(["started", "converted"]);
    const lost = deriveLedger([
      state("s2", 0, 0, { status: "trialing" }),
      state("s2", 14, 0, { status: "canceled" }),
    ]);
    expect(lost.movements).toEqual([]);
    expect(lost.steps.map((s) => s.trial)).toEqual(["started", "lost"]);
  });

  it("a repeating discount's end is an expansion at its end time, once that time has come", () => {
    const ends = T0 + 90 * DAY;
    const running = state("s1", 0, 750, { discountEndsAt: ends, mrrAfterDiscount: 1000 });
    // Until its end is recorded the ledger holds what has happened: the discounted MRR.
    expect(dueDiscountEnds([running], ends - 1)).toEqual([]);
    const before = deriveLedger([running]);
    expect(before.movements.map((m) => [m.type, m.mrrAfter, m.effectiveAt])).toEqual([["new", 750, T0]]);
    expect(before.ends).toEqual([{ subscriptionId: "s1", planId: "plan_basic", currency: "usd", mrr: 750 }]);
    const recorded = dueDiscountEnds([running], ends);
    expect(recorded).toEqual([
      {
        ...running,
        sourceEventId: discountEndSource("s1", ends),
        effectiveAt: ends,
        mrr: 1000,
        discountEndsAt: null,
        mrrAfterDiscount: null,
      },
    ]);
    const after = deriveLedger([running, ...recorded]);
    expect(after.movements.map((m) => [m.type, m.mrrAfter, m.effectiveAt, m.sourceEventId])).toEqual([
      ["new", 750, T0, running.sourceEventId],
      ["expansion", 1000, ends, discountEndSource("s1", ends)],
    ]);
    expect(after.ends.map((end) => end.mrr)).toEqual([1000]);
    // Recorded once: nothing is due again, however often asked.
    expect(dueDiscountEnds([running, ...recorded], ends + 30 * DAY)).toEqual([]);
  });

  it("a discount end that a later state came before is recorded (so never due again) but changes nothing", () => {
    const ends = T0 + 90 * DAY;
    const running = state("s1", 0, 750, { discountEndsAt: ends, mrrAfterDiscount: 1000 });
    const cancelled = state("s1", 30, 0);
    const recorded = dueDiscountEnds([running, cancelled], ends);
    expect(recorded.map((r) => r.sourceEventId)).toEqual([discountEndSource("s1", ends)]);
    expect(deriveLedger([running, cancelled, ...recorded])).toEqual(deriveLedger([running, cancelled]));
    // A snapshot taken after its discount ended carries no end to record.
    expect(
      dueDiscountEnds([state("s2", 100, 1000, { discountEndsAt: ends, mrrAfterDiscount: 1000 })], ends),
    ).toEqual([]);
  });

  it("a discount end is recorded from the latest state that names it, whatever the states' order", () => {
    const ends = T0 + 90 * DAY;
    const first = state("s1", 0, 750, { discountEndsAt: ends, mrrAfterDiscount: 1000 });
    const doubled = state("s1", 30, 1500, { discountEndsAt: ends, mrrAfterDiscount: 2000 });
    for (const order of [
      [first, doubled],
      [doubled, first],
    ]) {
      expect(dueDiscountEnds(order, ends)).toEqual([
        {
          ...doubled,
          sourceEventId: discountEndSource("s1", ends),
          effectiveAt: ends,
          mrr: 2000,
          discountEndsAt: null,
          mrrAfterDiscount: null,
        },
      ]);
    }
  });

  it("keeps currencies apart: each is a series of its own", () => {
    const ledger = deriveLedger([state("s1", 0, 1000), state("s2", 0, 900, { currency: "eur" })]);
    expect(ledger.movements.map((m) => [m.currency, m.type])).toEqual([
      ["eur", "new"],
      ["usd", "new"],
    ]);
  });

  it("the same states in any order, or twice, give the same ledger", () => {
    const states = [
      state("s1", 0, 0, { status: "trialing" }),
      state("s1", 14, 2000),
      state("s2", 20, 1000),
      state("s1", 30, 4000),
      state("s2", 45, 0),
      state("s1", 60, 0),
      state("s3", 75, 3000, { discountEndsAt: T0 + 165 * DAY, mrrAfterDiscount: 4000 }),
    ];
    states.push(...dueDiscountEnds(states, T0 + 200 * DAY));
    const expected = deriveLedger(states);
    for (let seed = 1; seed <= 60; seed++) {
      const order = shuffled(states, seed);
      expect(deriveLedger(order)).toEqual(expected);
      expect(deriveLedger([...order, ...shuffled(states, seed + 100)]).movements).toEqual(expected.movements);
    }
  });
});

describe("rollup deltas", () => {
  it("adding a late state moves only what changed: flows on its day, stocks from its day on", () => {
    const before = deriveLedger([state("s1", 0, 1000), state("s1", 30, 0)]);
    const after = deriveLedger([state("s1", 0, 1000), state("s1", 10, 2000), state("s1", 30, 0)]);
    expect(ledgerDeltas(before, after)).toEqual([
      {
        currency: "usd",
        day: T0 + 10 * DAY,
        flows: { expansionMrr: 1000, expansionCount: 1 },
        stocks: { mrr: 1000 },
      },
      { currency: "usd", day: T0 + 30 * DAY, flows: { churnMrr: 1000 }, stocks: { mrr: -1000 } },
    ]);
    expect(ledgerDeltas(after, after)).toEqual([]);
  });

  it("plans: current MRR and subscribers move with the subscriptions' last states", () => {
    const before = deriveLedger([state("s1", 0, 1000)]);
    const after = deriveLedger([state("s1", 0, 1000), state("s1", 5, 3000, { planId: "plan_pro" })]);
    expect(planDeltas(before, after)).toEqual([
      { currency: "usd", planId: "plan_basic", mrr: -1000, subscribers: -1 },
      { currency: "usd", planId: "plan_pro", mrr: 3000, subscribers: 1 },
    ]);
  });

  it("a running repeating discount: plans and rollups hold the discounted MRR until its end is recorded", () => {
    const ends = T0 + 20 * DAY;
    const running = state("s1", 0, 2500, { discountEndsAt: ends, mrrAfterDiscount: 5000 });
    const now = deriveLedger([running]);
    expect(planDeltas(deriveLedger([]), now)).toEqual([
      { currency: "usd", planId: "plan_basic", mrr: 2500, subscribers: 1 },
    ]);
    // Nothing on or after the end's day until it is recorded; then the expansion on that day.
    expect(ledgerDeltas(deriveLedger([]), now).map((d) => d.day)).toEqual([T0]);
    const ended = deriveLedger([running, ...dueDiscountEnds([running], ends)]);
    expect(ledgerDeltas(now, ended)).toEqual([
      {
        currency: "usd",
        day: ends,
        flows: { expansionMrr: 2500, expansionCount: 1 },
        stocks: { mrr: 2500 },
      },
    ]);
    expect(planDeltas(now, ended)).toEqual([
      { currency: "usd", planId: "plan_basic", mrr: 2500, subscribers: 0 },
    ]);
  });
});

describe("summary figures", () => {
  const period = (flows: Partial<Flows>, customersLost: number, startCustomers: number) => ({
    currency: "usd",
    start: { ...zeroStocks(), customers: startCustomers, mrr: 5000 * startCustomers },
    end: zeroStocks(),
    flows: { ...zeroFlows(), ...flows },
    customersLost,
  });

  it("customer churn rate: customers lost (each once) over customers at the start", () => {
    // One customer at the start, lost, back, and lost again: one customer lost, not two.
    const twice = { churnCount: 2, reactivationCount: 1 };
    expect(mayChurnTwice(twice)).toBe(true);
    expect(summaryFigures(period(twice, 1, 1), 30).customer_churn_rate).toBe(1);
    // Lost and back within the period: still lost (the answer key's C1).
    const back = { churnCount: 1, reactivationCount: 1 };
    expect(mayChurnTwice(back)).toBe(false);
    expect(summaryFigures(period(back, 1, 3), 31).customer_churn_rate).toBe(0.3333);
    // Two churns without a reactivation between them are two customers.
    expect(mayChurnTwice({ churnCount: 2, reactivationCount: 0 })).toBe(false);
    expect(summaryFigures(period({ churnCount: 2 }, 2, 4), 30).customer_churn_rate).toBe(0.5);
    expect(summaryFigures(period({}, 0, 0), 30).customer_churn_rate).toBeNull();
  });
});
