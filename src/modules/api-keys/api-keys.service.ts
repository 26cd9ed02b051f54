import { and, eq, getTableColumns, gt, inArray, isNull, or, type SQL, sql } from "drizzle-orm";
import { type RequestContext, userCaller } from "../../context";
import type { Database } from "../../db/client";
import { type ApiKeyRow, apiKeys, type KeyKind, type KeyMode, type TenantRow } from "../../db/schema";
import { loadTenant } from "../../db/tenants";
import { auditInsertIfChanged } from "../../lib/audit";
import { newId, sha256Hex } from "../../lib/crypto";
import { ApiError } from "../../lib/errors";
import { errorFields } from "../../lib/logger";
import { effectiveLimits } from "../../lib/tiers";
import { type EdgeDebt, newEdgeDebt, oweEdgeRecordsIfChanged, settleEdgeDebt } from "./edge-debts";
import { type EdgeKeyRecord, publishFromD1, publishKeyRecords } from "./edge-store";
import {
  generateApiKey,
  isUsable,
  type KeyScope,
  keyState,
  maskSecretKey,
  modesOf,
  ROLLOVER_WINDOWS,
  type RolloverWindow,
  seedKeyType,
} from "./keys";

const KINDS: KeyKind[] = ["publishable", "secret"];

export interface MintedKeys {
  rows: ApiKeyRow[];
  /** Full keys by the old platform's names (`live_public`, ...), shown once. */
  fullKeys: Record<string, string>;
  records: Map<string, EdgeKeyRecord>;
}

const edgeRecord = (tenant: TenantRow, row: ApiKeyRow): EdgeKeyRecord => ({
  key_id: row.id,
  tenant_id: tenant.id,
  company_name: tenant.companyName,
  kind: row.kind,
  mode: row.mode,
  status: row.status,
  expires_at: row.expiresAt?.getTime() ?? null,
  tenant_status: tenant.status,
  tier: tenant.subscriptionTier,
  rate_limit: effectiveLimits(tenant).api_requests_per_minute,
});

/** New publishable + secret keys for each mode; rows to insert, full keys to show once. */
export async function mintKeys(
  tenant: TenantRow,
  modes: KeyMode[],
  createdBy: string,
  now: Date,
): Promise<MintedKeys> {
  const minted: MintedKeys = { rows: [], fullKeys: {}, records: new Map() };
  for (const mode of modes) {
    for (const kind of KINDS) {
      const key = generateApiKey(kind, mode);
      const hash = await sha256Hex(key);
      const row: ApiKeyRow = {
        id: newId("key"),
        tenantId: tenant.id,
        kind,
        mode,
        keyHash: hash,
        last4: key.slice(-4),
        publishableKey: kind === "publishable" ? key : null,
        status: "active",
        expiresAt: null,
        revokedAt: null,
        revokedReason: null,
        lastUsedAt: null,
        createdBy,
        createdAt: now,
      };
      minted.rows.push(row);
      minted.fullKeys[seedKeyType(kind, mode)] = key;
      minted.records.set(hash, edgeRecord(tenant, row));
    }
  }
  return minted;
}

export function insertKeys(db: Database, minted: MintedKeys) {
  return db.insert(apiKeys).values(minted.rows);
}

export { publishKeyRecords };

export interface ListedKey {
  type: string;
  key: string;
  masked: boolean;
  status: "active" | "expiring";
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
}

/** The tenant's usable keys: publishable in clear, secret masked; newest first per type. */
export async function listKeys(ctx: RequestContext): Promise<ListedKey[]> {
  const principal = userCaller(ctx);
  const now = ctx.clock.now();
  const rows = await ctx.db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.tenantId, principal.tenantId), eq(apiKeys.status, "active")));
  const order = ["live_public", "live_secret", "test_public", "test_secret"];
  return rows
    .map((row) => ({ row, state: keyState(row, now) }))
    .filter(({ state }) => isUsable(state))
    .map(({ row, state }) => ({
      type: seedKeyType(row.kind, row.mode),
      key: row.kind === "publishable" ? (row.publishableKey ?? "") : maskSecretKey(row.mode, row.last4),
      masked: row.kind === "secret",
      status: state as "active" | "expiring",
      created_at: row.createdAt.toISOString(),
      last_used_at: row.lastUsedAt?.toISOString() ?? null,
      expires_at: row.expiresAt?.toISOString() ?? null,
    }))
    .sort(
      (a, b) =>
        order.indexOf(a.type) - order.indexOf(b.type) ||
        (a.status === "active" ? -1 : 1) - (b.status === "active" ? -1 : 1),
    );
}

