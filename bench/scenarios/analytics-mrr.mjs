import { HISTORY, isoDay, seedAnalyticsTenant } from "../lib/seed-analytics.mjs";

const DAY_MS = 86_400_000;

/** A 24-month monthly MRR series with its movements, same tenant as analytics-summary. */
export default {
  name: "analytics-mrr",
  description: `\`GET /api/v1/auth/analytics/mrr/?interval=month\` over 24 months with a secret key, ${HISTORY.subscriptions.toLocaleString("en-US")} subscriptions: 25 monthly rollup rows`,
  async seed({ mf, log }) {
    return seedAnalyticsTenant(mf, log);
  },
  async setup({ seeded }) {
    const from = isoDay(seeded.today - 730 * DAY_MS);
    return {
      method: "GET",
      path: `/api/v1/auth/analytics/mrr/?interval=month&from=${from}&to=${isoDay(seeded.today)}`,
      headers: { "x-api-key": seeded.keys.mrr },
    };
  },
};
