import type { Flows, PeriodFigures } from "./analytics.reads";

/**
 * The summary's figures from a period's stocks and flows: pure arithmetic with the contract's
 * definitions. Rates are fractions (0.05 = 5 %), null when their denominator is 0.
 *  - MRR growth = (MRR at end − MRR at start) / MRR at start
 *  - ARPA = MRR / paying customers (at the end)
 *  - customer churn rate = customers lost in the period / paying customers at its start, each
 *    customer lost once however often it churned (one who churned and came back is lost)
 *  - net MRR churn = (churn + contraction − expansion − reactivation) / MRR at the start
 *  - LTV = ARPA / monthly customer churn rate (the period's rate scaled to 30.4375 days);
 *    null without churn (ChartMogul shows 0 there; we do not guess)
 *  - trial conversion = trials converted / (converted + lost) among trials that ended
 */
const AVERAGE_MONTH_DAYS = 365.25 / 12;

const ratio = (numerator: number, denominator: number) =>
  denominator === 0 ? null : numerator / denominator;
const round4 = (value: number | null) => (value === null ? null : Math.round(value * 10_000) / 10_000);

/**
 * Whether a customer may have churned more than once in a period: only with two churns and a
 * reactivation between them. When not, the churn count is the number of customers lost.
 */
export const mayChurnTwice = (flows: Pick<Flows, "churnCount" | "reactivationCount">) =>
  flows.churnCount >= 2 && flows.reactivationCount >= 1;

/** The period's customer churn rate, unrounded (the figures show it rounded to 4 decimals). */
const customerChurnRate = (period: PeriodFigures) => ratio(period.customersLost, period.start.customers);

/**
 * The period's customer churn rate scaled to a month (30.4375 days), unrounded: what LTV divides
 * by. Rounding it first (to the 4 decimals shown) would move the LTV.
 */
export function monthlyChurnRate(period: PeriodFigures, days: number): number | null {
  const churnRate = customerChurnRate(period);
  return churnRate === null ? null : churnRate * (AVERAGE_MONTH_DAYS / days);
}

/** MRR per month over the unrounded monthly churn rate, rounded only here; null without churn. */
export const lifetimeValue = (mrr: number | null, monthlyChurn: number | null) =>
  mrr === null || !monthlyChurn ? null : Math.round(mrr / monthlyChurn);

export function summaryFigures(period: PeriodFigures, days: number) {
  const { start, end, flows } = period;
  const churnRate = customerChurnRate(period);
  const arpa = ratio(end.mrr, end.customers);
  const netChurn = ratio(
    flows.churnMrr + flows.contractionMrr - flows.expansionMrr - flows.reactivationMrr,
    start.mrr,
  );
  return {
    currency: period.currency,
    mrr: end.mrr,
    arr: end.mrr * 12,
    mrr_at_start: start.mrr,
    mrr_growth_rate: round4(ratio(end.mrr - start.mrr, start.mrr)),
    paying_customers: end.customers,
    paying_customers_at_start: start.customers,
    subscribers: end.subscribers,
    arpa: arpa === null ? null : Math.round(arpa),
    customer_churn_rate: round4(churnRate),
    net_mrr_churn_rate: round4(netChurn),
    ltv: lifetimeValue(arpa, monthlyChurnRate(period, days)),
    trial_conversion_rate: round4(ratio(flows.trialsConverted, flows.trialsConverted + flows.trialsLost)),
    movements: {
      new: { mrr: flows.newMrr, count: flows.newCount },
      expansion: { mrr: flows.expansionMrr, count: flows.expansionCount },
      contraction: { mrr: flows.contractionMrr, count: flows.contractionCount },
      churn: { mrr: flows.churnMrr, count: flows.churnCount },
      reactivation: { mrr: flows.reactivationMrr, count: flows.reactivationCount },
    },
    trials: { started: flows.trialsStarted, converted: flows.trialsConverted, lost: flows.trialsLost },
    revenue: flows.revenue,
    refunds: flows.refunds,
    net_revenue: flows.revenue - flows.refunds,
    fees: flows.fees,
  };
}

export type SummaryFigures = ReturnType<typeof summaryFigures>;
