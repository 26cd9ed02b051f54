import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { database } from "../../src/db/client";
import { sha256Hex } from "../../src/lib/crypto";
import { refreshTenantKeyRecords, regenerateKeys } from "../../src/modules/api-keys/api-keys.service";
import { ownerCaller, testContext } from "../context";
import { eventually } from "../eventually";
import { call, expectError, registerTeam, registerTenant } from "../harness";

const KEYS = "/api/v1/auth/tenants/api-keys/";
const VERIFY = "/api/v1/auth/tenants/verify/";

const verify = (key: string, via: "header" | "bearer" = "header") =>
  call(VERIFY, { headers: via === "header" ? { "X-API-Key": key } : { Authorization: `Bearer ${key}` } });

async function registerWithKeys() {
  const email = `keys${crypto.randomUUID().slice(0, 8)}@example.com`;
  const res = await call("/api/v1/auth/tenants/register/", {
    body: { company_name: "Keys Co", email, password: "CorrectHorse42battery" },
  });
  expect(res.status).toBe(201);
  return {
    tenantId: res.body.tenant.id as string,
    token: res.body.tokens.access as string,
    keys: res.body.api_keys as Record<"live_public" | "live_secret" | "test_public" | "test_secret", string>,
  };
}

describe("keys issued at registration", () => {
  it("are four, of the contract's format, shown in full once", async () => {
    const { keys } = await registerWithKeys();
    expect(keys.live_public).toMatch(/^pk_live_[0-9A-Za-z]{32}$/);
    expect(keys.live_secret).toMatch(/^sk_live_[0-9A-Za-z]{32}$/);
    expect(keys.test_public).toMatch(/^pk_test_[0-9A-Za-z]{32}$/);
    expect(keys.test_secret).toMatch(/^sk_test_[0-9A-Za-z]{32}$/);
  });

  it("store secret keys only as a SHA-256 hash and last 4 characters", async () => {
    const { tenantId, keys } = await registerWithKeys();
    const rows = await env.DB.prepare("SELECT * FROM api_keys WHERE tenant_id = ?").bind(tenantId).all();
    expect(rows.results).toHaveLength(4);
    const dump = JSON.stringify(rows.results);
    expect(dump).not.toContain(keys.live_secret);
    expect(dump).not.toContain(keys.test_secret);
    expect(dump).toContain(keys.live_public);
    const hashes = rows.results.map((row) => row.key_hash);
    expect(hashes).toContain(await sha256Hex(keys.live_secret));
    const audit = await env.DB.prepare("SELECT * FROM audit_log WHERE tenant_id = ?").bind(tenantId).all();
    expect(JSON.stringify(audit.results)).not.toContain(keys.live_secret);
    const edge = await env.KV.get(`apikey:${await sha256Hex(keys.live_secret)}`);
    expect(edge).not.toContain(keys.live_secret);
  });
});

describe("GET /api-keys/", () => {
  it("lists publishable keys in clear and secret keys masked, in the seed's shape", async () => {
    const { token, keys } = await registerWithKeys();
    const res = await call(KEYS, { token });
    expect(res.status).toBe(200);
    expect(res.body.warning).toMatch(/masked/);
    expect(res.body.keys.map((k: { type: string }) => k.type)).toEqual([
      "live_public",
      "live_secret",
      "test_public",
      "test_secret",
    ]);
    expect(res.body.keys[0]).toMatchObject({ key: keys.live_public, masked: false, status: "active" });
    expect(res.body.keys[1]).toMatchObject({
      key: `sk_live_****...${keys.live_secret.slice(-4)}`,
      masked: true,
    });
    expect(JSON.stringify(res.body)).not.toContain(keys.live_secret);
  });

  it("is open to owner, admin and developer, not billing", async () => {
    const team = await registerTeam();
    for (const role of ["owner", "admin", "developer"] as const) {
      expect((await call(KEYS, { token: team.tokens[role] })).status).toBe(200);
    }
    expectError(await call(KEYS, { token: team.tokens.billing }), 403, "forbidden");
    expectError(await call(KEYS), 401, "unauthenticated");
  });
});

