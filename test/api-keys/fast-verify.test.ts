// `GET .../verify/` is answered by the Worker's fast path (src/modules/api-keys/fast-verify.ts)
// before the app: these tests send the same requests to it and to the full app (the route with
// its middleware stack) and require the same status, the same headers and byte-identical bodies,
// for the answer and for every error.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import worker from "../../src/index";
import { refreshTenantKeyRecords } from "../../src/modules/api-keys/api-keys.service";
import { fastVerify } from "../../src/modules/api-keys/fast-verify";
import { testContext } from "../context";
import { call, unique } from "../harness";

const VERIFY = "/api/v1/auth/tenants/verify/";
const app = createApp();

type Keys = Record<"live_public" | "live_secret" | "test_public" | "test_secret", string>;

async function registerWithKeys() {
  const res = await call("/api/v1/auth/tenants/register/", {
    body: {
      company_name: "Fast Co",
      email: `${unique("fast")}@example.com`,
      password: "CorrectHorse42battery",
    },
  });
  expect(res.status).toBe(201);
  return {
    tenantId: res.body.tenant.id as string,
    token: res.body.tokens.access as string,
    keys: res.body.api_keys as Keys,
  };
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

async function answer(
  handler: "fast" | "app",
  path: string,
  headers: Record<string, string>,
): Promise<Answer> {
  const request: Request<unknown, IncomingRequestCfProperties> = new Request(`http://api.test${path}`, {
    headers,
  });
  const execution = createExecutionContext();
  if (handler === "fast") expect(fastVerify(request, env, execution)).not.toBeNull();
  const response =
    handler === "fast"
      ? await worker.fetch(request, env, execution)
      : await app.fetch(request, env, execution);
  const body = await response.text();
  await waitOnExecutionContext(execution);
  return { status: response.status, headers: Object.fromEntries(response.headers), body };
}

/**
 * Both paths answer the same request (with one request id, so bodies can be compared byte for
 * byte). Both count against the key's rate limit, the app's request second: its
 * `RateLimit-Remaining` is one lower, or both are 0; and its `RateLimit-Reset` (whole seconds
 * left in the window) is the same or, when a second boundary fell between the two, one lower.
 */
async function expectSameAnswer(path: string, headers: Record<string, string>) {
  const withId = { "X-Request-Id": unique("req"), ...headers };
  const fast = await answer("fast", path, withId);
  const full = await answer("app", path, withId);
  expect(fast.status).toBe(full.status);
  expect(fast.body).toBe(full.body);
  const remaining = (a: Answer) => a.headers["ratelimit-remaining"];
  if (remaining(fast) !== undefined && remaining(full) !== "0")
    expect(Number(remaining(fast)) - 1).toBe(Number(remaining(full)));
  const reset = (a: Answer) => a.headers["ratelimit-reset"];
  if (reset(fast) !== undefined) expect([0, 1]).toContain(Number(reset(fast)) - Number(reset(full)));
  const { "ratelimit-remaining": _fast, "ratelimit-reset": _fastReset, ...fastRest } = fast.headers;
  const { "ratelimit-remaining": _full, "ratelimit-reset": _fullReset, ...fullRest } = full.headers;
  expect(Object.hasOwn(full.headers, "ratelimit-reset")).toBe(Object.hasOwn(fast.headers, "ratelimit-reset"));
  expect(fastRest).toEqual(fullRest);
  return fast;
}

describe("the verify fast path answers as the app does", () => {
  it("for valid keys of every kind and mode, with and without the trailing slash", async () => {
    const { keys } = await registerWithKeys();
    const ok = await expectSameAnswer(VERIFY, { "X-API-Key": keys.live_secret });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ valid: true, mode: "live", key_type: "secret" });
    await expectSameAnswer("/api/v1/auth/tenants/verify", { "X-API-Key": keys.test_secret });
    await expectSameAnswer(`${VERIFY}?probe=1`, { Authorization: `Bearer ${keys.test_public}` });
    await expectSameAnswer(VERIFY, { "X-API-Key": `  ${keys.live_public} ` });
  });

  it("for missing, malformed, unknown and revoked keys", async () => {
    const { token, keys } = await registerWithKeys();
    expect((await expectSameAnswer(VERIFY, {})).status).toBe(401);
    expect((await expectSameAnswer(VERIFY, { "X-API-Key": "sk_live_short" })).status).toBe(401);
    expect((await expectSameAnswer(VERIFY, { Authorization: "Bearer not-a-key" })).status).toBe(401);
    const unknown = `sk_live_${"A".repeat(32)}`;
    expect((await expectSameAnswer(VERIFY, { "X-API-Key": unknown })).status).toBe(401);
    const revoked = await call("/api/v1/auth/tenants/api-keys/revoke/", {
      token,
      body: { key_type: "all", reason: "rotation", confirm: true },
    });
    expect(revoked.status).toBe(200);
    const answer = await expectSameAnswer(VERIFY, { "X-API-Key": keys.live_secret });
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body).message).toMatch(/revoked/);
  });

  it("for a suspended tenant (402) and past the rate limit (429 with Retry-After)", async () => {
    const suspended = await registerWithKeys();
    await env.DB.prepare("UPDATE tenants SET status = 'suspended' WHERE id = ?")
      .bind(suspended.tenantId)
      .run();
    await refreshTenantKeyRecords(testContext(), suspended.tenantId);
    expect((await expectSameAnswer(VERIFY, { "X-API-Key": suspended.keys.test_secret })).status).toBe(402);

    for (let attempt = 0; attempt < 2; attempt++) {
      const { keys } = await registerWithKeys();
      const before = await answer("fast", VERIFY, { "X-API-Key": keys.test_secret });
      const minute = Math.floor(Date.now() / 60_000);
      // Past the free tier's 60 requests a minute, then one more request on each path: both 429.
      let status = 200;
      for (let i = 0; i < 70 && status === 200; i++)
        status = (await answer("fast", VERIFY, { "X-API-Key": keys.live_secret })).status;
      const refused = await expectSameAnswer(VERIFY, { "X-API-Key": keys.live_secret });
      if (Math.floor(Date.now() / 60_000) !== minute) continue;
      expect(status).toBe(429);
      expect(refused.status).toBe(429);
      expect(refused.headers["retry-after"]).toBeDefined();
      expect(JSON.parse(refused.body).error).toBe("rate_limited");
      // The answers share one set of constant headers: the refusal's own ones stay its own.
      const next = await answer("fast", VERIFY, { "X-API-Key": keys.test_secret });
      expect(next.status).toBe(200);
      expect(Object.keys(next.headers)).toEqual(Object.keys(before.headers));
      expect(next.headers["retry-after"]).toBeUndefined();
      return;
    }
    throw new Error("two window boundaries in a row");
  });

  it("a request id it generates has the app's form; other methods and CORS requests go to the app", async () => {
    const { keys } = await registerWithKeys();
    const fast = await answer("fast", VERIFY, { "X-API-Key": keys.live_secret });
    expect(fast.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    const invalidId = await answer("fast", VERIFY, { "X-API-Key": keys.live_secret, "X-Request-Id": "a b" });
    expect(invalidId.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);

    const execution = createExecutionContext();
    const post = new Request(`http://api.test${VERIFY}`, {
      method: "POST",
      headers: { "X-API-Key": keys.live_secret },
    });
    expect(fastVerify(post, env, execution)).toBeNull();
    const cors = new Request(`http://api.test${VERIFY}`, {
      headers: { "X-API-Key": keys.live_secret, Origin: "http://localhost:3000" },
    });
    expect(fastVerify(cors, env, execution)).toBeNull();
    const elsewhere = new Request(`http://api.test/prefix${VERIFY}`, {
      headers: { "X-API-Key": keys.live_secret },
    });
    expect(fastVerify(elsewhere, env, execution)).toBeNull();
  });

  it("answers a key it has seen, whose record it holds, without waiting on anything", async () => {
    const { tenantId, keys } = await registerWithKeys();
    // Pro: 6,000 a minute, reported to the location-wide limiter once per 100 requests (on the
    // free tier every request is reported, and that call is awaited).
    await env.DB.prepare("UPDATE tenants SET subscription_tier = 'pro' WHERE id = ?").bind(tenantId).run();
    await refreshTenantKeyRecords(testContext(), tenantId);
    const verify = () =>
      fastVerify(
        new Request(`http://api.test${VERIFY}`, { headers: { "X-API-Key": keys.test_secret } }),
        env,
        createExecutionContext(),
      );
    const first = verify();
    // The first sight of a key hashes it (SubtleCrypto): a promise.
    expect(first).toBeInstanceOf(Promise);
    expect((await first)?.status).toBe(200);
    const warm = verify();
    expect(warm).toBeInstanceOf(Response);
    const body = await (warm as Response).json<{ valid: boolean; key_type: string }>();
    expect(body).toMatchObject({ valid: true, key_type: "secret" });
    expect((warm as Response).headers.get("RateLimit-Limit")).toBe("6000");
  });
});
