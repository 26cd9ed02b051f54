import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { RequestContext } from "../../src/context";
import { database } from "../../src/db/client";
import { sha256Hex } from "../../src/lib/crypto";
import {
  refreshTenantKeyRecords,
  regenerateKeys,
  revokeKeys,
} from "../../src/modules/api-keys/api-keys.service";
import { SWEEP_DEBTS_AFTER_MS, sweepEdgeDebts } from "../../src/modules/api-keys/edge-debts";
import {
  cachedKeyRecord,
  type EdgeKeyRecord,
  ISOLATE_CACHE_MS,
  knownKeyHash,
  lookupKey,
  refreshDue,
  refreshKeyRecord,
} from "../../src/modules/api-keys/edge-store";
import { kvRefusingWrites, ownerCaller, testContext } from "../context";
import { call, PASSWORD, registerTenant, unique } from "../harness";
import { registerKey, verifyThroughWorker } from "./keys";

/** A KV that counts its reads, each answered after `gate` opens with what KV held when it was asked. */
function gatedKv(gate: Promise<void> = Promise.resolve()) {
  const kv = {
    reads: 0,
    get: async (name: string, type: "json") => {
      kv.reads++;
      const value = await env.KV.get(name, type);
      await gate;
      return value;
    },
    put: (name: string, value: string, options?: KVNamespacePutOptions) => env.KV.put(name, value, options),
  };
  return kv;
}

function opening() {
  let open = () => {};
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { gate, open };
}

