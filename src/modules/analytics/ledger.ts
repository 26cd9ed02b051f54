import type { CustomerSubscriptionStatus, MovementType } from "../../db/schema";

/**
 * The MRR ledger of one customer, derived from its subscriptions' states: a pure function, so
 * the same states give the same movements whatever order they arrived in, and a late state
 * simply re-derives the customer's ledger.
 *
 * Movements are classified per customer and currency (ChartMogul's definitions, used by Stripe):
 * a customer going from 0 to > 0 is `new` the first time and `reactivation` after a churn; from
 * > 0 to 0 is `churn`; up is `expansion`, down `contraction`. Changes of the same second are one
 * movement (a plan switch that cancels one subscription and starts another is a change, not a
 * churn and a new customer); of one subscription's states in a second, one read at Stripe to
 * settle them (`effectiveAt` later in the second) is the last. A repeating discount's end is a
 * change at its end time, once it has come: the ledger holds only what has happened, so the end
 * counts only when a recorded discount end (`dueDiscountEnds`, written when its time comes) is
 * among the states.
 */
export interface MrrState {
  subscriptionId: string;
  sourceEventId: string;
  customerId: string;
  planId: string | null;
  currency: string;
  /** Unix ms. */
  effectiveAt: number;
  status: CustomerSubscriptionStatus;
  mrr: number;
  discountEndsAt: number | null;
  mrrAfterDiscount: number | null;
}

export interface Movement {
  customerId: string;
  subscriptionId: string | null;
  currency: string;
  type: MovementType;
  mrrBefore: number;
  mrrAfter: number;
  effectiveAt: number;
  sourceEventId: string;
}

/** One subscription's change: what it does to the subscriber count and to trials. */
export interface SubscriptionStep {
  subscriptionId: string;
  currency: string;
  at: number;
  payingBefore: boolean;
  payingAfter: boolean;
  trial: "started" | "converted" | "lost" | null;
}

export interface SubscriptionEnd {
  subscriptionId: string;
  planId: string | null;
  currency: string;
  mrr: number;
}

export interface Ledger {
  movements: Movement[];
  steps: SubscriptionStep[];
  /** Each subscription as it stands now: after its last state (a recorded discount end included). */
  ends: SubscriptionEnd[];
}

// Snapshots of one second are ordered by how far along a subscription's life they are.
const STATUS_RANK: Record<CustomerSubscriptionStatus, number> = {
  incomplete: 0,
  trialing: 1,
  active: 2,
  past_due: 3,
  unpaid: 4,
  paused: 5,
  canceled: 6,
  incomplete_expired: 6,
};

const ENDED_TRIAL: readonly CustomerSubscriptionStatus[] = [
  "canceled",
  "incomplete_expired",
  "unpaid",
  "paused",
];

interface Point {
  subscriptionId: string;
  at: number;
  rank: number;
  mrr: number;
  status: CustomerSubscriptionStatus;
  planId: string | null;
  source: string;
}

const byTime = (
  a: { at: number; rank: number; source: string },
  b: { at: number; rank: number; source: string },
) => a.at - b.at || a.rank - b.rank || (a.source < b.source ? -1 : a.source > b.source ? 1 : 0);

export const DISCOUNT_END_PREFIX = "discount_end:";

/** The source of a repeating discount's end: the id of its recorded state and of its movement. */
export const discountEndSource = (subscriptionId: string, endsAt: number) =>
  `${DISCOUNT_END_PREFIX}${subscriptionId}:${endsAt}`;

const isDiscountEnd = (state: MrrState) => state.sourceEventId.startsWith(DISCOUNT_END_PREFIX);

/**
 * The discount ends among `states` that have come by `now` and are not recorded yet, as the
 * states that record them (the subscription's MRR without the discount from its end on), each
 * copied from the latest state that names the end. Each end is recorded once, even one a later
 * state made moot (the ledger ignores that one), so an end is never due twice. Generic so that a
 * stored row's extra fields carry over.
 */
export function dueDiscountEnds<T extends MrrState>(states: T[], now: number): T[] {
  const recorded = new Set(states.filter(isDiscountEnd).map((state) => state.sourceEventId));
  const latest = new Map<string, { state: T; ends: number; mrr: number }>();
  for (const state of states) {
    const { discountEndsAt: ends, mrrAfterDiscount: mrr } = state;
    if (isDiscountEnd(state) || ends === null || mrr === null) continue;
    if (ends <= state.effectiveAt || ends > now) continue;
    const source = discountEndSource(state.subscriptionId, ends);
    const held = latest.get(source);
    if (!recorded.has(source) && (!held || held.state.effectiveAt < state.effectiveAt))
      latest.set(source, { state, ends, mrr });
  }
  return [...latest].map(([source, { state, ends, mrr }]) => ({
    ...state,
    sourceEventId: source,
    effectiveAt: ends,
    mrr,
    discountEndsAt: null,
    mrrAfterDiscount: null,
  }));
}