/** SQL: the key is usable at `now` (active and not past the end of a rollover). */
const usableAt = (now: Date) =>
  and(eq(apiKeys.status, "active"), or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, now)));

const usableKeysOf = (tenantId: string, modes: KeyMode[], now: Date) =>
  and(eq(apiKeys.tenantId, tenantId), inArray(apiKeys.mode, modes), usableAt(now));

/**
 * SQL: the key is one of `rows`, their ids bound as one JSON array: a tenant's usable keys add
 * up over rollovers (4 a regenerate of all types, for up to 7 days), and D1 binds at most 100
 * parameters a statement, which a list of ids, used twice in a compare-and-set, ran out of.
 */
const idIn = (rows: ApiKeyRow[]) =>
  sql`${apiKeys.id} IN (SELECT value FROM json_each(${JSON.stringify(rows.map((row) => row.id))}))`;

async function liveKeysOf(db: Database, tenantId: string, modes: KeyMode[], now: Date): Promise<ApiKeyRow[]> {
  return db
    .select()
    .from(apiKeys)
    .where(usableKeysOf(tenantId, modes, now));
}

const countOf = (where: SQL | undefined) => sql`(SELECT count(*) FROM ${apiKeys} WHERE ${where})`;

/**
 * SQL, the compare of a compare-and-set: the usable keys of these modes are still exactly `read`
 * (none retired and none issued since they were read). Concurrent changes read the same keys;
 * the first batch to commit changes them, so this no longer holds for the others.
 */
function stillExactly(tenantId: string, modes: KeyMode[], now: Date, read: ApiKeyRow[]) {
  const usable = usableKeysOf(tenantId, modes, now);
  return sql`${countOf(usable)} = ${read.length} AND ${countOf(and(usable, idIn(read)))} = ${read.length}`;
}

/**
 * Inserts the minted keys only if `condition` holds; it is evaluated once, before the rows go
 * in (one scalar subquery over the values). Values in the table's column order, as drizzle's
 * INSERT ... SELECT lists every column.
 */
function insertKeysIf(db: Database, minted: MintedKeys, condition: SQL) {
  const columns = Object.entries(getTableColumns(apiKeys));
  const values = minted.rows.map((row) => {
    const cells = columns.map(([name, column]) => {
      const value = row[name as keyof ApiKeyRow];
      return value === null ? sql`NULL` : sql`${column.mapToDriverValue(value)}`;
    });
    return sql`(${sql.join(cells, sql`, `)})`;
  });
  return db
    .insert(apiKeys)
    .select(sql`SELECT * FROM (VALUES ${sql.join(values, sql`, `)}) WHERE ${condition}`)
    .returning({ id: apiKeys.id });
}

const concurrentChange = () =>
  new ApiError("conflict", "The keys were changed by another request meanwhile; list them and try again");

export interface RegenerateResult {
  fullKeys: Record<string, string>;
  oldKeysExpireAt: Date | null;
}

/**
 * Issues new keys for the modes in `scope`. The old keys die at once, or with `expireOldIn`
 * live on until then (a rollover, which only ever brings an end nearer). D1 (keys + audit)
 * commits in one batch, as a compare-and-set: only if the usable keys are still those read, so
 * of concurrent regenerates (or one racing a revoke) one wins and the others answer 409 having
 * changed nothing. Then the edge records of what the batch wrote are published, so this isolate
 * refuses a dead key on its very next request.
 */
