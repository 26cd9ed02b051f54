import { seedSecretKeys } from "../lib/seed-keys.mjs";

const KEYS = 20_000;

/**
 * The same authenticated GET as apikey-warm, but every request carries a key this isolate has
 * never seen: the edge record comes from KV (one read), as on the first request of a key at a
 * location. If the run outlasts the seeded keys, the scenario starts reusing them (a warning is
 * printed) and the figure is no longer cold.
 */
export default {
  name: "apikey-cold",
  description: "GET /api/v1/auth/tenants/verify/, a never-seen key per request (one KV read)",
  async setup({ mf }) {
    const keys = await seedSecretKeys(mf, KEYS);
    let next = 0;
    let warned = false;
    return {
      requests: [
        {
          method: "GET",
          path: "/api/v1/auth/tenants/verify/",
          setupRequest: (request) => {
            if (next >= keys.length && !warned) {
              warned = true;
              console.warn(`apikey-cold: all ${keys.length} seeded keys used; later requests are warm`);
            }
            const key = keys[next++ % keys.length];
            return { ...request, headers: { ...request.headers, "x-api-key": key } };
          },
        },
      ],
    };
  },
};
