import { rowsReadExtra } from "../lib/rows-read.mjs";
import { seedSecretKeys, seedTenant } from "../lib/seed-keys.mjs";

const KEYS = 20;

const SUBSCRIPTIONS = 10_000;

function* subscriptions(tenantId) {
  const now = Date.now();
  for (let i = 0; i < SUBSCRIPTIONS; i++) {
    yield {
      id: `subs_bench${i}`,
      tenant_id: tenantId,
      livemode: 1,
      customer_id: `cus_bench_sub${i % 1000}`,
      stripe_subscription_id: `sub_stripe_bench${i}`,
      stripe_customer_id: `cus_stripe_bench_sub${i % 1000}`,
      stripe_price_id: "price_bench",
      status: "active",
      quantity: 1,
      unit_amount: 2000,
      currency: "usd",
      interval: "month",
      interval_count: 1,
      current_period_start: now - 86_400_000,
      current_period_end: now + 29 * 86_400_000,
      cancel_at_period_end: 0,
      application_fee_percent: "15",
      metadata: "{}",
      created_at: now - (SUBSCRIPTIONS - i) * 60_000,
      updated_at: now,
    };
  }
}

/** One subscription of a tenant with 10,000 of them in D1, read with a live secret key. */
export default {
  name: "subscription-get",
  description:
    "`GET /api/v1/auth/subscriptions/{id}` with a secret key, one tenant with 10,000 subscriptions in D1",
  async seed({ mf, db, insertRows, log }) {
    const tenantId = await seedTenant(db);
    // Several keys in rotation, so the per-key limit (6,000/min on pro) is not what is measured.
    const apiKeys = await seedSecretKeys(mf, KEYS, { tenantId });
    log(`${await insertRows("customer_subscriptions", subscriptions(tenantId))} subscriptions`);
    return { apiKeys };
  },
  async setup({ seeded }) {
    return {
      requests: seeded.apiKeys.map((key) => ({
        method: "GET",
        path: `/api/v1/auth/subscriptions/subs_bench${SUBSCRIPTIONS / 2}`,
        headers: { "x-api-key": key },
      })),
    };
  },
  extra: rowsReadExtra,
};