describe("API-key edge records", () => {
  it("a KV fill built from an older D1 read never brings a revoked key back to life", async () => {
    const res = await call("/api/v1/auth/tenants/register/", {
      body: { company_name: `Keys ${unique()}`, email: `${unique("k")}@example.com`, password: PASSWORD },
    });
    const key = res.body.api_keys.live_secret as string;
    const hash = await sha256Hex(key);
    // The KV copy has expired: the next lookup reads D1 and fills KV off the response path.
    await env.KV.delete(`apikey:${hash}`);

    let openGate = () => {};
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    let puts = 0;
    // A KV whose first write is slow: it lands only after the revocation below.
    const slowKv = {
      get: (name: string, type: "json") => env.KV.get(name, type),
      put: async (name: string, value: string, options?: KVNamespacePutOptions) => {
        if (puts++ === 0) await gate;
        return env.KV.put(name, value, options);
      },
    } as unknown as KVNamespace;
    let fill: Promise<unknown> = Promise.resolve();
    // Later than this isolate's cached copy lives, so the lookup goes to KV (a miss) and D1.
    const later = Date.now() + ISOLATE_CACHE_MS + 1;
    const found = await lookupKey(
      { db: database(env.DB), kv: slowKv, now: later, waitUntil: (p) => (fill = p) },
      hash,
    );
    expect(found?.status).toBe("active");
    expect(puts).toBe(1);

    const revoked = await call("/api/v1/auth/tenants/api-keys/revoke/", {
      token: res.body.tokens.access,
      body: { key_type: "live", reason: "leaked", confirm: true },
    });
    expect(revoked.status).toBe(200);
    openGate();
    await fill;
    const record = await env.KV.get<EdgeKeyRecord>(`apikey:${hash}`, "json");
    expect(record?.status).toBe("revoked");
  });

  it("a tenant-wide re-publish read before a revocation never leaves the revoked key active in KV", async () => {
    const { key, hash, access, tenantId } = await registerKey();
    let revocation: Promise<unknown> | undefined;
    // The re-publish (suspension, reactivation, plan change) has read the keys from D1; the
    // revocation commits and publishes before the re-publish's KV writes land.
    const slowKv = {
      get: (name: string, type: "json") => env.KV.get(name, type),
      put: async (name: string, value: string, options?: KVNamespacePutOptions) => {
        revocation ??= call("/api/v1/auth/tenants/api-keys/revoke/", {
          token: access,
          body: { key_type: "live", reason: "leaked", confirm: true },
        }).then((res) => expect(res.status).toBe(200));
        await revocation;
        return env.KV.put(name, value, options);
      },
    } as unknown as KVNamespace;
    await refreshTenantKeyRecords(testContext({ kv: slowKv }), tenantId);

    const record = await env.KV.get<EdgeKeyRecord>(`apikey:${hash}`, "json");
    expect(record?.status).toBe("revoked");
    expect(cachedKeyRecord(hash, Date.now())?.status).toBe("revoked");
    // Another isolate, whose copy aged out, reads KV: the key is refused.
    vi.spyOn(Date, "now").mockReturnValue(Date.now() + ISOLATE_CACHE_MS + 1);
    const answer = await verifyThroughWorker(key);
    await answer.done;
    expect(answer.status).toBe(401);
    vi.restoreAllMocks();
  });

  it("this isolate never takes a revoked key for active again, whatever KV says later", async () => {
    const { key, hash, access } = await registerKey();
    expect((await call("/api/v1/auth/tenants/verify/", { headers: { "X-API-Key": key } })).status).toBe(200);
    const active = await env.KV.get<EdgeKeyRecord>(`apikey:${hash}`, "json");
    const revoked = await call("/api/v1/auth/tenants/api-keys/revoke/", {
      token: access,
      body: { key_type: "live", reason: "leaked", confirm: true },
    });
    expect(revoked.status).toBe(200);
    // A stale active record lands in KV after the revocation (KV keeps the last write).
    await env.KV.put(`apikey:${hash}`, JSON.stringify(active));
    const later = Date.now() + ISOLATE_CACHE_MS + 1;
    const found = await lookupKey(
      { db: database(env.DB), kv: env.KV, now: later, waitUntil: () => {} },
      hash,
    );
    expect(found?.status).toBe("revoked");
  });

  it("remembers the hash of a key that was found, and of no other", async () => {
    const res = await call("/api/v1/auth/tenants/register/", {
      body: { company_name: `Keys ${unique()}`, email: `${unique("k")}@example.com`, password: PASSWORD },
    });
    const key = res.body.api_keys.live_secret as string;
    const unknown = `sk_live_${"x".repeat(32)}`;
    const verify = (apiKey: string) =>
      call("/api/v1/auth/tenants/verify/", { headers: { "X-API-Key": apiKey } });

    expect((await verify(key)).status).toBe(200);
    expect((await verify(unknown)).status).toBe(401);
    // The remembered hash is the key's SHA-256 (what D1 and KV hold), so a warm request finds
    // the same record a cold one would; an unknown key is not remembered (hashed afresh each time).
    expect(knownKeyHash(key)).toBe(await sha256Hex(key));
    expect(knownKeyHash(unknown)).toBeUndefined();

    const revoked = await call("/api/v1/auth/tenants/api-keys/revoke/", {
      token: res.body.tokens.access,
      body: { key_type: "live", reason: "leaked", confirm: true },
    });
    expect(revoked.status).toBe(200);
    // Remembering the hash changes nothing about revocation: the record is what says "revoked".
    expect((await verify(key)).status).toBe(401);
  });

  describe("the isolate's copy", () => {
    afterEach(() => vi.restoreAllMocks());

    it("is read again in its last seconds by one background read, and the request does not wait for it", async () => {
      const { key, hash } = await registerKey();
      const kv = gatedKv();
      const withKv = { ...env, KV: kv as unknown as KVNamespace };
      const verify = () => verifyThroughWorker(key, withKv);
      const cachedAt = Date.now();
      await (await verify()).done;
      expect(cachedKeyRecord(hash, cachedAt)?.status).toBe("active");
      const readsAfterFirst = kv.reads;

      // Another isolate revoked the key: KV says so, this isolate's copy does not know yet.
      const record = await env.KV.get<EdgeKeyRecord>(`apikey:${hash}`, "json");
      if (!record) throw new Error("verify left no KV record");
      await env.KV.put(`apikey:${hash}`, JSON.stringify({ ...record, status: "revoked" }));

      // One second before the copy (at least ISOLATE_CACHE_MS from cachedAt) expires.
      vi.spyOn(Date, "now").mockReturnValue(cachedAt + ISOLATE_CACHE_MS - 1000);
      const inWindow = await Promise.all([verify(), verify(), verify()]);
      // Answered from the copy, with one read started for all three.
      expect(inWindow.map((answer) => answer.status)).toEqual([200, 200, 200]);
      await Promise.all(inWindow.map((answer) => answer.done));
      expect(kv.reads).toBe(readsAfterFirst + 1);
      // Before the copy would have expired, the key is refused: the read brought the revocation.
      expect((await verify()).status).toBe(401);
    });

    it("is read by each request that misses it: none awaits a read another request started", async () => {
      // In Workers a request must not await a promise settled by another request's I/O: its
      // continuation would run in that request's context ("Cannot perform I/O on behalf of a
      // different request", seen in the benchmark when misses shared one read).
      const { key } = await registerKey();
      expect((await call("/api/v1/auth/tenants/verify/", { headers: { "X-API-Key": key } })).status).toBe(
        200,
      );
      const kv = gatedKv();
      const withKv = { ...env, KV: kv as unknown as KVNamespace };
      vi.spyOn(Date, "now").mockReturnValue(Date.now() + ISOLATE_CACHE_MS + 1);
      const answers = await Promise.all(Array.from({ length: 20 }, () => verifyThroughWorker(key, withKv)));
      expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(200));
      expect(kv.reads).toBe(20);
    });

    it("is refreshed ahead again when a background read never settled", async () => {
      const { key, hash } = await registerKey();
      expect((await call("/api/v1/auth/tenants/verify/", { headers: { "X-API-Key": key } })).status).toBe(
        200,
      );
      const deps = (kv: KVNamespace, now: number) => ({ db: database(env.DB), kv, now, waitUntil: () => {} });
      const t = Date.now() + ISOLATE_CACHE_MS + 1;
      await lookupKey(deps(env.KV, t), hash);
      // A refresh whose KV read never answers (its request's background work was cut off).
      const hanging = { get: () => new Promise(() => {}) } as unknown as KVNamespace;
      expect(refreshDue(hash, t + ISOLATE_CACHE_MS - 1000)).toBe(true);
      void refreshKeyRecord(deps(hanging, t + ISOLATE_CACHE_MS - 1000), hash);
      expect(refreshDue(hash, t + ISOLATE_CACHE_MS - 500)).toBe(false);
      // The copy expires; a request misses and reads it again; its copy's last seconds come round.
      const later = t + ISOLATE_CACHE_MS + 2000;
      await lookupKey(deps(env.KV, later), hash);
      expect(refreshDue(hash, later + ISOLATE_CACHE_MS - 1000)).toBe(true);
    });

    it("keeps a revocation made in this isolate while a read of the old record was on its way", async () => {
      const { key, hash, access } = await registerKey();
      expect((await call("/api/v1/auth/tenants/verify/", { headers: { "X-API-Key": key } })).status).toBe(
        200,
      );
      const { gate, open } = opening();
      const kv = gatedKv(gate);
      const later = Date.now() + ISOLATE_CACHE_MS + 1;
      const lookup = lookupKey(
        { db: database(env.DB), kv: kv as unknown as KVNamespace, now: later, waitUntil: () => {} },
        hash,
      );
      await vi.waitFor(() => expect(kv.reads).toBe(1));

      const revoked = await call("/api/v1/auth/tenants/api-keys/revoke/", {
        token: access,
        body: { key_type: "live", reason: "leaked", confirm: true },
      });
      expect(revoked.status).toBe(200);
      open();
      // The read found the active record (KV before the revocation); the revocation is newer.
      expect((await lookup)?.status).toBe("revoked");
      expect(cachedKeyRecord(hash, Date.now())?.status).toBe("revoked");
      expect((await call("/api/v1/auth/tenants/verify/", { headers: { "X-API-Key": key } })).status).toBe(
        401,
      );
    });
  });
});

