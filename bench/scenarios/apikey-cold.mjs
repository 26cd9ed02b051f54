import { seedSecretKeys } from "../lib/seed-keys.mjs";

/**
 * More keys than the isolate cache holds (MAX_CACHED = 10,000 in src/modules/api-keys/edge-store.ts),
 * used in strict rotation, so a key has left the cache by the time it comes round again.
 */
const KEYS = 20_000;
/** ISOLATE_CACHE_MS in edge-store.ts: a key used again sooner might still be cached. */
const CACHE_MS = 10_000;

/**
 * The same authenticated GET as apikey-warm, but every request carries a key this isolate has
 * not seen (or has forgotten): the edge record comes from KV (one read), as on the first request
 * of a key at a location. The extra column counts requests whose key had been used less than
 * 10 s before; 0 means every request was certainly cold.
 */
export default {
  name: "apikey-cold",
  description:
    "`GET /api/v1/auth/tenants/verify/`, a key the isolate has not cached per request: one KV read",
  async seed({ mf, log }) {
    log(`${KEYS} keys into D1 and KV`);
    const keys = await seedSecretKeys(mf, KEYS);
    return { keys, lastUsed: new Float64Array(keys.length), recentReuses: 0 };
  },
  async setup({ seeded }) {
    let next = 0;
    return {
      requests: [
        {
          method: "GET",
          path: "/api/v1/auth/tenants/verify/",
          setupRequest: (request) => {
            const index = next++ % seeded.keys.length;
            const now = Date.now();
            if (now - seeded.lastUsed[index] < CACHE_MS) seeded.recentReuses++;
            seeded.lastUsed[index] = now;
            return { ...request, headers: { ...request.headers, "x-api-key": seeded.keys[index] } };
          },
        },
      ],
    };
  },
  extra: {
    title: "keys reused <10 s",
    // Per run (warm-up included), then reset for the next run.
    async measure({ seeded }) {
      const count = seeded.recentReuses;
      seeded.recentReuses = 0;
      return count;
    },
  },
};
