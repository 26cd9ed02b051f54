import { eq, inArray, type SQL } from "drizzle-orm";
import type { Database } from "../../db/client";
import { apiKeys, type KeyKind, type KeyMode, type TenantStatus, tenants } from "../../db/schema";
import { effectiveLimits } from "../../lib/tiers";

/**
 * The edge copy of an API key: what authentication needs, found by the key's SHA-256.
 * D1 is the source of truth; KV holds this record at every location (refreshed from D1 on a
 * miss); each isolate keeps the records it used in memory for `ISOLATE_CACHE_MS`.
 *
 * Revocation: revoke and regenerate overwrite the record with `status: "revoked"` (or an
 * `expires_at`), so the KV record doubles as the revocation list, and the isolate that made the
 * change updates its own cache at once. Elsewhere a revoked key stops working once KV has
 * propagated (up to ~60 s) and that isolate's cached copy has aged out (`ISOLATE_CACHE_MS` after
 * it was read).
 *
 * A key in steady use never waits on KV: a request in the last `REFRESH_AHEAD_MS` of its cached
 * copy starts one read in the background and is answered from the copy, so the copy of a key in
 * use does not expire. Before, every copy's expiry sent each request of that key in flight to KV
 * (six reads per expiry under load in the benchmark). Requests that miss do not wait on one
 * another's read: in Workers a request must not await a promise another request's I/O settles
 * (its continuation would run in that request's context: "Cannot perform I/O on behalf of a
 * different request"), so each misses on its own; with the copies refreshed ahead, misses are
 * for keys idle for `ISOLATE_CACHE_MS`.
 */
export interface EdgeKeyRecord {
  key_id: string;
  tenant_id: string;
  company_name: string;
  kind: KeyKind;
  mode: KeyMode;
  status: "active" | "revoked";
  expires_at: number | null;
  tenant_status: TenantStatus;
  tier: string;
  /** The key's requests per minute (the tenant's plan limit). */
  rate_limit: number;
}

export const ISOLATE_CACHE_MS = 10_000;
export const REFRESH_AHEAD_MS = 2_000;
const KV_RECORD_TTL_SECONDS = 24 * 60 * 60;
const MAX_CACHED = 10_000;

const kvKey = (hash: string) => `apikey:${hash}`;

interface CacheEntry {
  record: EdgeKeyRecord | null;
  until: number;
  /** Which write to the cache this was (`writes` then): a read keeps a newer one. */
  write: number;
}

const isolateCache = new Map<string, CacheEntry>();
let writes = 0;
/**
 * Key hashes whose record a request is reading again in the background (`refreshKeyRecord`),
 * with when it started: a read that never settles (its request's background work cut off) stops
 * counting after `ISOLATE_CACHE_MS`, so the key is refreshed ahead again.
 */
const refreshing = new Map<string, number>();

/**
 * Makes room in a full map by dropping its oldest tenth in one pass. Dropping the oldest entry
 * on every insert re-walks the deleted slots at the front of V8's table each time: about 5 µs
 * against 0.5 µs per insert into a full map of 10,000 (measured in Node), on the cold path.
 */
function makeRoom(map: Map<string, unknown>) {
  if (map.size < MAX_CACHED) return;
  let drop = MAX_CACHED / 10;
  for (const key of map.keys()) {
    map.delete(key);
    if (--drop === 0) break;
  }
}

function remember(hash: string, record: EdgeKeyRecord | null, now: number): EdgeKeyRecord | null {
  // A revoked key is never active again (revocation is final in D1): while this isolate remembers
  // the revocation, an older record read from KV or built before the revocation committed (KV
  // keeps whichever write landed last) must not replace it here.
  const known = isolateCache.get(hash)?.record;
  if (known?.status === "revoked" && record?.status === "active" && known.key_id === record.key_id) {
    record = { ...record, status: "revoked" };
  }
  isolateCache.delete(hash);
  makeRoom(isolateCache);
  isolateCache.set(hash, { record, until: now + ISOLATE_CACHE_MS, write: ++writes });
  return record;
}

