import { and, eq, gte, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../../db/client";
import { analyticsDaily, analyticsMonthly, analyticsPlans } from "../../db/schema";
import {
  type BucketDelta,
  dayOf,
  type FlowColumn,
  monthOf,
  type PlanDelta,
  type StockColumn,
} from "./rollups";

type RollupTable = typeof analyticsDaily | typeof analyticsMonthly;

export interface SeriesKey {
  tenantId: string;
  livemode: boolean;
  currency: string;
}

const STOCKS: StockColumn[] = ["mrr", "subscribers", "customers"];

const sameSeries = (table: RollupTable, key: SeriesKey) =>
  and(eq(table.tenantId, key.tenantId), eq(table.livemode, key.livemode), eq(table.currency, key.currency));

/**
 * Makes sure the bucket has a row, its stocks carried forward from the latest earlier bucket
 * (what the series stood at when the bucket began). Nothing happens if the row exists.
 */
export function ensureBucket(
  db: Database,
  table: RollupTable,
  key: SeriesKey,
  bucket: number,
): BatchItem<"sqlite"> {
  const carried = (column: StockColumn) =>
    sql`coalesce((SELECT ${sql.identifier(column)} FROM ${table} WHERE ${sameSeries(table, key)} AND ${table.bucket} < ${bucket} ORDER BY ${table.bucket} DESC LIMIT 1), 0)`;
  return db
    .insert(table)
    .select(
      sql`SELECT ${key.tenantId}, ${key.livemode ? 1 : 0}, ${key.currency}, ${bucket}, ${carried("mrr")}, ${carried("subscribers")}, ${carried("customers")}, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0`,
    )
    .onConflictDoNothing();
}

const increments = (table: RollupTable, values: Partial<Record<FlowColumn | StockColumn, number>>) =>
  Object.fromEntries(
    Object.entries(values).map(([column, value]) => [column, sql`${table[column as FlowColumn]} + ${value}`]),
  );

/** The statements that apply one bucket delta to a rollup table (daily or monthly). */
function applyToTable(
  db: Database,
  table: RollupTable,
  key: SeriesKey,
  bucket: number,
  delta: BucketDelta,
): BatchItem<"sqlite">[] {
  const statements: BatchItem<"sqlite">[] = [ensureBucket(db, table, key, bucket)];
  if (Object.keys(delta.flows).length)
    statements.push(
      db
        .update(table)
        .set(increments(table, delta.flows))
        .where(and(sameSeries(table, key), eq(table.bucket, bucket))),
    );
  // A stock changes from this bucket on: every later bucket's end moves with it.
  const stocks = Object.fromEntries(
    STOCKS.filter((s) => delta.stocks[s]).map((s) => [s, delta.stocks[s] as number]),
  );
  if (Object.keys(stocks).length)
    statements.push(
      db
        .update(table)
        .set(increments(table, stocks))
        .where(and(sameSeries(table, key), gte(table.bucket, bucket))),
    );
  return statements;
}

/** The statements that apply a ledger's bucket deltas to the daily and monthly rollups. */
export function rollupStatements(
  db: Database,
  tenantId: string,
  livemode: boolean,
  deltas: BucketDelta[],
): BatchItem<"sqlite">[] {
  return deltas.flatMap((delta) => {
    const key = { tenantId, livemode, currency: delta.currency };
    return [
      ...applyToTable(db, analyticsDaily, key, dayOf(delta.day), delta),
      ...applyToTable(db, analyticsMonthly, key, monthOf(delta.day), delta),
    ];
  });
}

export function planStatements(
  db: Database,
  tenantId: string,
  livemode: boolean,
  deltas: PlanDelta[],
): BatchItem<"sqlite">[] {
  return deltas.map((delta) =>
    db
      .insert(analyticsPlans)
      .values({
        tenantId,
        livemode,
        currency: delta.currency,
        planId: delta.planId,
        mrr: delta.mrr,
        subscribers: delta.subscribers,
      })
      .onConflictDoUpdate({
        target: [
          analyticsPlans.tenantId,
          analyticsPlans.livemode,
          analyticsPlans.currency,
          analyticsPlans.planId,
        ],
        set: {
          mrr: sql`${analyticsPlans.mrr} + ${delta.mrr}`,
          subscribers: sql`${analyticsPlans.subscribers} + ${delta.subscribers}`,
        },
      }),
  );
}

/**
 * Money collected or refunded, counted once per Stripe object: the entry's insert is guarded by
 * its primary key, and the rollups move only if it went in (`changes()` of the statement before).
 */
export function moneyStatements(
  db: Database,
  entryInsert: BatchItem<"sqlite">,
  key: SeriesKey,
  at: number,
  flows: Partial<Record<"revenue" | "refunds" | "fees", number>>,
): BatchItem<"sqlite">[] {
  const day = dayOf(at);
  const month = monthOf(at);
  const set = (table: RollupTable) => increments(table, flows);
  return [
    ensureBucket(db, analyticsDaily, key, day),
    ensureBucket(db, analyticsMonthly, key, month),
    entryInsert,
    db
      .update(analyticsDaily)
      .set(set(analyticsDaily))
      .where(and(sameSeries(analyticsDaily, key), eq(analyticsDaily.bucket, day), sql`changes() > 0`)),
    db
      .update(analyticsMonthly)
      .set(set(analyticsMonthly))
      .where(and(sameSeries(analyticsMonthly, key), eq(analyticsMonthly.bucket, month), sql`changes() > 0`)),
  ];
}

/**
 * Cron (hourly): every series gets today's daily row and this month's monthly row, stocks carried
 * forward, so the rollups hold a row per day even without movements. Each series costs three
 * indexed lookups; the series come from the monthly table (a row per series and month).
 */
export async function carryRollupsForward(ctx: { db: Database; clock: { now(): Date } }) {
  const now = ctx.clock.now().getTime();
  const month = monthOf(now);
  const carry = (table: RollupTable, bucket: number) => {
    const latest = (column: StockColumn) =>
      sql`coalesce((SELECT d.${sql.identifier(column)} FROM ${table} d WHERE d.tenant_id = s.tenant_id
        AND d.livemode = s.livemode AND d.currency = s.currency AND d.bucket < ${bucket}
        ORDER BY d.bucket DESC LIMIT 1), 0)`;
    return ctx.db.run(sql`INSERT OR IGNORE INTO ${table} (tenant_id, livemode, currency, bucket, mrr, subscribers, customers)
      SELECT s.tenant_id, s.livemode, s.currency, ${bucket}, ${latest("mrr")}, ${latest("subscribers")}, ${latest("customers")}
      FROM (SELECT DISTINCT tenant_id, livemode, currency FROM ${analyticsMonthly}) s`);
  };
  await carry(analyticsMonthly, month);
  await carry(analyticsDaily, dayOf(now));
}
