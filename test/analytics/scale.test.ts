import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { RequestContext } from "../../src/context";
import { database } from "../../src/db/client";
import { mrrSeries, summary } from "../../src/modules/analytics/analytics.service";
import { testContext } from "../context";
import { countingD1 } from "../d1-reads";
import { registerTenant } from "../harness";

/**
 * Reads cost O(buckets), never O(subscriptions): a tenant with 100,000 subscriptions started over
 * two years (a fifth of them churned after 180 days), its ledger and rollups as the event path
 * writes them, and the rows each read touches (`meta.rows_read`).
 */
const SUBSCRIPTIONS = 100_000;
const DAY_MS = 86_400_000;
const DAYS = 730;
const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
const firstDay = today - (DAYS - 1) * DAY_MS;
/** The few hundred rows the issue allows a read, with room for a currency or two more. */
const READ_BUDGET = 300;

let tenantId: string;
const bytesPerRow: Record<string, number> = {};
const mrrOf = (i: number) => 1000 + (i % 10) * 500;
const startOf = (i: number) => firstDay + Math.floor((i * DAYS) / SUBSCRIPTIONS) * DAY_MS;
const churnsAt = (i: number) => (i % 5 === 0 ? startOf(i) + 180 * DAY_MS : null);

async function seed() {
  const numbers = `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${SUBSCRIPTIONS - 1})`;
  const start = `(${firstDay} + ((i * ${DAYS}) / ${SUBSCRIPTIONS}) * ${DAY_MS})`;
  const mrr = "(1000 + (i % 10) * 500)";
  const t = tenantId;
  const tables = [
    "customers",
    "customer_subscriptions",
    "mrr_states",
    "mrr_movements (new)",
    "mrr_movements (churn)",
    "revenue_entries",
  ];
  const before = await env.DB.prepare("SELECT 1").run();
  const results = await env.DB.batch([
    env.DB.prepare(
      `${numbers} INSERT INTO customers (id, tenant_id, livemode, stripe_customer_id, metadata, created_at, updated_at)
       SELECT 'cust_' || ?1 || '_' || i, ?1, 0, 'cus_' || ?1 || '_' || i, '{}', ${start}, ${start} FROM n`,
    ).bind(t),
    env.DB.prepare(
      `${numbers} INSERT INTO customer_subscriptions (id, tenant_id, livemode, customer_id, stripe_subscription_id,
         stripe_customer_id, status, quantity, unit_amount, currency, interval, metadata, created_at, updated_at)
       SELECT 'subs_' || ?1 || '_' || i, ?1, 0, 'cust_' || ?1 || '_' || i, 'sub_' || ?1 || '_' || i,
         'cus_' || ?1 || '_' || i, CASE WHEN i % 5 = 0 AND ${start} + ${180 * DAY_MS} <= ${today} THEN 'canceled' ELSE 'active' END,
         1, ${mrr}, 'usd', 'month', '{}', ${start}, ${start} FROM n`,
    ).bind(t),
    env.DB.prepare(
      `${numbers} INSERT INTO mrr_states (subscription_id, source_event_id, tenant_id, livemode, customer_id, currency,
         effective_at, status, mrr)
       SELECT 'subs_' || ?1 || '_' || i, 'evt_new_' || i, ?1, 0, 'cust_' || ?1 || '_' || i, 'usd', ${start}, 'active', ${mrr} FROM n`,
    ).bind(t),
    env.DB.prepare(
      `${numbers} INSERT INTO mrr_movements (id, tenant_id, livemode, customer_id, subscription_id, currency, type,
         mrr_before, mrr_after, effective_at, source_event_id)
       SELECT 'mov_' || ?1 || '_n' || i, ?1, 0, 'cust_' || ?1 || '_' || i, 'subs_' || ?1 || '_' || i, 'usd', 'new',
         0, ${mrr}, ${start}, 'evt_new_' || i FROM n`,
    ).bind(t),
    env.DB.prepare(
      `${numbers} INSERT INTO mrr_movements (id, tenant_id, livemode, customer_id, subscription_id, currency, type,
         mrr_before, mrr_after, effective_at, source_event_id)
       SELECT 'mov_' || ?1 || '_c' || i, ?1, 0, 'cust_' || ?1 || '_' || i, 'subs_' || ?1 || '_' || i, 'usd', 'churn',
         ${mrr}, 0, ${start} + ${180 * DAY_MS}, 'evt_churn_' || i FROM n
       WHERE i % 5 = 0 AND ${start} + ${180 * DAY_MS} <= ${today}`,
    ).bind(t),
    env.DB.prepare(
      `${numbers} INSERT INTO revenue_entries (id, tenant_id, livemode, customer_id, currency, kind, amount, fee, occurred_at)
       SELECT 'invoice:in_' || ?1 || '_' || i, ?1, 0, 'cust_' || ?1 || '_' || i, 'usd', 'payment', ${mrr}, ${mrr} / 10, ${start} FROM n`,
    ).bind(t),
  ]);
  // What each row costs on disk, indexes included (D1 reports the database's size after each statement).
  let size = before.meta.size_after;
  results.forEach((result, i) => {
    const rows = result.meta.changes;
    const bytes = result.meta.size_after - size;
    size = result.meta.size_after;
    if (rows) bytesPerRow[tables[i] as string] = Math.round(bytes / rows);
  });
  // The rollups the event path keeps, derived here from the ledger in one pass per table.
  const sizeBeforeRollups = (await env.DB.prepare("SELECT 1").run()).meta.size_after;
  for (const [table, bucket] of [
    ["analytics_daily", `(effective_at / ${DAY_MS}) * ${DAY_MS}`],
    ["analytics_monthly", "unixepoch(date(effective_at / 1000, 'unixepoch', 'start of month')) * 1000"],
  ] as const) {
    await env.DB.prepare(
      `INSERT INTO ${table} (tenant_id, livemode, currency, bucket, mrr, subscribers, customers, new_mrr, new_count, churn_mrr, churn_count)
       SELECT ?1, 0, 'usd', bucket,
         sum(sum(mrr_after - mrr_before)) OVER (ORDER BY bucket),
         sum(sum(CASE type WHEN 'new' THEN 1 ELSE -1 END)) OVER (ORDER BY bucket),
         sum(sum(CASE type WHEN 'new' THEN 1 ELSE -1 END)) OVER (ORDER BY bucket),
         sum(CASE type WHEN 'new' THEN mrr_after ELSE 0 END), sum(type = 'new'),
         sum(CASE type WHEN 'churn' THEN mrr_before ELSE 0 END), sum(type = 'churn')
       FROM (SELECT ${bucket} AS bucket, type, mrr_before, mrr_after FROM mrr_movements WHERE tenant_id = ?1)
       GROUP BY bucket`,
    )
      .bind(tenantId)
      .run();
  }
  const rollupRows = await env.DB.prepare(
    "SELECT (SELECT count(*) FROM analytics_daily WHERE tenant_id = ?1) + (SELECT count(*) FROM analytics_monthly WHERE tenant_id = ?1) AS n",
  )
    .bind(tenantId)
    .first<number>("n");
  const sizeAfterRollups = (await env.DB.prepare("SELECT 1").run()).meta.size_after;
  bytesPerRow["rollups (daily and monthly)"] = Math.round(
    (sizeAfterRollups - sizeBeforeRollups) / (rollupRows ?? 1),
  );
}