describe("a key change D1 committed but KV refused", () => {
  // KV keeps a key's old record for a day, and a retry of the revoke finds no key left to revoke:
  // the change answers as done, and the tenant's coordinator owes the records until KV takes them.
  it("a revoke and a regenerate answer as done; the coordinator publishes their records once KV works", async () => {
    const tenant = await registerTenant();
    const owner = ownerCaller(tenant);
    const kvDown = testContext({ kv: kvRefusingWrites, caller: owner });
    const edgeStatus = async (key: string) =>
      (await env.KV.get<EdgeKeyRecord>(`apikey:${await sha256Hex(key)}`, "json"))?.status;
    const stub = env.TENANT_COORDINATOR.getByName(tenant.tenantId);
    const owed = () => runInDurableObject(stub, (_i, state) => state.storage.get("key_records_owed"));

    expect(await edgeStatus(tenant.keys.test_secret)).toBe("active");
    expect(await revokeKeys(kvDown, { scope: "test", reason: "leaked" })).toEqual([
      "test_public",
      "test_secret",
    ]);
    expect(await edgeStatus(tenant.keys.test_secret), "KV refused the write").toBe("active");
    expect(await owed()).toBeDefined();
    await runDurableObjectAlarm(stub);
    expect(await owed()).toBeUndefined();
    expect(await edgeStatus(tenant.keys.test_secret)).toBe("revoked");

    expect(await edgeStatus(tenant.keys.live_secret)).toBe("active");
    const regenerated = await regenerateKeys(kvDown, { scope: "live" });
    expect(await edgeStatus(tenant.keys.live_secret), "KV refused the write").toBe("active");
    await runDurableObjectAlarm(stub);
    expect(await edgeStatus(tenant.keys.live_secret)).toBe("revoked");
    expect(await edgeStatus(regenerated.fullKeys.live_secret as string)).toBe("active");
  });
});

