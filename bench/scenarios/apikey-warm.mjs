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
  description: "GET /api/v1/auth/tenants/verify/ with 100 secret keys, isolate cache warm",
  async setup({ mf }) {
    const keys = await seedSecretKeys(mf, KEYS);
    return {
      requests: keys.map((key) => ({
        method: "GET",
        path: "/api/v1/auth/tenants/verify/",
        headers: { "x-api-key": key },
      })),
    };
  },
};