export async function regenerateKeys(
  ctx: RequestContext,
  input: { scope: KeyScope; expireOldIn?: RolloverWindow | undefined },
): Promise<RegenerateResult> {
  const { db, clock } = ctx;
  const principal = userCaller(ctx);
  const now = clock.now();
  const modes = modesOf(input.scope);
  const tenant = await loadTenant(db, principal.tenantId);
  const old = await liveKeysOf(db, tenant.id, modes, now);
  const minted = await mintKeys(tenant, modes, principal.userId, now);
  const oldKeysExpireAt = input.expireOldIn
    ? new Date(now.getTime() + ROLLOVER_WINDOWS[input.expireOldIn])
    : null;

  const debt = newEdgeDebt(tenant.id);
  const [retired, inserted] = await db.batch([
    retireKeys(db, old, oldKeysExpireAt, now, stillExactly(tenant.id, modes, now, old)),
    // Only if the retire above matched every key read (`changes()`) or, with none read, if none
    // has been issued since: the same compare, as the count of usable keys the retire left.
    insertKeysIf(
      db,
      minted,
      sql`changes() = ${old.length} AND ${countOf(usableKeysOf(tenant.id, modes, now))} = ${oldKeysExpireAt ? old.length : 0}`,
    ),
    auditInsertIfChanged(db, {
      tenantId: tenant.id,
      actorType: "user",
      actorId: principal.userId,
      action: "api_keys.regenerated",
      targetType: "api_keys",
      targetId: input.scope,
      metadata: {
        new_key_ids: minted.rows.map((row) => row.id),
        old_key_ids: old.map((row) => row.id),
        old_keys_expire_at: oldKeysExpireAt?.toISOString() ?? null,
      },
      requestId: ctx.requestId,
      at: now,
    }),
    // After the audit, which is written only if the keys were (`changes()`).
    oweEdgeRecordsIfChanged(db, debt, now),
  ]);
  if (inserted.length !== minted.rows.length) throw concurrentChange();

  const records = new Map(minted.records);
  for (const row of retired) records.set(row.keyHash, edgeRecord(tenant, row));
  await publishOrOwe(ctx, debt, "a regenerate", records);
  return { fullKeys: minted.fullKeys, oldKeysExpireAt };
}

/**
 * The update that retires the old keys of a regenerate if they are `unchanged`, returning the
 * rows as written: revoked now, or in a rollover only an end set, never later than one the key
 * already had (status and revocation untouched, so a revoked key cannot come back).
 */
function retireKeys(db: Database, old: ApiKeyRow[], oldKeysExpireAt: Date | null, now: Date, unchanged: SQL) {
  const end = oldKeysExpireAt?.getTime();
  return db
    .update(apiKeys)
    .set(
      end
        ? { expiresAt: sql`min(coalesce(${apiKeys.expiresAt}, ${end}), ${end})` }
        : { status: "revoked", revokedAt: now, revokedReason: "regenerated" },
    )
    .where(and(idIn(old), unchanged))
    .returning();
}

/** How often a revoke reads the keys again when another change committed between its read and batch. */
const REVOKE_ATTEMPTS = 5;

/**
 * Revokes every usable key of the modes in `scope`, at once; the reason goes to the audit log.
 * The batch is a compare-and-set like a regenerate's: when another change committed in between
 * (a regenerate's new keys, a parallel revoke), it changes nothing and the revoke reads the keys
 * again, so it never leaves a key issued meanwhile alive, nor audits keys another revoke took.
 */
export async function revokeKeys(
  ctx: RequestContext,
  input: { scope: KeyScope; reason: string },
): Promise<string[]> {
  const { db, clock } = ctx;
  const principal = userCaller(ctx);
  const now = clock.now();
  const modes = modesOf(input.scope);
  const tenant = await loadTenant(db, principal.tenantId);
  for (let attempt = 0; attempt < REVOKE_ATTEMPTS; attempt++) {
    const old = await liveKeysOf(db, tenant.id, modes, now);
    if (!old.length) throw new ApiError("conflict", "There are no active keys of that type to revoke");
    const debt = newEdgeDebt(tenant.id);
    const revoked = await revokeIfUnchanged(ctx, { ...input, tenantId: tenant.id, modes, old, now, debt });
    if (!revoked.length) continue;
    await publishOrOwe(
      ctx,
      debt,
      "a revoke",
      new Map(revoked.map((row) => [row.keyHash, edgeRecord(tenant, row)])),
    );
    const order = ["live_public", "live_secret", "test_public", "test_secret"];
    return [...new Set(revoked.map((row) => seedKeyType(row.kind, row.mode)))].sort(
      (a, b) => order.indexOf(a) - order.indexOf(b),
    );
  }
  throw concurrentChange();
}

