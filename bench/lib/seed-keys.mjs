// Seeds API keys straight into D1 and KV (what registration and regeneration publish), so
// scenarios can have thousands of distinct keys without thousands of registrations.
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { insertRows } from "./seed.mjs";

/** Concurrent KV puts through Miniflare's proxy; local KV writes, not the proxy, are the limit. */
const KV_WRITERS = 32;

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
 * Inserts one active tenant (`pro` tier by default, so the per-key limit of 6,000/min is not what
 * a scenario measures) and returns its id: the owner of whatever a scenario seeds next.
 */
export async function seedTenant(db, { tier = "pro", companyName = "Bench Keys Co" } = {}) {
  const now = Date.now();
  const tenantId = `ten_bench${randomUUID().replaceAll("-", "").slice(0, 17)}`;
  await insertRows(db, "tenants", [
    {
      id: tenantId,
      slug: tenantId.toLowerCase(),
      company_name: companyName,
      status: "active",
      subscription_tier: tier,
      stripe_connect_status: "not_connected",
      created_at: now,
      updated_at: now,
    },
  ]);
  return tenantId;
}

/**
 * Creates `count` live secret keys with their D1 rows and KV edge records, for `tenantId` (a new
 * `pro`-tier tenant when not given). Returns the full keys.
 */
export async function seedSecretKeys(mf, count, { publishToKv = true, tenantId: owner } = {}) {
  const db = await mf.getD1Database("DB");
  const kv = await mf.getKVNamespace("KV");
  const now = Date.now();
  const tenantId = owner ?? (await seedTenant(db));
  const tenant = await db
    .prepare("SELECT company_name, subscription_tier FROM tenants WHERE id = ?")
    .bind(tenantId)
    .first();
  if (!tenant) throw new Error(`no tenant ${tenantId}`);

  const keys = [];
  const rows = [];
  for (let i = 0; i < count; i++) {
    const key = `sk_live_${randomKeyBody()}`;
    const hash = createHash("sha256").update(key).digest("hex");
    keys.push(key);
    rows.push({ id: `key_bench${i}_${randomUUID().slice(0, 8)}`, hash, last4: key.slice(-4) });
  }
  await insertRows(
    db,
    "api_keys",
    rows.map((row) => ({
      id: row.id,
      tenant_id: tenantId,
      kind: "secret",
      mode: "live",
      key_hash: row.hash,
      last4: row.last4,
      status: "active",
      created_at: now,
    })),
  );
  if (publishToKv) {
    const queue = [...rows];
    const worker = async () => {
      for (let row = queue.pop(); row; row = queue.pop()) {
        const record = {
          key_id: row.id,
          tenant_id: tenantId,
          company_name: tenant.company_name,
          kind: "secret",
          mode: "live",
          status: "active",
          expires_at: null,
          tenant_status: "active",
          tier: tenant.subscription_tier,
        };
        await kv.put(`apikey:${row.hash}`, JSON.stringify(record), { expirationTtl: 86_400 });
      }
    };
    await Promise.all(Array.from({ length: KV_WRITERS }, worker));
  }
  return keys;
}
