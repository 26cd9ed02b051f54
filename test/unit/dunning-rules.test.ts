import { describe, expect, it } from "vitest";
import {
  DEFAULT_DUNNING_POLICY,
  type DunningEffect,
  type DunningEvent,
  type DunningPolicy,
  dunningStep,
  type InvoiceDunning,
  NO_DUNNING,
} from "../../src/modules/dunning/dunning.rules";
import { shuffled } from "../billing";

const policy = (overrides: Partial<DunningPolicy> = {}): DunningPolicy => ({
  afterAttempts: 3,
  action: "cancel",
  notifyEachFailure: true,
  ...overrides,
});

const failed = (
  attempt: number,
  overrides: Partial<Extract<DunningEvent, { type: "payment_failed" }>> = {},
) =>
  ({
    type: "payment_failed",
    attempt,
    subscription: true,
    firstInvoice: false,
    subscriptionEnded: false,
    invoiceSettled: false,
    ...overrides,
  }) as const;

/** Runs events through the rule; the final state and every effect, in order. */
function run(events: DunningEvent[], rules = policy(), start: InvoiceDunning = NO_DUNNING) {
  let state = start;
  const effects: DunningEffect[] = [];
  for (const event of events) {
    const step = dunningStep(state, event, rules);
    state = step.state;
    effects.push(...step.effects);
  }
  return { state, effects };
}

const kinds = (effects: DunningEffect[]) => effects.map((effect) => effect.kind);

describe("dunning rule", () => {
  it("records and reports each failure, and acts once when the failures reach the threshold", () => {
    const first = run([failed(1), failed(2)]);
    expect(first.state).toEqual({ failedAttempts: [1, 2], action: null, recovered: false });
    expect(kinds(first.effects)).toEqual(["record_failure", "notify", "record_failure", "notify"]);
    const third = dunningStep(first.state, failed(3), policy());
    expect(third.effects).toEqual([
      { kind: "record_failure", attempt: 3 },
      { kind: "notify", attempt: 3 },
      { kind: "act", action: "cancel", attempt: 3 },
    ]);
    expect(third.state.action).toBe("cancel");
    expect(third.note).toContain("action: cancel");
    // A fourth failure (Stripe retried before the action reached it) is recorded, no second action.
    expect(kinds(dunningStep(third.state, failed(4), policy()).effects)).toEqual([
      "record_failure",
      "notify",
    ]);
  });

  it("acts at the first failure when the threshold is 1, for each action", () => {
    for (const action of ["cancel", "mark_unpaid", "leave_past_due"] as const) {
      const step = dunningStep(NO_DUNNING, failed(1), policy({ afterAttempts: 1, action }));
      expect(step.effects.at(-1)).toEqual({ kind: "act", action, attempt: 1 });
    }
  });

  it("reports nothing per failure when the tenant does not want it, and still acts", () => {
    const { effects } = run([failed(1), failed(2), failed(3)], policy({ notifyEachFailure: false }));
    expect(kinds(effects)).toEqual(["record_failure", "record_failure", "record_failure", "act"]);
  });

  it("counts Stripe's attempt number: a late or lost event does not delay the action", () => {
    const { state, effects } = run([failed(3)]);
    expect(effects.at(-1)).toEqual({ kind: "act", action: "cancel", attempt: 3 });
    expect(state.failedAttempts).toEqual([3]);
    const late = run([failed(1), failed(2)], policy(), state);
    expect(kinds(late.effects)).toEqual(["record_failure", "notify", "record_failure", "notify"]);
  });

  it("does not act on one-off invoices, first invoices, ended subscriptions or settled invoices", () => {
    for (const overrides of [
      { subscription: false },
      { firstInvoice: true },
      { subscriptionEnded: true },
      { invoiceSettled: true },
    ]) {
      const step = dunningStep(NO_DUNNING, failed(3, overrides), policy());
      expect(kinds(step.effects), JSON.stringify(overrides)).toEqual(["record_failure", "notify"]);
      expect(step.note).toContain("no action");
    }
  });

  it("ignores a repeated attempt and a nonsense attempt number", () => {
    const once = run([failed(1)]);
    expect(dunningStep(once.state, failed(1), policy())).toMatchObject({ effects: [], state: once.state });
    expect(dunningStep(NO_DUNNING, failed(0), policy()).effects).toEqual([]);
  });

  it("a paid invoice gives a subscription marked unpaid its collection back, once", () => {
    const marked = run([failed(1), failed(2)], policy({ afterAttempts: 2, action: "mark_unpaid" }));
    expect(marked.state.action).toBe("mark_unpaid");
    const paid = dunningStep(marked.state, { type: "paid" }, policy());
    expect(paid.effects).toEqual([{ kind: "resume_collection" }]);
    expect(dunningStep(paid.state, { type: "paid" }, policy()).effects).toEqual([]);
    const canceled = run([failed(1), failed(2)], policy({ afterAttempts: 2 }));
    expect(dunningStep(canceled.state, { type: "paid" }, policy()).effects).toEqual([]);
    expect(dunningStep(NO_DUNNING, { type: "paid" }, policy()).effects).toEqual([]);
  });

  it("the default policy reports every failure and leaves the subscription to Stripe after 4", () => {
    expect(DEFAULT_DUNNING_POLICY).toEqual({
      afterAttempts: 4,
      action: "leave_past_due",
      notifyEachFailure: true,
    });
    const { effects } = run(
      [1, 2, 3, 4].map((n) => failed(n)),
      DEFAULT_DUNNING_POLICY,
    );
    expect(effects.filter((effect) => effect.kind === "act")).toEqual([
      { kind: "act", action: "leave_past_due", attempt: 4 },
    ]);
  });
});

describe("dunning in any order", () => {
  const attempts = [1, 2, 3, 4, 5];

  /** What a run of events ends with, as sets: order of effects aside, what was done. */
  const outcome = (events: DunningEvent[], rules: DunningPolicy) => {
    const { state, effects } = run(events, rules);
    return {
      state,
      recorded: effects.flatMap((e) => (e.kind === "record_failure" ? [e.attempt] : [])).sort(),
      notified: effects.flatMap((e) => (e.kind === "notify" ? [e.attempt] : [])).sort(),
      acted: effects.filter((e) => e.kind === "act"),
    };
  };

  it.each([1, 2, 3, 5, 8])(
    "threshold %i: every shuffled and duplicated order of the same failures ends the same",
    (threshold) => {
      const rules = policy({ afterAttempts: threshold });
      const events = attempts.map((n) => failed(n));
      const inOrder = outcome(events, rules);
      expect(inOrder.acted).toHaveLength(threshold <= attempts.length ? 1 : 0);
      expect(inOrder.recorded).toEqual(attempts);
      expect(inOrder.notified).toEqual(attempts);
      for (let seed = 1; seed <= 200; seed++) {
        const order = shuffled(events, seed * 7919);
        const twice = [...order, ...shuffled(order, seed)];
        expect(outcome(order, rules), `seed ${seed}`).toEqual(inOrder);
        expect(outcome(twice, rules), `seed ${seed}, twice`).toEqual(inOrder);
      }
    },
  );

  it("the action is keyed by the threshold, whichever failure reached it", () => {
    const rules = policy({ afterAttempts: 2 });
    for (let seed = 1; seed <= 50; seed++) {
      const order = shuffled(
        attempts.map((n) => failed(n)),
        seed,
      );
      const acts = run(order, rules).effects.filter((e) => e.kind === "act");
      expect(acts).toEqual([{ kind: "act", action: "cancel", attempt: 2 }]);
    }
  });
});
