// One tenant with the analytics history of 100,000 subscriptions over two years (the shape of
// test/analytics/scale.test.ts), seeded once per run and shared by the analytics scenarios.
import { historyStatements } from "../../tools/analytics-history.ts";
import { seedSecretKeys, seedTenant } from "./seed-keys.mjs";

export const HISTORY = { subscriptions: 100_000, days: 730 };
const DAY_MS = 86_400_000;

let seeded;

/**
 * The tenant's live secret keys (the history is live mode, which a live key reads): one per
 * analytics scenario, so that two scenarios run back to back do not share one key's per-minute
 * rate limit (at about 400 requests/s each, a round of both spent most of a pro key's 6,000).
 */
export function seedAnalyticsTenant(mf, log) {
  seeded ??= (async () => {
    const db = await mf.getD1Database("DB");
    const tenantId = await seedTenant(db, { companyName: "Bench Analytics Co" });
    const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
    for (const { label, sql } of historyStatements({ ...HISTORY, today, livemode: true })) {
      const result = await db.prepare(sql).bind(tenantId).run();
      log?.(`${label}: ${result.meta.changes} rows`);
    }
    const [summaryKey, mrrKey] = await seedSecretKeys(mf, 2, { tenantId });
    return { keys: { summary: summaryKey, mrr: mrrKey }, today };
  })();
  return seeded;
}

export const isoDay = (ms) => new Date(ms).toISOString().slice(0, 10);
