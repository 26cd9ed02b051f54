import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { RequestContext } from "../../src/context";
import { database } from "../../src/db/client";
import { mrrSeries, summary } from "../../src/modules/analytics/analytics.service";
import { historyMrrAtEnd, historyStatements } from "../../tools/analytics-history";
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
const SHAPE = { subscriptions: SUBSCRIPTIONS, days: DAYS, today };

/** Seeds the history and measures what each kind of row costs on disk, indexes included. */
async function seed() {
  const sizeNow = async () => (await env.DB.prepare("SELECT 1").run()).meta.size_after;
  for (const { label, sql } of historyStatements(SHAPE)) {
    const before = await sizeNow();
    const result = await env.DB.prepare(sql).bind(tenantId).run();
    if (result.meta.changes)
      bytesPerRow[label] = Math.round((result.meta.size_after - before) / result.meta.changes);
  }
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
    const expectedMrr = historyMrrAtEnd(SHAPE);

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