/**
 * An owner's context whose Worker ends right after D1 commits: KV is never reached and the
 * tenant's coordinator never told (its call fails as the Worker's end would end it).
 */
const diedAfterCommit = (tenant: Parameters<typeof ownerCaller>[0]) =>
  testContext({
    kv: kvRefusingWrites,
    caller: ownerCaller(tenant),
    coordinator: () =>
      ({ oweKeyRecords: () => Promise.reject(new Error("the Worker died")) }) as unknown as ReturnType<
        RequestContext["coordinator"]
      >,
  });

describe("a key change D1 committed, then the Worker died before KV", () => {
  const debtOf = (tenantId: string) =>
    env.DB.prepare("SELECT debt_id FROM edge_key_debts WHERE tenant_id = ?").bind(tenantId).first();
  const edgeStatus = async (key: string) =>
    (await env.KV.get<EdgeKeyRecord>(`apikey:${await sha256Hex(key)}`, "json"))?.status;
  const at = (offsetMs: number) => testContext({ clock: { now: () => new Date(Date.now() + offsetMs) } });

  it("a revoke published at once leaves no debt behind", async () => {
    const tenant = await registerTenant();
    await revokeKeys(testContext({ caller: ownerCaller(tenant) }), { scope: "test", reason: "rotated" });
    expect(await edgeStatus(tenant.keys.test_secret)).toBe("revoked");
    expect(await debtOf(tenant.tenantId)).toBeNull();
  });

  it("the revoke's debt, written with it, is published by the cron's sweep a minute later", async () => {
    const tenant = await registerTenant();
    const died = diedAfterCommit(tenant);
    await expect(revokeKeys(died, { scope: "test", reason: "leaked" })).rejects.toThrow("the Worker died");
    expect(await edgeStatus(tenant.keys.test_secret), "KV still holds the key as active").toBe("active");
    expect(await debtOf(tenant.tenantId)).not.toBeNull();

    // A commit's own publication takes moments: the sweep leaves a fresh debt to it.
    await sweepEdgeDebts(at(10_000), refreshTenantKeyRecords);
    expect(await edgeStatus(tenant.keys.test_secret)).toBe("active");
    await sweepEdgeDebts(at(SWEEP_DEBTS_AFTER_MS + 1_000), refreshTenantKeyRecords);
    expect(await edgeStatus(tenant.keys.test_secret)).toBe("revoked");
    expect(await edgeStatus(tenant.keys.live_secret)).toBe("active");
    expect(await debtOf(tenant.tenantId)).toBeNull();
  });

  it("a regenerate that lost its compare-and-set owes nothing", async () => {
    const tenant = await registerTenant();
    const owner = testContext({ caller: ownerCaller(tenant) });
    const results = await Promise.allSettled([
      regenerateKeys(owner, { scope: "test" }),
      regenerateKeys(owner, { scope: "test" }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled").length).toBeGreaterThanOrEqual(1);
    expect(await debtOf(tenant.tenantId)).toBeNull();
  });
});

describe("a debt still owed when another key change commits", () => {
  it("is not cleared by the later change's publication of its own keys only: the sweep pays both", async () => {
    const tenant = await registerTenant();
    const edgeStatus = async (key: string) =>
      (await env.KV.get<EdgeKeyRecord>(`apikey:${await sha256Hex(key)}`, "json"))?.status;
    // The live keys' revoke commits, then the Worker ends before KV.
    const died = diedAfterCommit(tenant);
    await expect(revokeKeys(died, { scope: "live", reason: "leaked" })).rejects.toThrow("the Worker died");
    // A revoke of the test keys publishes only those, and clears only its own debt.
    await revokeKeys(testContext({ caller: ownerCaller(tenant) }), { scope: "test", reason: "rotated" });
    expect(await edgeStatus(tenant.keys.test_secret)).toBe("revoked");
    expect(await edgeStatus(tenant.keys.live_secret), "the first revoke is still owed").toBe("active");

    const later = testContext({ clock: { now: () => new Date(Date.now() + SWEEP_DEBTS_AFTER_MS + 1_000) } });
    await sweepEdgeDebts(later, refreshTenantKeyRecords);
    expect(await edgeStatus(tenant.keys.live_secret)).toBe("revoked");
    expect(
      await env.DB.prepare("SELECT 1 FROM edge_key_debts WHERE tenant_id = ?").bind(tenant.tenantId).first(),
    ).toBeNull();
  });
});