function readerContext(db: D1Database): RequestContext {
  return testContext({
    db: database(db),
    caller: {
      kind: "api_key",
      keyId: "key_scale",
      tenantId,
      companyName: "Scale",
      keyKind: "secret",
      mode: "test",
      tier: "enterprise",
    },
  });
}

beforeAll(async () => {
  tenantId = (await registerTenant()).tenantId;
  await seed();
}, 120_000);

describe("analytics at 100,000 subscriptions", () => {
  it("has the history the reads must not scan", async () => {
    const count = (table: string) =>
      env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE tenant_id = ?`)
        .bind(tenantId)
        .first<number>("n");
    expect(await count("customer_subscriptions")).toBe(SUBSCRIPTIONS);
    expect(await count("mrr_states")).toBe(SUBSCRIPTIONS);
    expect(await count("mrr_movements")).toBeGreaterThan(SUBSCRIPTIONS * 1.15);
    expect(await count("analytics_daily")).toBe(DAYS);
    expect(await count("analytics_monthly")).toBeGreaterThanOrEqual(24);
    console.info(`bytes per row on disk (indexes included): ${JSON.stringify(bytesPerRow)}`);
  });

  it("counts the rows a scan reads (the counter itself works)", async () => {
    const reads = countingD1(env.DB);
    await reads.db.prepare("SELECT count(*) FROM mrr_states WHERE tenant_id = ?").bind(tenantId).first();
    expect(reads.count.rows).toBeGreaterThanOrEqual(SUBSCRIPTIONS);
  });

  it("answers the summary and a 24-month monthly series reading at most a few hundred rows", async () => {
    const reads = countingD1(env.DB);
    const ctx = readerContext(reads.db);
    let expectedMrr = 0;
    for (let i = 0; i < SUBSCRIPTIONS; i++) {
      const churn = churnsAt(i);
      if (churn === null || churn > today) expectedMrr += mrrOf(i);
    }

    const last30 = await summary(ctx, {});
    const summaryRows = reads.count.rows;
    expect(last30.currencies[0]?.mrr).toBe(expectedMrr);

    reads.reset();
    const twoYears = await summary(ctx, { from: new Date(firstDay).toISOString().slice(0, 10) });
    const twoYearSummaryRows = reads.count.rows;
    expect(twoYears.currencies[0]?.movements.new.count).toBe(SUBSCRIPTIONS);
    expect(twoYears.currencies[0]?.mrr_at_start).toBe(0);

    reads.reset();
    const from = new Date(today - 730 * DAY_MS).toISOString().slice(0, 10);
    const series = await mrrSeries(ctx, { from, interval: "month" });
    const seriesRows = reads.count.rows;
    const points = series.series[0]?.data ?? [];
    expect(points.length).toBeGreaterThanOrEqual(24);
    expect(points.at(-1)?.mrr).toBe(expectedMrr);

    reads.reset();
    await mrrSeries(ctx, { interval: "day", from: new Date(today - 89 * DAY_MS).toISOString().slice(0, 10) });
    const dailyRows = reads.count.rows;

    console.info(
      `rows read at ${SUBSCRIPTIONS} subscriptions: summary (30 days) ${summaryRows}, summary (2 years) ${twoYearSummaryRows}, ` +
        `24-month series ${seriesRows}, 90-day daily series ${dailyRows}`,
    );
    for (const rows of [summaryRows, twoYearSummaryRows, seriesRows, dailyRows]) {
      expect(rows).toBeGreaterThan(0);
      expect(rows).toBeLessThanOrEqual(READ_BUDGET);
    }
  });
});
