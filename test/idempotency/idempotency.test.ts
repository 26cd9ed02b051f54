import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { asKey, type BillingTenant, billingTenant } from "../billing";
import { call, expectError, PASSWORD, registerTenant, unique } from "../harness";
import { failNext, stripeRequests } from "../stripe-double";

const CUSTOMERS = "/api/v1/auth/customers/";

let tenant: BillingTenant;
beforeAll(async () => {
  tenant = await billingTenant();
});

/** The key's lock in tests (IDEMPOTENCY_LOCK_SECONDS in vitest.config.ts): 3 s, not 60. */
const LOCK_MS = 3_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const post = (key: string, body: Record<string, unknown>, as = tenant) =>
  asKey(as.keys.test_secret, CUSTOMERS, { body, headers: { "Idempotency-Key": key } });

async function stripeCustomerCreates(email: string) {
  return (await stripeRequests({ path: "/v1/customers" })).filter(
    (r) => r.method === "POST" && r.params.email === email,
  );
}

describe("Idempotency-Key", () => {
  it("replays the first answer for the same key and request, without calling Stripe again", async () => {
    const key = unique("idem-");
    const email = `${unique("i")}@example.com`;
    const first = await post(key, { email });
    expect(first.status).toBe(201);
    const again = await post(key, { email });
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(again.headers.get("X-Request-Id")).not.toBe(first.headers.get("X-Request-Id"));
    expect(await stripeCustomerCreates(email)).toHaveLength(1);
  });

  it("the same key with another request is 409 idempotency_key_reused", async () => {
    const key = unique("idem-");
    await post(key, { email: `${unique("a")}@example.com` });
    expectError(await post(key, { email: `${unique("b")}@example.com` }), 409, "idempotency_key_reused");
    const otherPath = await asKey(tenant.keys.test_secret, "/api/v1/auth/checkout/sessions/", {
      body: { email: "x" },
      headers: { "Idempotency-Key": key },
    });
    expectError(otherPath, 409, "idempotency_key_reused");
  });

  it("20 parallel requests with one key make one Stripe call; the others wait (409 in use) or replay", async () => {
    const key = unique("idem-");
    const email = `${unique("p")}@example.com`;
    const answers = await Promise.all(Array.from({ length: 20 }, () => post(key, { email })));
    const created = answers.filter((res) => res.status === 201);
    const busy = answers.filter((res) => res.status === 409);
    expect(created.length + busy.length).toBe(20);
    expect(new Set(created.map((res) => res.body.id)).size).toBe(1);
    for (const res of busy) {
      expectError(res, 409, "idempotency_key_in_use");
      expect(res.headers.get("Retry-After")).toBe("1");
    }
    expect(await stripeCustomerCreates(email)).toHaveLength(1);
    const later = await post(key, { email });
    expect(later.body.id).toBe(created[0]?.body.id);
  });

  it("an answer that never started (400) is not kept: the key works for the corrected request", async () => {
    const key = unique("idem-");
    expectError(await post(key, { email: "not-an-email" }), 400, "validation_error");
    const fixed = await post(key, { email: `${unique("f")}@example.com` });
    expect(fixed.status).toBe(201);
  });

  it("keys are the tenant's own: another tenant's same key runs its own request", async () => {
    const key = unique("idem-");
    const other = await billingTenant();
    const mine = await post(key, { email: `${unique("m")}@example.com` });
    const theirs = await post(key, { email: `${unique("t")}@example.com` }, other);
    expect(theirs.status).toBe(201);
    expect(theirs.body.id).not.toBe(mine.body.id);
  });

  it("applies to users' POSTs too: the same user's retry replays, and a malformed key is refused", async () => {
    const key = unique("idem-");
    const body = { email: `${unique("u")}@example.com` };
    const asOwner = () =>
      call(CUSTOMERS, { token: tenant.tokens.owner, body, headers: { "Idempotency-Key": key } });
    const first = await asOwner();
    const again = await asOwner();
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(again.body.id).toBe(first.body.id);
    expectError(await post("bad key with spaces", body), 400, "validation_error");
  });

  // The replay comes before the role check and the service's mode check: a stored answer must
  // not reach a caller those checks refuse.
  it("a live key sending a test key's key and request is refused, not answered the test customer", async () => {
    const key = unique("idem-");
    const body = { email: `${unique("m")}@example.com` };
    const first = await post(key, body);
    expect(first.status).toBe(201);
    expect(first.body.livemode).toBe(false);
    const live = await asKey(tenant.keys.live_secret, CUSTOMERS, {
      body,
      headers: { "Idempotency-Key": key },
    });
    expectError(live, 409, "idempotency_key_reused");
    expect(live.headers.get("Idempotent-Replayed")).toBeNull();
  });

  it("another user (a developer after the owner, an admin after the owner) is refused the owner's answer", async () => {
    const key = unique("idem-");
    const body = { email: `${unique("d")}@example.com` };
    const first = await call(CUSTOMERS, {
      token: tenant.tokens.owner,
      body,
      headers: { "Idempotency-Key": key },
    });
    expect(first.status).toBe(201);
    for (const token of [tenant.tokens.developer, tenant.tokens.admin]) {
      const other = await call(CUSTOMERS, { token, body, headers: { "Idempotency-Key": key } });
      expectError(other, 409, "idempotency_key_reused");
    }
  });

  it("a user whose role changed since is another caller: the admin, made billing, is refused the admin's answer", async () => {
    const own = await billingTenant();
    const key = unique("idem-");
    const body = { email: `${unique("r")}@example.com` };
    const asAdmin = () =>
      call(CUSTOMERS, { token: own.tokens.admin, body, headers: { "Idempotency-Key": key } });
    expect((await asAdmin()).status).toBe(201);
    const changed = await call(`/api/v1/auth/tenants/users/${own.userIds.admin}/`, {
      token: own.tokens.owner,
      method: "PATCH",
      body: { role: "billing" },
    });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expectError(await asAdmin(), 409, "idempotency_key_reused");
  });

  // D1 keeps API keys and setup tokens only as hashes: an answer that shows one is not stored,
  // and a retry with its key is refused rather than run again (it would make other secrets).
  it("an answer that shows a secret once (new API keys, a setup token) is not stored, and its retry is refused", async () => {
    const own = await registerTenant();
    const keyOf = (label: string) => unique(`idem-${label}-`);
    const regenerateKey = keyOf("keys");
    const regenerate = () =>
      call("/api/v1/auth/tenants/api-keys/regenerate/", {
        token: own.owner.access,
        body: { key_type: "live", confirm: true },
        headers: { "Idempotency-Key": regenerateKey },
      });
    const first = await regenerate();
    expect(first.status).toBe(200);
    expect(first.headers.get("Cache-Control")).toBe("no-store");
    const secret = first.body.keys.live_secret as string;
    const inviteKey = keyOf("invite");
    const invited = await call("/api/v1/auth/tenants/users/", {
      token: own.owner.access,
      body: { email: `${unique("inv")}@example.com`, role: "developer" },
      headers: { "Idempotency-Key": inviteKey },
    });
    expect(invited.status).toBe(201);
    const setupToken = invited.body.setup_token as string;
    expect(setupToken).toMatch(/^ust_/);

    const stored = await env.DB.prepare(
      "SELECT response_status, response_body FROM idempotency_keys WHERE tenant_id = ? ORDER BY key",
    )
      .bind(own.tenantId)
      .all();
    expect(JSON.stringify(stored.results)).not.toContain(secret);
    expect(JSON.stringify(stored.results)).not.toContain(setupToken);
    expect(stored.results).toEqual([
      { response_status: 201, response_body: null },
      { response_status: 200, response_body: null },
    ]);

    const retried = await regenerate();
    expectError(retried, 409, "idempotency_answer_not_kept");
    // The retry made no keys: those of the first answer are the tenant's.
    const verified = await call("/api/v1/auth/tenants/verify/", { headers: { "X-API-Key": secret } });
    expect(verified.status).toBe(200);
  });

  it("a body with a password leaves no fast hash of it in D1: the fingerprint is keyed, and still matches the retry", async () => {
    const own = await registerTenant();
    const sha256 = async (text: string) =>
      [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)))]
        .map((byte) => byte.toString(16).padStart(2, "0"))
        .join("");
    const fingerprintOf = async (key: string) =>
      (
        await env.DB.prepare("SELECT fingerprint FROM idempotency_keys WHERE tenant_id = ? AND key = ?")
          .bind(own.tenantId, key)
          .first<{ fingerprint: string }>()
      )?.fingerprint;
    const requests = [
      {
        path: "/api/v1/auth/tenants/users",
        body: { email: `${unique("inv")}@example.com`, role: "developer", password: "Invitee42password" },
      },
      {
        path: "/api/v1/auth/tenants/change-password",
        body: { current_password: PASSWORD, new_password: "Changed42password" },
      },
    ];
    for (const { path, body } of requests) {
      const key = unique("idem-pw-");
      const send = () =>
        call(`${path}/`, { token: own.owner.access, body, headers: { "Idempotency-Key": key } });
      const first = await send();
      expect(first.status, JSON.stringify(first.body)).toBeLessThan(300);
      // Everything but the password is known to whoever reads the row (the user's id and role, the
      // path, the body's shape): an unkeyed SHA-256 of it is a guess-checker 100,000 times
      // cheaper than the PBKDF2 hash kept for the same password.
      const guessable = await sha256(`user ${own.owner.id} owner\nPOST ${path}\n${JSON.stringify(body)}`);
      expect(await fingerprintOf(key)).not.toBe(guessable);
      const again = await send();
      expect(again.headers.get("Idempotent-Replayed")).toBe("true");
      expect(again.status).toBe(first.status);
    }
  });

  it("tokens are answered with Cache-Control: no-store; other answers are stored and replayed as before", async () => {
    const own = await registerTenant();
    const login = await call("/api/v1/auth/tenants/login/", {
      body: { email: own.owner.email, password: PASSWORD },
    });
    expect(login.status).toBe(200);
    expect(login.headers.get("Cache-Control")).toBe("no-store");
    const created = await post(unique("idem-"), { email: `${unique("c")}@example.com` });
    expect(created.headers.get("Cache-Control")).toBeNull();
  });

  // A request slower than the lock (Stripe slow: 10 s a call, two retries) is not dead: it keeps
  // its key while it runs, so a client's retry meanwhile does not make a second customer.
  it("a first request that runs past the lock keeps its key: a retry meanwhile is 409 in use, Stripe is called once", {
    timeout: 20_000,
  }, async () => {
    const own = await billingTenant();
    const key = unique("idem-slow-");
    const email = `${unique("slow")}@example.com`;
    await failNext({
      method: "POST",
      path: "/v1/customers",
      account: own.account,
      delay_ms: LOCK_MS + 2_000,
    });
    const first = post(key, { email }, own);
    await sleep(LOCK_MS + 1_000);
    expectError(await post(key, { email }, own), 409, "idempotency_key_in_use");
    const answered = await first;
    expect(answered.status).toBe(201);
    expect(await stripeCustomerCreates(email)).toHaveLength(1);
    const replayed = await post(key, { email }, own);
    expect(replayed.body.id).toBe(answered.body.id);
  });

  // A request that did lose its key (its lock lapsed: the Worker stalled, its renewals failed)
  // must not write over, or free, the claim of the request that took the key over.
  it("a request that lost its key to a takeover neither stores its answer over the new holder's nor frees the key", {
    timeout: 20_000,
  }, async () => {
    const own = await billingTenant();
    const key = unique("idem-lost-");
    const email = `${unique("lost")}@example.com`;
    await failNext({ method: "POST", path: "/v1/customers", account: own.account, delay_ms: 2_500 });
    const first = post(key, { email }, own);
    const lapse = env.DB.prepare(
      "UPDATE idempotency_keys SET locked_until = 0 WHERE tenant_id = ? AND key = ? AND response_status IS NULL",
    ).bind(own.tenantId, key);
    let takeover = await post(key, { email }, own);
    for (let tries = 0; takeover.status !== 201 && tries < 50; tries++) {
      await lapse.run();
      takeover = await post(key, { email }, own);
    }
    expect(takeover.status).toBe(201);
    const late = await first;
    expect(late.status).toBe(201);
    expect(late.body.id).not.toBe(takeover.body.id);
    // The stored answer is the holder's: the late request did not replace it.
    const replayed = await post(key, { email }, own);
    expect(replayed.headers.get("Idempotent-Replayed")).toBe("true");
    expect(replayed.body.id).toBe(takeover.body.id);
  });
});