/**
 * The SHA-256 (hex) of keys found in this isolate (revoked ones too), at most `MAX_CACHED`, the
 * oldest tenth out when full, so a warm request does not hash: the digest was the largest single
 * cost of the warm path. Only found keys are remembered, so random keys cannot push real ones
 * out. The keys stay in this isolate's memory, as the env's own secrets do, and never reach KV,
 * D1 or a log.
 */
const hashesOfKnownKeys = new Map<string, string>();

/** The remembered hash of a key found before in this isolate; undefined: hash it. */
export const knownKeyHash = (rawKey: string): string | undefined => hashesOfKnownKeys.get(rawKey);

/** Remembers the hash of a key that has a record (see `hashesOfKnownKeys`). */
export function rememberKnownKey(rawKey: string, hash: string) {
  if (hashesOfKnownKeys.has(rawKey)) return;
  makeRoom(hashesOfKnownKeys);
  hashesOfKnownKeys.set(rawKey, hash);
}

/** Reads the key record from D1 (the source of truth), or null if no such key exists. */
export async function loadKeyRecord(db: Database, hash: string): Promise<EdgeKeyRecord | null> {
  const [found] = await selectKeyRecords(db, eq(apiKeys.keyHash, hash));
  return found?.[1] ?? null;
}

/** D1 binds at most 100 parameters per statement; a tenant accumulates keys with each regenerate. */
const HASHES_PER_READ = 90;

/** Reads the records of these key hashes from D1, by hash; a hash with no key is absent. */
export async function loadKeyRecords(db: Database, hashes: string[]): Promise<Map<string, EdgeKeyRecord>> {
  const records = new Map<string, EdgeKeyRecord>();
  for (let start = 0; start < hashes.length; start += HASHES_PER_READ) {
    const chunk = hashes.slice(start, start + HASHES_PER_READ);
    for (const [hash, record] of await selectKeyRecords(db, inArray(apiKeys.keyHash, chunk))) {
      records.set(hash, record);
    }
  }
  return records;
}

async function selectKeyRecords(db: Database, which: SQL): Promise<[string, EdgeKeyRecord][]> {
  const rows = await db
    .select({
      key_hash: apiKeys.keyHash,
      key_id: apiKeys.id,
      tenant_id: apiKeys.tenantId,
      company_name: tenants.companyName,
      kind: apiKeys.kind,
      mode: apiKeys.mode,
      status: apiKeys.status,
      expires_at: apiKeys.expiresAt,
      tenant_status: tenants.status,
      tier: tenants.subscriptionTier,
      limits: tenants.limits,
    })
    .from(apiKeys)
    .innerJoin(tenants, eq(apiKeys.tenantId, tenants.id))
    .where(which);
  return rows.map(({ key_hash, limits, ...row }) => [
    key_hash,
    {
      ...row,
      expires_at: row.expires_at?.getTime() ?? null,
      rate_limit: effectiveLimits({ subscriptionTier: row.tier, limits }).api_requests_per_minute,
    },
  ]);
}

export interface LookupDeps {
  db: Database;
  kv: KVNamespace;
  now: number;
  /** Where a KV refresh after a D1 read is handed off, off the response path. */
  waitUntil: (promise: Promise<unknown>) => void;
}

/**
 * The record in this isolate's cache while fresh (null: known not to exist), or undefined when
 * it must be looked up: the warm path answers from this without awaiting anything.
 */
export function cachedKeyRecord(hash: string, now: number): EdgeKeyRecord | null | undefined {
  const cached = isolateCache.get(hash);
  return cached && cached.until > now ? cached.record : undefined;
}

/** Whether the cached record is in its last `REFRESH_AHEAD_MS` and no refresh of it is under way. */
export function refreshDue(hash: string, now: number): boolean {
  const cached = isolateCache.get(hash);
  if (cached === undefined || cached.until - now >= REFRESH_AHEAD_MS) return false;
  const started = refreshing.get(hash);
  return started === undefined || now - started > ISOLATE_CACHE_MS;
}