/** Revokes `old` and audits it in one batch if they are still the usable keys; the rows revoked. */
async function revokeIfUnchanged(
  ctx: RequestContext,
  change: {
    tenantId: string;
    scope: KeyScope;
    modes: KeyMode[];
    reason: string;
    old: ApiKeyRow[];
    now: Date;
    debt: EdgeDebt;
  },
): Promise<ApiKeyRow[]> {
  const { db } = ctx;
  const { tenantId, old, now } = change;
  const [revoked] = await db.batch([
    db
      .update(apiKeys)
      .set({ status: "revoked", revokedAt: now, revokedReason: change.reason })
      .where(and(idIn(old), stillExactly(tenantId, change.modes, now, old)))
      .returning(),
    auditInsertIfChanged(db, {
      tenantId,
      actorType: "user",
      actorId: userCaller(ctx).userId,
      action: "api_keys.revoked",
      targetType: "api_keys",
      targetId: change.scope,
      reason: change.reason,
      metadata: { key_ids: old.map((row) => row.id) },
      requestId: ctx.requestId,
      at: now,
    }),
    // After the audit, which is written only if the keys were (`changes()`).
    oweEdgeRecordsIfChanged(db, change.debt, now),
  ]);
  return revoked;
}

/** Runs a publication of edge records; false (logged) when KV refused it. */
async function published(ctx: RequestContext, tenantId: string, after: string, publish: () => Promise<void>) {
  try {
    await publish();
    return true;
  } catch (error) {
    ctx.log.error(`API key records not published after ${after}; owed, retried`, {
      tenant_id: tenantId,
      ...errorFields(error),
    });
    return false;
  }
}

/**
 * `refreshTenantKeyRecords` after a tenant change D1 has committed, which a KV failure must not
 * fail: false (logged) when KV refused, and the caller owes the records to the tenant's
 * coordinator (`coordinator/key-republish.ts`), whose alarm publishes them until KV takes them.
 */
export async function republishAfterCommit(ctx: RequestContext, debt: EdgeDebt, after: string) {
  const done = await published(ctx, debt.tenantId, after, () => refreshTenantKeyRecords(ctx, debt.tenantId));
  if (done) await settleEdgeDebt(ctx, debt);
  return done;
}

/**
 * Publishes the edge records of a change D1 has committed (`records`, or every key of the tenant)
 * for a request. KV refusing them must not fail it: the change is done, and a retry would find
 * nothing left to change (a revoke: no key left to revoke) while KV kept the old records (an
 * active key, the old tenant status or tier) for a day. The tenant's coordinator then owes them
 * and publishes them from its alarm until KV takes them.
 */
export async function publishOrOwe(
  ctx: RequestContext,
  debt: EdgeDebt,
  after: string,
  records?: Map<string, EdgeKeyRecord>,
) {
  const { tenantId } = debt;
  const publish = records
    ? () => publishFromD1(ctx.db, ctx.kv, records, ctx.clock.now().getTime())
    : () => refreshTenantKeyRecords(ctx, tenantId);
  if (await published(ctx, tenantId, after, publish)) await settleEdgeDebt(ctx, debt);
  else await ctx.coordinator(tenantId).oweKeyRecords({ tenantId, requestId: ctx.requestId });
}

/**
 * Re-publishes the edge records of every key of a tenant from D1, after a tenant-wide change
 * (suspension, reactivation, tier): KV everywhere, and this isolate's cache at once. A key
 * revoked after the read is published again as revoked (`publishFromD1`).
 */
export async function refreshTenantKeyRecords(ctx: RequestContext, tenantId: string) {
  const tenant = await loadTenant(ctx.db, tenantId);
  const rows = await ctx.db.select().from(apiKeys).where(eq(apiKeys.tenantId, tenantId));
  await publishFromD1(
    ctx.db,
    ctx.kv,
    new Map(rows.map((row) => [row.keyHash, edgeRecord(tenant, row)])),
    ctx.clock.now().getTime(),
  );
}
