import { seedSecretKeys } from "../lib/seed-keys.mjs";

const KEYS = 100;

/**
 * An API-key-authenticated GET with everything on: format check, SHA-256, edge record, revocation
 * and expiry check, suspension gate, rate limit (local window + the tier's rate-limiting binding),
 * last-used bookkeeping. Rotates over 100 keys that the warm-up has put in the isolate cache, so
 * no request needs KV or D1.
 */
export default {
  name: "apikey-warm",
  description:
    "`GET /api/v1/auth/tenants/verify/` with a secret key: format, SHA-256, edge record from the isolate cache, revocation/expiry, suspension gate, rate limit, last-used bookkeeping (100 pro-tier keys in rotation)",
  async seed({ mf }) {
    return seedSecretKeys(mf, KEYS);
  },
  async setup({ seeded: keys }) {
    return {
      requests: keys.map((key) => ({
        method: "GET",
        path: "/api/v1/auth/tenants/verify/",
        headers: { "x-api-key": key },
      })),
    };
  },
};
