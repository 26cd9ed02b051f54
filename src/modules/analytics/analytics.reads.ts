import { and, asc, countDistinct, desc, eq, gte, lt, lte } from "drizzle-orm";
import type { RequestContext } from "../../context";
import { analyticsDaily, analyticsMonthly, mrrMovements, type RollupRow } from "../../db/schema";
import { mayChurnTwice } from "./figures";
import { dayOf, monthOf } from "./rollups";

/**
 * Reading the rollups: every figure comes from bucket rows (a day or a month), so a read costs
 * O(buckets in the range), never O(subscriptions). A bucket without a row had no movement: its
 * stocks are the last row's before it (carried forward), its flows zero.
 */
export interface SeriesScope {
  tenantId: string;
  livemode: boolean;
}

const DAY_MS = 86_400_000;
type Table = typeof analyticsDaily | typeof analyticsMonthly;

export const FLOW_COLUMNS = [
  "newMrr",
  "newCount",
  "expansionMrr",
  "expansionCount",
  "contractionMrr",
  "contractionCount",
  "churnMrr",
  "churnCount",
  "reactivationMrr",
  "reactivationCount",
  "trialsStarted",
  "trialsConverted",
  "trialsLost",
  "revenue",
  "refunds",
  "fees",
] as const;
export type Flows = Record<(typeof FLOW_COLUMNS)[number], number>;
export type Stocks = Pick<RollupRow, "mrr" | "subscribers" | "customers">;

export const zeroFlows = (): Flows => Object.fromEntries(FLOW_COLUMNS.map((c) => [c, 0])) as Flows;
export const zeroStocks = (): Stocks => ({ mrr: 0, subscribers: 0, customers: 0 });

export function addFlows(into: Flows, row: Partial<Flows>) {
  for (const column of FLOW_COLUMNS) into[column] += row[column] ?? 0;
}

const series = (table: Table, scope: SeriesScope) =>
  and(eq(table.tenantId, scope.tenantId), eq(table.livemode, scope.livemode));

/** The currencies the tenant has analytics in (one row per month of history at most). */
export async function currenciesOf(ctx: RequestContext, scope: SeriesScope): Promise<string[]> {
  const rows = await ctx.db
    .selectDistinct({ currency: analyticsMonthly.currency })
    .from(analyticsMonthly)
    .where(series(analyticsMonthly, scope));
  return rows.map((row) => row.currency).sort();
}

/** The stocks at the end of the latest bucket before `before` (exclusive): one indexed row. */
function stockBefore(
  ctx: RequestContext,
  table: Table,
  scope: SeriesScope,
  currency: string,
  before: number,
) {
  return ctx.db
    .select({ mrr: table.mrr, subscribers: table.subscribers, customers: table.customers })
    .from(table)
    .where(and(series(table, scope), eq(table.currency, currency), lt(table.bucket, before)))
    .orderBy(desc(table.bucket))
    .limit(1);
}

function rowsBetween(
  ctx: RequestContext,
  table: Table,
  scope: SeriesScope,
  currency: string,
  from: number,
  to: number,
) {
  return ctx.db
    .select()
    .from(table)
    .where(
      and(series(table, scope), eq(table.currency, currency), gte(table.bucket, from), lte(table.bucket, to)),
    )
    .orderBy(asc(table.bucket));
}

export interface PeriodFigures {
  currency: string;
  start: Stocks;
  end: Stocks;
  flows: Flows;
  /** Customers with a churn in the period, each once (the churn count unless one churned twice). */
  customersLost: number;
}

/**
 * The rollup rows of [from, to] (UTC days, inclusive) in time order, as three reads for one batch:
 * the days before the first whole month, the whole months from the monthly rollups, the days after
 * the last one; all of them days when the range holds no whole month or `wholeMonths` is false.
 */
function rangeRows(
  ctx: RequestContext,
  scope: SeriesScope,
  currency: string,
  from: number,
  to: number,
  wholeMonths: boolean,
) {
  const firstFull = monthOf(from) === from ? from : nextMonth(from);
  const afterLastFull = monthOf(to + DAY_MS) === to + DAY_MS ? to + DAY_MS : monthOf(to);
  const months = wholeMonths && firstFull < afterLastFull;
  return [
    rowsBetween(ctx, analyticsDaily, scope, currency, from, (months ? firstFull : to + DAY_MS) - 1),
    rowsBetween(
      ctx,
      analyticsMonthly,
      scope,
      currency,
      months ? firstFull : 1,
      months ? afterLastFull - 1 : 0,
    ),
    rowsBetween(ctx, analyticsDaily, scope, currency, months ? afterLastFull : 1, months ? to : 0),
  ] as const;
}