/** The record for a key hash: isolate cache, then KV, then D1 (which refreshes KV). */
export async function lookupKey(deps: LookupDeps, hash: string): Promise<EdgeKeyRecord | null> {
  const cached = cachedKeyRecord(hash, deps.now);
  if (cached !== undefined) return cached;
  return readThrough(deps, hash);
}

/**
 * Reads the record again for this isolate's cache (see `refreshDue`), in the background of the
 * request that found it due; the key's other requests go on with the copy meanwhile.
 */
export async function refreshKeyRecord(deps: LookupDeps, hash: string): Promise<void> {
  if (refreshing.size >= MAX_CACHED) refreshing.clear();
  refreshing.set(hash, deps.now);
  try {
    await readThrough(deps, hash);
  } finally {
    if (refreshing.get(hash) === deps.now) refreshing.delete(hash);
  }
}

async function readThrough(deps: LookupDeps, hash: string): Promise<EdgeKeyRecord | null> {
  const startedAfter = writes;
  let record = await deps.kv.get<EdgeKeyRecord>(kvKey(hash), "json");
  if (!record) {
    record = await loadKeyRecord(deps.db, hash);
    if (record) deps.waitUntil(fillRecord(deps.db, deps.kv, hash, record));
  }
  // A revoke or regenerate in this isolate published the key's record while this read was on
  // its way: that record is newer than what the read found.
  const newer = isolateCache.get(hash);
  if (newer && newer.write > startedAfter) return newer.record;
  return remember(hash, record, deps.now);
}

/**
 * Copies a record read from D1 into KV, then reads D1 again and writes again if the key changed
 * meanwhile. Without the second read, a slow fill could land after a revocation's own write and
 * bring the revoked key back to life in KV. With it, either the revocation committed before the
 * second read (which then writes the revoked record) or after it, and then the revocation's
 * write, which follows its commit, comes after this fill's and wins.
 */
export async function fillRecord(db: Database, kv: KVNamespace, hash: string, read: EdgeKeyRecord) {
  await writeRecord(kv, hash, read);
  const current = await loadKeyRecord(db, hash);
  if (current && !sameRecord(current, read)) await writeRecord(kv, hash, current);
}

/** Records are built with their fields in one order; a mismatch only costs a needless write. */
const sameRecord = (a: EdgeKeyRecord, b: EdgeKeyRecord) => JSON.stringify(a) === JSON.stringify(b);

function writeRecord(kv: KVNamespace, hash: string, record: EdgeKeyRecord) {
  return kv.put(kvKey(hash), JSON.stringify(record), { expirationTtl: KV_RECORD_TTL_SECONDS });
}

/**
 * Publishes changed records to KV and to this isolate's cache. Called after the D1 batch that
 * made the change has committed, and awaited, so the answer to a revoke means the key is dead here.
 */
export async function publishKeyRecords(kv: KVNamespace, records: Map<string, EdgeKeyRecord>, now: number) {
  for (const [hash, record] of records) remember(hash, record, now);
  await Promise.all([...records].map(([hash, record]) => writeRecord(kv, hash, record)));
}

/**
 * Publishes records built from D1, then reads D1 again and publishes again the records that
 * changed meanwhile, as `fillRecord` does. KV keeps the last write, whoever made it: without the
 * second read, records read before a revocation committed (a tenant-wide re-publish, a
 * rollover's "expiring") could land after the revocation's own write and make the key active in
 * KV again for a day. With it, a revocation that committed before the second read is written
 * again here, after this publisher's first writes.
 */
export async function publishFromD1(
  db: Database,
  kv: KVNamespace,
  records: Map<string, EdgeKeyRecord>,
  now: number,
) {
  if (!records.size) return;
  await publishKeyRecords(kv, records, now);
  const current = await loadKeyRecords(db, [...records.keys()]);
  const changed = new Map(
    [...current].filter(([hash, record]) => {
      const published = records.get(hash);
      return !published || !sameRecord(record, published);
    }),
  );
  if (changed.size) await publishKeyRecords(kv, changed, now);
}