describe("POST /verify/", () => {
  it("answers the key's tenant, mode and type, by header or bearer, GET or POST", async () => {
    const { tenantId, keys } = await registerWithKeys();
    const live = await verify(keys.live_secret);
    expect(live.status).toBe(200);
    expect(live.body).toEqual({
      valid: true,
      tenant: { id: tenantId, company_name: "Keys Co" },
      mode: "live",
      livemode: true,
      key_type: "secret",
    });
    const test = await verify(keys.test_public, "bearer");
    expect(test.body).toMatchObject({ mode: "test", livemode: false, key_type: "publishable" });
    const post = await call(VERIFY, { method: "POST", headers: { "X-API-Key": keys.test_secret } });
    expect(post.body).toMatchObject({ mode: "test", key_type: "secret" });
  });

  it.each([
    ["no key", {}],
    ["empty X-API-Key", { "X-API-Key": "" }],
    ["wrong prefix", { "X-API-Key": "xk_live_abcdefghijklmnopqrstuvwxyz012345" }],
    ["wrong length", { "X-API-Key": "sk_live_abc" }],
    ["non-base62", { "X-API-Key": "sk_live_abcdefghijklmnopqrstuvwxyz01234!" }],
    ["unknown but well-formed", { "X-API-Key": "sk_live_abcdefghijklmnopqrstuvwxyz012345" }],
    ["huge header", { "X-API-Key": `sk_live_${"A".repeat(16_000)}` }],
    ["a JWT where a key is expected", { Authorization: "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x" }],
  ])("answers 401 in the contract's shape for %s", async (_label, headers) => {
    const res = await call(VERIFY, { headers });
    expectError(res, 401, "unauthenticated");
  });
});

describe("POST /api-keys/regenerate/", () => {
  it("issues new keys; the old ones fail on the very next request; other modes are untouched", async () => {
    const { token, keys } = await registerWithKeys();
    expect((await verify(keys.test_secret)).status).toBe(200); // cached in this isolate now
    const res = await call(`${KEYS}regenerate/`, { token, body: { key_type: "test", confirm: true } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      message: "API keys regenerated successfully",
      old_keys_expire_at: null,
    });
    expect(Object.keys(res.body.keys).sort()).toEqual(["test_public", "test_secret"]);
    expect(res.body.keys.test_secret).toMatch(/^sk_test_/);

    expectError(await verify(keys.test_secret), 401, "unauthenticated");
    expectError(await verify(keys.test_public), 401, "unauthenticated");
    expect((await verify(res.body.keys.test_secret)).status).toBe(200);
    expect((await verify(keys.live_secret)).status).toBe(200);
  });

  it("accepts `environment` as an alias and needs confirm: true", async () => {
    const { token } = await registerWithKeys();
    const missing = await call(`${KEYS}regenerate/`, { token, body: { environment: "live" } });
    expect(expectError(missing, 400, "validation_error").details).toEqual([
      expect.objectContaining({ field: "confirm" }),
    ]);
    expectError(
      await call(`${KEYS}regenerate/`, { token, body: { confirm: true } }),
      400,
      "validation_error",
    );
    expectError(
      await call(`${KEYS}regenerate/`, {
        token,
        body: { key_type: "live", environment: "test", confirm: true },
      }),
      400,
      "validation_error",
    );
    const ok = await call(`${KEYS}regenerate/`, { token, body: { environment: "all", confirm: true } });
    expect(Object.keys(ok.body.keys)).toHaveLength(4);
  });

  it("with expire_old_in keeps the old keys alive until then (rollover)", async () => {
    const { token, keys } = await registerWithKeys();
    const res = await call(`${KEYS}regenerate/`, {
      token,
      body: { key_type: "live", confirm: true, expire_old_in: "1h" },
    });
    expect(res.status).toBe(200);
    const expiresAt = Date.parse(res.body.old_keys_expire_at);
    expect(expiresAt - Date.now()).toBeGreaterThan(59 * 60_000);
    expect((await verify(keys.live_secret)).status).toBe(200);
    expect((await verify(res.body.keys.live_secret)).status).toBe(200);

    const listed = await call(KEYS, { token });
    const liveSecrets = listed.body.keys.filter((k: { type: string }) => k.type === "live_secret");
    expect(liveSecrets.map((k: { status: string }) => k.status)).toEqual(["active", "expiring"]);
    expect(liveSecrets[1].expires_at).toBe(res.body.old_keys_expire_at);
  });

  it("is for owners and admins only", async () => {
    const team = await registerTeam();
    for (const role of ["developer", "billing"] as const) {
      expectError(
        await call(`${KEYS}regenerate/`, {
          token: team.tokens[role],
          body: { key_type: "test", confirm: true },
        }),
        403,
        "forbidden",
      );
    }
    const admin = await call(`${KEYS}regenerate/`, {
      token: team.tokens.admin,
      body: { key_type: "test", confirm: true },
    });
    expect(admin.status).toBe(200);
  });
});

