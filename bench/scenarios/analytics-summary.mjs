import { HISTORY, seedAnalyticsTenant } from "../lib/seed-analytics.mjs";

/**
 * The analytics summary (last 30 days) of a tenant with 100,000 subscriptions and two years of
 * history: API-key auth, then four indexed reads of the daily and monthly rollups per currency.
 */
export default {
  name: "analytics-summary",
  description: `\`GET /api/v1/auth/analytics/summary/\` with a secret key, for a tenant with ${HISTORY.subscriptions.toLocaleString("en-US")} subscriptions and 2 years of history: read from the rollups (O(days), not O(subscriptions))`,
  async seed({ mf, log }) {
    return seedAnalyticsTenant(mf, log);
  },
  async setup({ seeded }) {
    return {
      method: "GET",
      path: "/api/v1/auth/analytics/summary/",
      headers: { "x-api-key": seeded.keys.summary },
    };
  },
};
