import type { RollupRow } from "../../db/schema";
import type { Ledger } from "./ledger";

/**
 * What a customer's ledger adds to the rollups, and how a re-derived ledger changes them: pure
 * functions. Flows (a movement's sum and count, trials) belong to the bucket they happen in;
 * stocks (MRR, subscribers, paying customers) change from that bucket on.
 */
export type FlowColumn = Exclude<
  keyof RollupRow,
  "tenantId" | "livemode" | "currency" | "bucket" | "mrr" | "subscribers" | "customers"
>;
export type StockColumn = "mrr" | "subscribers" | "customers";

export interface BucketDelta {
  currency: string;
  /** UTC midnight of the day, unix ms. */
  day: number;
  flows: Partial<Record<FlowColumn, number>>;
  stocks: Partial<Record<StockColumn, number>>;
}

const DAY_MS = 86_400_000;
export const dayOf = (ms: number) => Math.floor(ms / DAY_MS) * DAY_MS;
export const monthOf = (ms: number) => {
  const date = new Date(ms);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
};

class Deltas {
  readonly byKey = new Map<string, BucketDelta>();

  at(currency: string, ms: number): BucketDelta {
    const day = dayOf(ms);
    const key = `${currency}|${day}`;
    let delta = this.byKey.get(key);
    if (!delta) {
      delta = { currency, day, flows: {}, stocks: {} };
      this.byKey.set(key, delta);
    }
    return delta;
  }
}

const add = <K extends string>(target: Partial<Record<K, number>>, column: K, value: number) => {
  target[column] = (target[column] ?? 0) + value;
};

/** The rollup contributions of a ledger, signed by `sign` (+1 to add, -1 to take back). */
function contribute(deltas: Deltas, ledger: Ledger, sign: 1 | -1) {
  for (const m of ledger.movements) {
    const bucket = deltas.at(m.currency, m.effectiveAt);
    const change = m.mrrAfter - m.mrrBefore;
    add(bucket.flows, `${m.type}Mrr` as FlowColumn, sign * Math.abs(change));
    add(bucket.flows, `${m.type}Count` as FlowColumn, sign);
    add(bucket.stocks, "mrr", sign * change);
    if (m.type === "new" || m.type === "reactivation") add(bucket.stocks, "customers", sign);
    if (m.type === "churn") add(bucket.stocks, "customers", -sign);
  }
  for (const step of ledger.steps) {
    const bucket = deltas.at(step.currency, step.at);
    if (step.payingBefore !== step.payingAfter)
      add(bucket.stocks, "subscribers", sign * (step.payingAfter ? 1 : -1));
    if (step.trial === "started") add(bucket.flows, "trialsStarted", sign);
    if (step.trial === "converted") add(bucket.flows, "trialsConverted", sign);
    if (step.trial === "lost") add(bucket.flows, "trialsLost", sign);
  }
}

const nonZero = (values: Partial<Record<string, number>>) =>
  Object.values(values).some((value) => value !== 0);

/** What replacing ledger `before` by `after` changes in the rollups, bucket by bucket. */
export function ledgerDeltas(before: Ledger, after: Ledger): BucketDelta[] {
  const deltas = new Deltas();
  contribute(deltas, before, -1);
  contribute(deltas, after, 1);
  return [...deltas.byKey.values()]
    .map((delta) => ({
      ...delta,
      flows: Object.fromEntries(Object.entries(delta.flows).filter(([, v]) => v !== 0)),
      stocks: Object.fromEntries(Object.entries(delta.stocks).filter(([, v]) => v !== 0)),
    }))
    .filter((delta) => nonZero(delta.flows) || nonZero(delta.stocks))
    .sort((a, b) => a.day - b.day || (a.currency < b.currency ? -1 : 1));
}

export interface PlanDelta {
  currency: string;
  planId: string;
  mrr: number;
  subscribers: number;
}

/** What replacing the ledger changes in the current MRR and subscribers of each plan. */
export function planDeltas(before: Ledger, after: Ledger): PlanDelta[] {
  const byPlan = new Map<string, PlanDelta>();
  const apply = (ledger: Ledger, sign: 1 | -1) => {
    for (const end of ledger.ends) {
      if (!end.planId) continue;
      const key = `${end.currency}|${end.planId}`;
      const delta = byPlan.get(key) ?? { currency: end.currency, planId: end.planId, mrr: 0, subscribers: 0 };
      delta.mrr += sign * end.mrr;
      delta.subscribers += sign * (end.mrr > 0 ? 1 : 0);
      byPlan.set(key, delta);
    }
  };
  apply(before, -1);
  apply(after, 1);
  return [...byPlan.values()].filter((delta) => delta.mrr !== 0 || delta.subscribers !== 0);
}