describe("revoke", () => {
  it("revokes at once (POST), answers the seed's shape, and audits with the reason", async () => {
    const { tenantId, token, keys } = await registerWithKeys();
    expect((await verify(keys.live_secret)).status).toBe(200);
    const res = await call(`${KEYS}revoke/`, {
      token,
      body: { key_type: "all", reason: "Security incident - suspected key leak", confirm: true },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      message: "API keys revoked successfully",
      revoked_keys: ["live_public", "live_secret", "test_public", "test_secret"],
      reason: "Security incident - suspected key leak",
    });
    for (const key of Object.values(keys)) expectError(await verify(key), 401, "unauthenticated");

    const audit = await env.DB.prepare(
      "SELECT reason, actor_type FROM audit_log WHERE tenant_id = ? AND action = ?",
    )
      .bind(tenantId, "api_keys.revoked")
      .first<{ reason: string; actor_type: string }>();
    expect(audit).toEqual({ reason: "Security incident - suspected key leak", actor_type: "user" });

    // Using a revoked key is audited too (off the response path).
    await eventually(async () => {
      const used = await env.DB.prepare(
        "SELECT count(*) AS n FROM audit_log WHERE tenant_id = ? AND action = ?",
      )
        .bind(tenantId, "api_key.used_after_revoke")
        .first<{ n: number }>();
      expect(used?.n).toBeGreaterThan(0);
    });
  });

  it("works with DELETE too, and refuses when nothing is left to revoke", async () => {
    const { token, keys } = await registerWithKeys();
    const res = await call(`${KEYS}revoke/`, {
      token,
      method: "DELETE",
      body: { environment: "test", reason: "rotating", confirm: true },
    });
    expect(res.body.revoked_keys).toEqual(["test_public", "test_secret"]);
    expect((await verify(keys.live_secret)).status).toBe(200);
    const again = await call(`${KEYS}revoke/`, {
      token,
      method: "DELETE",
      body: { environment: "test", reason: "rotating", confirm: true },
    });
    expectError(again, 409, "conflict");
  });

  it("needs a reason and confirm, and an owner or admin", async () => {
    const team = await registerTeam();
    expectError(
      await call(`${KEYS}revoke/`, { token: team.tokens.owner, body: { key_type: "all", confirm: true } }),
      400,
      "validation_error",
    );
    expectError(
      await call(`${KEYS}revoke/`, {
        token: team.tokens.developer,
        body: { key_type: "all", reason: "x", confirm: true },
      }),
      403,
      "forbidden",
    );
  });

  it("one tenant's regenerate or revoke never touches another tenant's keys", async () => {
    const a = await registerWithKeys();
    const b = await registerWithKeys();
    await call(`${KEYS}revoke/`, { token: a.token, body: { key_type: "all", reason: "x", confirm: true } });
    await call(`${KEYS}regenerate/`, { token: a.token, body: { key_type: "all", confirm: true } });
    const res = await verify(b.keys.live_secret);
    expect(res.status).toBe(200);
    expect(res.body.tenant.id).toBe(b.tenantId);
    const listed = await call(KEYS, { token: b.token });
    expect(listed.body.keys[0].key).toBe(b.keys.live_public);
  });
});

