import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { database } from "../../src/db/client";
import { sha256Hex } from "../../src/lib/crypto";
import {
  type EdgeKeyRecord,
  ISOLATE_CACHE_MS,
  knownKeyHash,
  lookupKey,
} from "../../src/modules/api-keys/edge-store";
import { call, PASSWORD, unique } from "../harness";

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
});