/**
 * A subscription's states as points in time, with a repeating discount's end when it is
 * recorded and no later state came before it.
 */
function pointsOf(all: MrrState[]): Point[] {
  const recorded = new Set(all.filter(isDiscountEnd).map((state) => state.sourceEventId));
  const sorted = all
    .filter((state) => !isDiscountEnd(state))
    .map((state) => ({
      state,
      at: state.effectiveAt,
      rank: STATUS_RANK[state.status],
      source: state.sourceEventId,
    }))
    .sort(byTime)
    .map(({ state }) => state);
  const points: Point[] = [];
  sorted.forEach((state, i) => {
    const next = sorted[i + 1];
    const base = {
      subscriptionId: state.subscriptionId,
      status: state.status,
      planId: state.planId,
      rank: STATUS_RANK[state.status],
    };
    points.push({ ...base, at: state.effectiveAt, mrr: state.mrr, source: state.sourceEventId });
    const ends = state.discountEndsAt;
    if (
      ends !== null &&
      state.mrrAfterDiscount !== null &&
      ends > state.effectiveAt &&
      (!next || ends < next.effectiveAt) &&
      recorded.has(discountEndSource(state.subscriptionId, ends))
    ) {
      points.push({
        ...base,
        at: ends,
        mrr: state.mrrAfterDiscount,
        source: discountEndSource(state.subscriptionId, ends),
      });
    }
  });
  return points;
}

const secondOf = (ms: number) => Math.floor(ms / 1000);

/** The ledger of one customer in one currency. */
function deriveSeries(states: MrrState[]): Ledger {
  const customerId = states[0]?.customerId ?? "";
  const currency = states[0]?.currency ?? "";
  const bySubscription = new Map<string, MrrState[]>();
  for (const state of states)
    bySubscription.set(state.subscriptionId, [...(bySubscription.get(state.subscriptionId) ?? []), state]);
  const points = [...bySubscription.values()].flatMap(pointsOf).sort(byTime);

  const current = new Map<
    string,
    { mrr: number; status: CustomerSubscriptionStatus | null; planId: string | null }
  >();
  const movements: Movement[] = [];
  const steps: SubscriptionStep[] = [];
  let customerMrr = 0;
  let everPaid = false;
  for (let i = 0; i < points.length; ) {
    // One second at a time (Stripe's `created` counts seconds; a state read at Stripe to settle
    // a tie stands later in its second), its movement at the second's start.
    const second = secondOf(points[i]?.at ?? 0);
    const at = second * 1000;
    const before = customerMrr;
    let cause: Point | null = null;
    for (; i < points.length && secondOf(points[i]?.at ?? 0) === second; i++) {
      const point = points[i] as Point;
      const was = current.get(point.subscriptionId) ?? { mrr: 0, status: null, planId: null };
      current.set(point.subscriptionId, { mrr: point.mrr, status: point.status, planId: point.planId });
      customerMrr += point.mrr - was.mrr;
      if (point.mrr !== was.mrr && !cause) cause = point;
      const trial =
        point.status === "trialing" && was.status !== "trialing"
          ? "started"
          : was.status === "trialing" && point.status !== "trialing" && point.mrr > 0
            ? "converted"
            : was.status === "trialing" && ENDED_TRIAL.includes(point.status)
              ? "lost"
              : null;
      if (was.mrr > 0 !== point.mrr > 0 || trial)
        steps.push({
          subscriptionId: point.subscriptionId,
          currency,
          at,
          payingBefore: was.mrr > 0,
          payingAfter: point.mrr > 0,
          trial,
        });
    }
    if (customerMrr === before) continue;
    const type: MovementType =
      before === 0
        ? everPaid
          ? "reactivation"
          : "new"
        : customerMrr === 0
          ? "churn"
          : customerMrr > before
            ? "expansion"
            : "contraction";
    if (customerMrr > 0) everPaid = true;
    movements.push({
      customerId,
      subscriptionId: cause?.subscriptionId ?? null,
      currency,
      type,
      mrrBefore: before,
      mrrAfter: customerMrr,
      effectiveAt: at,
      sourceEventId: cause?.source ?? "",
    });
  }
  const ends = [...current].map(([subscriptionId, end]) => ({
    subscriptionId,
    planId: end.planId,
    currency,
    mrr: end.mrr,
  }));
  return { movements, steps, ends };
}

/** The ledger of one customer, every currency a series of its own. */
export function deriveLedger(states: MrrState[]): Ledger {
  const byCurrency = new Map<string, MrrState[]>();
  for (const state of states)
    byCurrency.set(state.currency, [...(byCurrency.get(state.currency) ?? []), state]);
  const series = [...byCurrency.keys()]
    .sort()
    .map((currency) => deriveSeries(byCurrency.get(currency) ?? []));
  return {
    movements: series.flatMap((ledger) => ledger.movements),
    steps: series.flatMap((ledger) => ledger.steps),
    ends: series.flatMap((ledger) => ledger.ends),
  };
}