describe("concurrent regenerates and revokes", () => {
  const keyRow = async (key: string) =>
    env.DB.prepare("SELECT status, revoked_reason, expires_at FROM api_keys WHERE key_hash = ?")
      .bind(await sha256Hex(key))
      .first<{ status: string; revoked_reason: string | null; expires_at: number | null }>();

  it("a rollover regenerate whose batch comes after a revoke answers 409 and leaves the key revoked", async () => {
    const tenant = await registerTenant();
    const caller = ownerCaller(tenant);
    const real = database(env.DB);
    // The regenerate has read the live keys; the owner's revoke commits before its batch runs.
    const db = new Proxy(real, {
      get(target, name) {
        const value = Reflect.get(target, name, target);
        if (name !== "batch") return typeof value === "function" ? value.bind(target) : value;
        return async (statements: Parameters<typeof real.batch>[0]) => {
          const revoked = await call(`${KEYS}revoke/`, {
            token: tenant.owner.access,
            body: { key_type: "live", reason: "leak", confirm: true },
          });
          expect(revoked.status).toBe(200);
          return target.batch(statements);
        };
      },
    });
    await expect(
      regenerateKeys(testContext({ db, caller }), { scope: "live", expireOldIn: "7d" }),
    ).rejects.toMatchObject({ status: 409, code: "conflict" });

    expect(await keyRow(tenant.keys.live_secret)).toEqual({
      status: "revoked",
      revoked_reason: "leak",
      expires_at: null,
    });
    expectError(await verify(tenant.keys.live_secret), 401, "unauthenticated");
    const regenerated = await env.DB.prepare(
      "SELECT count(*) AS n FROM audit_log WHERE tenant_id = ? AND action = 'api_keys.regenerated'",
    )
      .bind(tenant.tenantId)
      .first<{ n: number }>();
    expect(regenerated?.n).toBe(0);
  });

  it("a revoke and a rollover regenerate sent together never leave the revoked key usable", async () => {
    for (let round = 0; round < 5; round++) {
      const tenant = await registerTenant();
      const [revoke, regenerate] = await Promise.all([
        call(`${KEYS}revoke/`, {
          token: tenant.owner.access,
          body: { key_type: "live", reason: "leak", confirm: true },
        }),
        call(`${KEYS}regenerate/`, {
          token: tenant.owner.access,
          body: { key_type: "live", confirm: true, expire_old_in: "7d" },
        }),
      ]);
      expect(revoke.status, JSON.stringify(revoke.body)).toBe(200);
      expect([200, 409]).toContain(regenerate.status);
      expect(await keyRow(tenant.keys.live_secret)).toMatchObject({
        status: "revoked",
        revoked_reason: "leak",
      });
      expectError(await verify(tenant.keys.live_secret), 401, "unauthenticated");
    }
  });

  it("of twenty regenerates at once one wins; the others answer 409 and change nothing", async () => {
    const tenant = await registerTenant();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        call(`${KEYS}regenerate/`, { token: tenant.owner.access, body: { key_type: "test", confirm: true } }),
      ),
    );
    const won = answers.filter((answer) => answer.status === 200);
    expect(won).toHaveLength(1);
    for (const lost of answers.filter((answer) => answer.status !== 200)) expectError(lost, 409, "conflict");

    expect((await verify(won[0]?.body.keys.test_secret)).status).toBe(200);
    expectError(await verify(tenant.keys.test_secret), 401, "unauthenticated");
    const rows = await env.DB.prepare(
      "SELECT count(*) AS n FROM api_keys WHERE tenant_id = ? AND mode = 'test' AND status = 'active'",
    )
      .bind(tenant.tenantId)
      .first<{ n: number }>();
    expect(rows?.n).toBe(2);
    const audited = await env.DB.prepare(
      "SELECT count(*) AS n FROM audit_log WHERE tenant_id = ? AND action = 'api_keys.regenerated'",
    )
      .bind(tenant.tenantId)
      .first<{ n: number }>();
    expect(audited?.n).toBe(1);
  });

  it("of ten revokes at once one revokes and audits; the others answer 409", async () => {
    const tenant = await registerTenant();
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        call(`${KEYS}revoke/`, {
          token: tenant.owner.access,
          body: { key_type: "live", reason: "leak", confirm: true },
        }),
      ),
    );
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(1);
    for (const lost of answers.filter((answer) => answer.status !== 200)) expectError(lost, 409, "conflict");
    const audited = await env.DB.prepare(
      "SELECT count(*) AS n FROM audit_log WHERE tenant_id = ? AND action = 'api_keys.revoked'",
    )
      .bind(tenant.tenantId)
      .first<{ n: number }>();
    expect(audited?.n).toBe(1);
  });
});

