import { and, eq, inArray } from "drizzle-orm";
import { type RequestContext, userCaller } from "../../context";
import type { Database } from "../../db/client";
import { type ApiKeyRow, apiKeys, type KeyKind, type KeyMode, type TenantRow } from "../../db/schema";
import { loadTenant } from "../../db/tenants";
import { auditInsert } from "../../lib/audit";
import { newId, sha256Hex } from "../../lib/crypto";
import { ApiError } from "../../lib/errors";
import { effectiveLimits } from "../../lib/tiers";
import { type EdgeKeyRecord, publishKeyRecords } from "./edge-store";
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

async function liveKeysOf(db: Database, tenantId: string, modes: KeyMode[], now: Date): Promise<ApiKeyRow[]> {
  const rows = await db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.tenantId, tenantId), eq(apiKeys.status, "active"), inArray(apiKeys.mode, modes)));
  return rows.filter((row) => isUsable(keyState(row, now)));
}

export interface RegenerateResult {
  fullKeys: Record<string, string>;
  oldKeysExpireAt: Date | null;
}

/**
 * Issues new keys for the modes in `scope`. The old keys die at once, or with `expireOldIn`
 * live on until then (a rollover). D1 (keys + audit) commits in one batch; then the edge
 * records are published, so this isolate refuses a dead key on its very next request.
 */
export async function regenerateKeys(
  ctx: RequestContext,
  input: { scope: KeyScope; expireOldIn?: RolloverWindow | undefined },
): Promise<RegenerateResult> {
  const { db, kv, clock } = ctx;
  const principal = userCaller(ctx);
  const now = clock.now();
  const modes = modesOf(input.scope);
  const tenant = await loadTenant(db, principal.tenantId);
  const old = await liveKeysOf(db, tenant.id, modes, now);
  const minted = await mintKeys(tenant, modes, principal.userId, now);
  const oldKeysExpireAt = input.expireOldIn
    ? new Date(now.getTime() + ROLLOVER_WINDOWS[input.expireOldIn])
    : null;

  const retired: ApiKeyRow[] = old.map((row) =>
    oldKeysExpireAt
      ? // A key already expiring sooner keeps its earlier end.
        {
          ...row,
          expiresAt: row.expiresAt && row.expiresAt < oldKeysExpireAt ? row.expiresAt : oldKeysExpireAt,
        }
      : { ...row, status: "revoked", revokedAt: now, revokedReason: "regenerated" },
  );
  await db.batch([
    insertKeys(db, minted),
    ...retired.map((row) =>
      db
        .update(apiKeys)
        .set({
          status: row.status,
          expiresAt: row.expiresAt,
          revokedAt: row.revokedAt,
          revokedReason: row.revokedReason,
        })
        .where(eq(apiKeys.id, row.id)),
    ),
    auditInsert(db, {
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
  ]);

  const records = new Map(minted.records);
  for (const row of retired) records.set(row.keyHash, edgeRecord(tenant, row));
  await publishKeyRecords(kv, records, now.getTime());
  return { fullKeys: minted.fullKeys, oldKeysExpireAt };
}

/** Revokes every usable key of the modes in `scope`, at once; the reason goes to the audit log. */
export async function revokeKeys(
  ctx: RequestContext,
  input: { scope: KeyScope; reason: string },
): Promise<string[]> {
  const { db, kv, clock } = ctx;
  const principal = userCaller(ctx);
  const now = clock.now();
  const tenant = await loadTenant(db, principal.tenantId);
  const old = await liveKeysOf(db, tenant.id, modesOf(input.scope), now);
  if (!old.length) throw new ApiError("conflict", "There are no active keys of that type to revoke");

  const revoked = old.map((row) => ({
    ...row,
    status: "revoked" as const,
    revokedAt: now,
    revokedReason: input.reason,
  }));
  await db.batch([
    db
      .update(apiKeys)
      .set({ status: "revoked", revokedAt: now, revokedReason: input.reason })
      .where(
        inArray(
          apiKeys.id,
          old.map((row) => row.id),
        ),
      ),
    auditInsert(db, {
      tenantId: tenant.id,
      actorType: "user",
      actorId: principal.userId,
      action: "api_keys.revoked",
      targetType: "api_keys",
      targetId: input.scope,
      reason: input.reason,
      metadata: { key_ids: old.map((row) => row.id) },
      requestId: ctx.requestId,
      at: now,
    }),
  ]);
  await publishKeyRecords(
    kv,
    new Map(revoked.map((row) => [row.keyHash, edgeRecord(tenant, row)])),
    now.getTime(),
  );
  const order = ["live_public", "live_secret", "test_public", "test_secret"];
  return [...new Set(revoked.map((row) => seedKeyType(row.kind, row.mode)))].sort(
    (a, b) => order.indexOf(a) - order.indexOf(b),
  );
}

/**
 * Re-publishes the edge records of every key of a tenant from D1, after a tenant-wide change
 * (suspension, reactivation, tier): KV everywhere, and this isolate's cache at once.
 */
export async function refreshTenantKeyRecords(ctx: RequestContext, tenantId: string) {
  const tenant = await loadTenant(ctx.db, tenantId);
  const rows = await ctx.db.select().from(apiKeys).where(eq(apiKeys.tenantId, tenantId));
  await publishKeyRecords(
    ctx.kv,
    new Map(rows.map((row) => [row.keyHash, edgeRecord(tenant, row)])),
    ctx.clock.now().getTime(),
  );
}
