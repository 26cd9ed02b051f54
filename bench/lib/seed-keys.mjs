// Seeds API keys straight into D1 and KV (what registration and regeneration publish), so
// scenarios can have thousands of distinct keys without thousands of registrations.
import { createHash, randomBytes, randomUUID } from "node:crypto";

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

function randomKeyBody() {
  let out = "";
  for (const byte of randomBytes(64)) {
    if (byte < 248) out += BASE62[byte % 62];
    if (out.length === 32) break;
  }
  return out;
}

/**
 * Creates one `pro`-tier tenant (so the per-key limit of 6,000/min is not what a scenario
 * measures) and `count` live secret keys, with their D1 rows and KV edge records.
 * Returns the full keys.
 */
export async function seedSecretKeys(mf, count, { publishToKv = true } = {}) {
  const db = await mf.getD1Database("DB");
  const kv = await mf.getKVNamespace("KV");
  const now = Date.now();
  const tenantId = `ten_bench${randomUUID().replaceAll("-", "").slice(0, 17)}`;
  await db
    .prepare(
      "INSERT INTO tenants (id, slug, company_name, status, subscription_tier, stripe_connect_status, created_at, updated_at) VALUES (?, ?, ?, 'active', 'pro', 'not_connected', ?, ?)",
    )
    .bind(tenantId, tenantId.toLowerCase(), "Bench Keys Co", now, now)
    .run();

  const keys = [];
  const rows = [];
  for (let i = 0; i < count; i++) {
    const key = `sk_live_${randomKeyBody()}`;
    const hash = createHash("sha256").update(key).digest("hex");
    keys.push(key);
    rows.push({ id: `key_bench${i}_${randomUUID().slice(0, 8)}`, hash, last4: key.slice(-4) });
  }
  const insert = db.prepare(
    "INSERT INTO api_keys (id, tenant_id, kind, mode, key_hash, last4, status, created_at) VALUES (?, ?, 'secret', 'live', ?, ?, 'active', ?)",
  );
  for (let i = 0; i < rows.length; i += 500) {
    await db.batch(
      rows.slice(i, i + 500).map((row) => insert.bind(row.id, tenantId, row.hash, row.last4, now)),
    );
  }
  if (publishToKv) {
    const queue = [...rows];
    const worker = async () => {
      for (let row = queue.pop(); row; row = queue.pop()) {
        const record = {
          key_id: row.id,
          tenant_id: tenantId,
          company_name: "Bench Keys Co",
          kind: "secret",
          mode: "live",
          status: "active",
          expires_at: null,
          tenant_status: "active",
          tier: "pro",
        };
        await kv.put(`apikey:${row.hash}`, JSON.stringify(record), { expirationTtl: 86_400 });
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
  }
  return keys;
}