describe("suspended tenants and rate limits", () => {
  it("a suspended tenant's keys get 402 tenant_suspended", async () => {
    const { tenantId, keys } = await registerWithKeys();
    expect((await verify(keys.test_secret)).status).toBe(200);
    await env.DB.prepare("UPDATE tenants SET status = 'suspended' WHERE id = ?").bind(tenantId).run();
    await refreshTenantKeyRecords(testContext(), tenantId);
    expectError(await verify(keys.test_secret), 402, "tenant_suspended");
    const edge = await env.KV.get<{ tenant_status: string }>(
      `apikey:${await sha256Hex(keys.live_secret)}`,
      "json",
    );
    expect(edge?.tenant_status).toBe("suspended");
  });

  it("sends RateLimit headers and answers 429 with Retry-After past the tier's limit", async () => {
    for (let attempt = 0; attempt < 2; attempt++) {
      const { keys } = await registerWithKeys();
      const minute = Math.floor(Date.now() / 60_000);
      const first = await verify(keys.live_secret);
      expect(first.headers.get("RateLimit-Limit")).toBe("60");
      expect(first.headers.get("RateLimit-Remaining")).toBe("59");
      expect(Number(first.headers.get("RateLimit-Reset"))).toBeGreaterThan(0);
      let last = first;
      for (let i = 0; i < 60; i++) last = await verify(keys.live_secret);
      // A window boundary in the middle resets the count: try once more with a fresh key.
      if (Math.floor(Date.now() / 60_000) !== minute) continue;
      expectError(last, 429, "rate_limited");
      expect(last.headers.get("RateLimit-Remaining")).toBe("0");
      expect(Number(last.headers.get("Retry-After"))).toBeGreaterThan(0);
      return;
    }
    throw new Error("two window boundaries in a row");
  });
});

// D1 binds at most 100 parameters a statement; a tenant's usable keys add up over rollovers.
describe("keys piled up by rollovers", () => {
  it("twelve rollovers of every key type within the window, then a revoke of all 52: each 200", async () => {
    const tenant = await registerTenant();
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await call(`${KEYS}regenerate/`, {
        token: tenant.owner.access,
        body: { key_type: "all", confirm: true, expire_old_in: "7d" },
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual(Array(12).fill(200));
    const listed = await call(KEYS, { token: tenant.owner.access });
    expect(listed.body.keys).toHaveLength(52);
    const revoked = await call(`${KEYS}revoke/`, {
      token: tenant.owner.access,
      body: { key_type: "all", reason: "leaked", confirm: true },
    });
    expect(revoked.status, JSON.stringify(revoked.body)).toBe(200);
    const verified = await call("/api/v1/auth/tenants/verify/", {
      headers: { "X-API-Key": tenant.keys.live_secret },
    });
    expect(verified.status).toBe(401);
  });
});
