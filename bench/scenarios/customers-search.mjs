import { rowsReadExtra } from "../lib/rows-read.mjs";
import { seedSecretKeys, seedTenant } from "../lib/seed-keys.mjs";

const KEYS = 20;

const CUSTOMERS = 50_000;
const FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Ken", "Radia", "Linus", "Margaret"];
const LAST = Array.from({ length: 200 }, (_, i) => `Family${i.toString(36)}`);
/** One family name of 200: 250 of the 50,000 customers match, more than a page of 100. */
const WORD = "Family2s";

function* customers(tenantId) {
  const now = Date.now();
  for (let i = 0; i < CUSTOMERS; i++) {
    const name = `${FIRST[i % FIRST.length]} ${LAST[Math.floor(i / FIRST.length) % LAST.length]}`;
    yield {
      id: `cus_bench${i}`,
      tenant_id: tenantId,
      livemode: 1,
      stripe_customer_id: `cus_stripe_bench${i}`,
      email: `c${i}@example.com`,
      name,
      metadata: "{}",
      status: "active",
      created_at: now - (CUSTOMERS - i) * 60_000,
      updated_at: now,
    };
  }
}

/**
 * A tenant with 50,000 customers in D1 (their FTS5 rows filled by the insert trigger), searched
 * by one word with a live secret key: a page of 100 of the 250 matches, newest first. The extra
 * column shows the D1 rows one request read, which must stay about a page, not the table.
 */
export default {
  name: "customers-search",
  description:
    "`GET /api/v1/auth/customers/?search=<word>&limit=100` with a secret key, one tenant with 50,000 customers (FTS5 index): a page of the 250 matches",
  connections: 16,
  async seed({ mf, db, insertRows, log }) {
    const tenantId = await seedTenant(db);
    // Several keys in rotation, so the per-key limit (6,000/min on pro) is not what is measured.
    const apiKeys = await seedSecretKeys(mf, KEYS, { tenantId });
    log(`${await insertRows("customers", customers(tenantId))} customers`);
    return { apiKeys };
  },
  async setup({ seeded }) {
    return {
      requests: seeded.apiKeys.map((key) => ({
        method: "GET",
        path: `/api/v1/auth/customers/?search=${WORD}&limit=100`,
        headers: { "x-api-key": key },
      })),
    };
  },
  extra: rowsReadExtra,
};
