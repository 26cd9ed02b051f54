import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type EdgeKeyRecord, publishKeyRecords } from "../../src/modules/api-keys/edge-store";
import { chunkSize, RATE_LIMIT_CHUNKS_PER_WINDOW } from "../../src/modules/api-keys/rate-limit";
import { registerKey, verifyThroughWorker as verify } from "./keys";

/** A new free-tier key, its id and hash, its edge record, and how many requests one chunk is. */
async function freeKey() {
  const { key, hash } = await registerKey();
  const record = await env.KV.get<EdgeKeyRecord>(`apikey:${hash}`, "json");
  if (!record) throw new Error("registration published no edge record");
  return { key, hash, record, keyId: record.key_id, chunk: chunkSize(record.rate_limit) };
}

/**
 * Runs `attempt` again (once) when a minute boundary passed while it ran: the isolate's counts
 * and the binding's restart there, so what it saw proves nothing either way.
 */
async function inOneWindow(attempt: () => Promise<void>) {
  for (let tries = 0; tries < 2; tries++) {
    const minute = Math.floor(Date.now() / 60_000);
    const failure = await attempt().then(
      () => null,
      (error: unknown) => ({ error }),
    );
    if (Math.floor(Date.now() / 60_000) !== minute) continue;
    if (failure) throw failure.error;
    return;
  }
  throw new Error("two window boundaries in a row");
}

/** The bindings with a rate limiter whose every call answers `limit()`, and its call count. */
function bindingThat(limit: () => Promise<unknown>) {
  let calls = 0;
  const binding = {
    limit: () => {
      calls++;
      return limit();
    },
  };
  return { env: { ...env, API_RATE_LIMITER: binding } as unknown as Env, calls: () => calls };
}

describe("the location-wide rate limit (the rate-limiting binding)", () => {
  it("is configured with the chunks the code reports (wrangler.toml's limit is RATE_LIMIT_CHUNKS_PER_WINDOW)", async () => {
    await inOneWindow(async () => {
      const key = `config-check-${crypto.randomUUID()}`;
      const answers: boolean[] = [];
      for (let i = 0; i <= RATE_LIMIT_CHUNKS_PER_WINDOW; i++)
        answers.push((await env.API_RATE_LIMITER.limit({ key })).success);
      expect(answers.filter(Boolean)).toHaveLength(RATE_LIMIT_CHUNKS_PER_WINDOW);
      expect(answers.at(-1)).toBe(false);
    });
  });

  it("refuses a key it has refused from the key's next request in this isolate, with Retry-After", async () => {
    await inOneWindow(async () => {
      const { key, keyId, chunk } = await freeKey();
      // Other isolates of the location used up the key's minute.
      for (let i = 0; i < RATE_LIMIT_CHUNKS_PER_WINDOW; i++) await env.API_RATE_LIMITER.limit({ key: keyId });

      // This isolate answers the key at once until it completes a chunk (within its first
      // `chunk` requests: the count starts at a random point of one), the binding told off the
      // path; the binding's refusal blocks the key from the next request on.
      const statuses: number[] = [];
      let refused: Response | undefined;
      for (let i = 0; i <= chunk && !refused; i++) {
        const answer = await verify(key);
        statuses.push(answer.status);
        if (answer.status === 429) refused = answer.response;
        await answer.done;
      }
      expect(statuses[0]).toBe(200);
      expect(statuses.slice(0, -1).every((status) => status === 200)).toBe(true);
      if (!refused) throw new Error(`no refusal within ${chunk + 1} requests: ${statuses.join(", ")}`);
      const body = (await refused.json()) as { error: string };
      expect(body.error).toBe("rate_limited");
      expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
    });
  });

  it("lets one isolate serve a whole limit that is not a multiple of the binding's chunks (a custom plan's 30)", async () => {
    await inOneWindow(async () => {
      const { key, hash, record } = await freeKey();
      // As a plan change republishes the tenant's keys (KV and this isolate's cache).
      await publishKeyRecords(env.KV, new Map([[hash, { ...record, rate_limit: 30 }]]), Date.now());
      const statuses: number[] = [];
      let last: Response | undefined;
      for (let i = 0; i < 31; i++) {
        const answer = await verify(key);
        statuses.push(answer.status);
        last = answer.response;
        await answer.done;
      }
      // Chunks of 2 (rounded up): at most 15 reports, under the binding's 20. Rounded down
      // (chunks of 1), the binding refused the key after 20 reports, at about its 22nd request.
      expect(statuses.slice(0, 30)).toEqual(Array(30).fill(200));
      expect(statuses[30]).toBe(429);
      expect(last?.headers.get("RateLimit-Limit")).toBe("30");
    });
  });

  it("is not in the way of the request: a binding that hangs or fails lets the key through", async () => {
    await inOneWindow(async () => {
      const { key, chunk } = await freeKey();
      // A chunk's worth of requests, so one of them reports (and its report never settles).
      const hanging = bindingThat(() => new Promise(() => {}));
      for (let i = 0; i < chunk; i++) expect((await verify(key, hanging.env)).response.status).toBe(200);
      expect(hanging.calls()).toBe(1);

      const failing = bindingThat(() => Promise.reject(new Error("binding down")));
      for (let i = 0; i < 2 * chunk; i++) {
        const answer = await verify(key, failing.env);
        expect(answer.response.status).toBe(200);
        await answer.done;
      }
      expect(failing.calls()).toBe(2);
    });
  });
});