/**
 * The stocks at the start and end of [from, to] (UTC days, inclusive) and the flows within: whole
 * months from the monthly rollups, the days at the edges from the daily ones.
 */
export async function periodFigures(
  ctx: RequestContext,
  scope: SeriesScope,
  currency: string,
  from: number,
  to: number,
): Promise<PeriodFigures> {
  const [start, end, headDays, monthRows, tailDays] = await ctx.db.batch([
    stockBefore(ctx, analyticsDaily, scope, currency, from),
    stockBefore(ctx, analyticsDaily, scope, currency, to + DAY_MS),
    ...rangeRows(ctx, scope, currency, from, to, true),
  ]);
  const flows = zeroFlows();
  for (const row of [...monthRows, ...headDays, ...tailDays]) addFlows(flows, row);
  const customersLost = mayChurnTwice(flows)
    ? await churnedCustomers(ctx, scope, currency, from, to + DAY_MS)
    : flows.churnCount;
  return { currency, start: start[0] ?? zeroStocks(), end: end[0] ?? zeroStocks(), flows, customersLost };
}

/**
 * Distinct customers with a churn movement in [from, until): read from the ledger, so only
 * when the rollups' counts allow a customer to have churned twice (`mayChurnTwice`), which
 * costs the period's movements instead of its buckets.
 */
async function churnedCustomers(
  ctx: RequestContext,
  scope: SeriesScope,
  currency: string,
  from: number,
  until: number,
): Promise<number> {
  const [row] = await ctx.db
    .select({ count: countDistinct(mrrMovements.customerId) })
    .from(mrrMovements)
    .where(
      and(
        eq(mrrMovements.tenantId, scope.tenantId),
        eq(mrrMovements.livemode, scope.livemode),
        gte(mrrMovements.effectiveAt, from),
        lt(mrrMovements.effectiveAt, until),
        eq(mrrMovements.type, "churn"),
        eq(mrrMovements.currency, currency),
      ),
    );
  return row?.count ?? 0;
}

const nextMonth = (ms: number) => {
  const date = new Date(ms);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
};

export type Interval = "day" | "week" | "month";

export interface Bucket {
  /** The bucket's first day: `from` for a first bucket cut at it. */
  start: number;
  end: Stocks;
  flows: Flows;
}

/** The buckets of [from, to]: days, ISO weeks (Monday), or calendar months. */
export function bucketStarts(from: number, to: number, interval: Interval): number[] {
  const starts: number[] = [];
  let at = interval === "month" ? monthOf(from) : interval === "week" ? weekOf(from) : from;
  while (at <= to) {
    starts.push(at);
    at = interval === "month" ? nextMonth(at) : at + (interval === "week" ? 7 : 1) * DAY_MS;
  }
  return starts;
}

export const weekOf = (ms: number) => {
  const day = dayOf(ms);
  const weekday = (new Date(day).getUTCDay() + 6) % 7;
  return day - weekday * DAY_MS;
};

/**
 * A series of buckets within [from, to]: the first and last cut at `from` and `to` (a partial
 * bucket starts at `from`, its flows and stocks go no further than `to`), so the series adds up to
 * the summary of the same range. Whole months from the monthly rollups, days (and weeks, and the
 * months' cut edges) from the daily ones.
 */
export async function seriesOf(
  ctx: RequestContext,
  scope: SeriesScope,
  currency: string,
  from: number,
  to: number,
  interval: Interval,
): Promise<Bucket[]> {
  const starts = bucketStarts(from, to, interval);
  const [before, headDays, monthRows, tailDays] = await ctx.db.batch([
    stockBefore(ctx, analyticsDaily, scope, currency, from),
    ...rangeRows(ctx, scope, currency, from, to, interval === "month"),
  ]);
  const rows: RollupRow[] = [...headDays, ...monthRows, ...tailDays];
  let stocks: Stocks = before[0] ?? zeroStocks();
  let next = 0;
  return starts.map((start, i) => {
    const end = starts[i + 1] ?? to + DAY_MS;
    const flows = zeroFlows();
    for (; next < rows.length && (rows[next]?.bucket ?? 0) < end; next++) {
      const row = rows[next] as RollupRow;
      addFlows(flows, row);
      stocks = { mrr: row.mrr, subscribers: row.subscribers, customers: row.customers };
    }
    return { start: Math.max(start, from), end: stocks, flows };
  });
}
