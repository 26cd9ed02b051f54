import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { EdgeKeyRecord } from "../../src/modules/api-keys/edge-store";
import { registerKey, verifyThroughWorker as verify } from "./keys";

/** The binding's own limit (wrangler.toml `[[ratelimits]]`): chunks of a key per minute. */
const BINDING_LIMIT = 60;

/** A free-tier key (60 requests a minute: every request is a chunk the binding is told of). */
async function freeKey() {
  const { key, hash } = await registerKey();
  const record = await env.KV.get<EdgeKeyRecord>(`apikey:${hash}`, "json");
  if (!record) throw new Error("registration published no edge record");
  return { key, keyId: record.key_id };
}

describe("the location-wide rate limit (the rate-limiting binding)", () => {
  it("refuses a key it has refused from the key's next request in this isolate, with Retry-After", async () => {
    for (let attempt = 0; attempt < 2; attempt++) {
      const { key, keyId } = await freeKey();
      const minute = Math.floor(Date.now() / 60_000);
      // Other isolates of the location used up the key's minute.
      for (let i = 0; i < BINDING_LIMIT; i++) await env.API_RATE_LIMITER.limit({ key: keyId });

      // This isolate has counted one request: answered at once, the binding told off the path.
      const first = await verify(key);
      expect(first.response.status).toBe(200);
      await first.done;
      const second = await verify(key);
      if (Math.floor(Date.now() / 60_000) !== minute) continue;
      expect(second.response.status).toBe(429);
      const body = (await second.response.json()) as { error: string };
      expect(body.error).toBe("rate_limited");
      expect(Number(second.response.headers.get("Retry-After"))).toBeGreaterThan(0);
      return;
    }
    throw new Error("two window boundaries in a row");
  });

  it("is not in the way of the request: a binding that hangs or fails lets the key through", async () => {
    const { key } = await freeKey();
    const hanging = { ...env, API_RATE_LIMITER: { limit: () => new Promise(() => {}) } } as unknown as Env;
    const hung = await verify(key, hanging);
    expect(hung.response.status).toBe(200);

    const failing = {
      ...env,
      API_RATE_LIMITER: { limit: () => Promise.reject(new Error("binding down")) },
    } as unknown as Env;
    for (let i = 0; i < 3; i++) {
      const answer = await verify(key, failing);
      expect(answer.response.status).toBe(200);
      await answer.done;
    }
  });
});
