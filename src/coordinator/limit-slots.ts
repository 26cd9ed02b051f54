import { and, count, eq, type SQL, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { Database } from "../db/client";
import { plans, users } from "../db/schema";

/**
 * Count limits of a tenant's platform plan (plans, users) enforced where they cannot be raced:
 * a request reserves a slot for the row it will create in the tenant's coordinator before its
 * slow work (Stripe calls), then commits to D1 and releases the slot. The coordinator counts
 * the committed rows in D1 plus the reserved rows not committed yet, with every other event of
 * the object held back meanwhile, so N parallel requests on a tier with room for k get exactly
 * k slots. A slot whose request died is forgotten after `SLOT_TTL_MS`.
 */
export const LIMIT_SLOT_KINDS = ["plans", "users"] as const;
export type LimitSlotKind = (typeof LIMIT_SLOT_KINDS)[number];

export const SLOT_TTL_MS = 2 * 60_000;

/**
 * What counts against each limit in D1, and how many of the rows named by `ids` (reserved slots)
 * are among them: a slot whose row is already committed must not count twice.
 */
const COUNTED: Record<
  LimitSlotKind,
  (db: Database, tenantId: string, ids: string[]) => Promise<{ committed: number; ofSlots: number }>
> = {
  plans: (db, tenantId, ids) =>
    countWithSlots(db, plans, and(eq(plans.tenantId, tenantId), eq(plans.isActive, true)), plans.id, ids),
  users: (db, tenantId, ids) => countWithSlots(db, users, eq(users.tenantId, tenantId), users.id, ids),
};

async function countWithSlots(
  db: Database,
  table: typeof plans | typeof users,
  where: SQL | undefined,
  idColumn: SQLiteColumn,
  ids: string[],
) {
  const row = await db
    .select({
      committed: count(),
      ofSlots: sql<number>`coalesce(sum(${idColumn} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))), 0)`,
    })
    .from(table)
    .where(where)
    .get();
  return { committed: row?.committed ?? 0, ofSlots: row?.ofSlots ?? 0 };
}

export function createSlotsTable(storage: SqlStorage) {
  storage.exec(
    "CREATE TABLE IF NOT EXISTS limit_slots (row_id TEXT PRIMARY KEY, kind TEXT NOT NULL, expires_at INTEGER NOT NULL)",
  );
}

/**
 * Reserves a slot of `kind` for the row `rowId` the request is about to create, if the committed
 * rows plus the reserved rows not yet committed stay under `limit`. Answers false when the limit
 * is reached. Call with the object's other events held back.
 */
export async function reserveSlot(
  deps: { storage: SqlStorage; db: Database; now: number },
  tenantId: string,
  slot: { kind: LimitSlotKind; limit: number; rowId: string },
): Promise<boolean> {
  const { storage, now } = deps;
  storage.exec("DELETE FROM limit_slots WHERE expires_at <= ?", now);
  const reserved = storage
    .exec<{ row_id: string }>("SELECT row_id FROM limit_slots WHERE kind = ?", slot.kind)
    .toArray()
    .map((row) => row.row_id);
  const { committed, ofSlots } = await COUNTED[slot.kind](deps.db, tenantId, reserved);
  if (committed + reserved.length - ofSlots >= slot.limit) return false;
  storage.exec(
    "INSERT OR REPLACE INTO limit_slots (row_id, kind, expires_at) VALUES (?, ?, ?)",
    slot.rowId,
    slot.kind,
    now + SLOT_TTL_MS,
  );
  return true;
}

export function releaseSlot(storage: SqlStorage, rowId: string) {
  storage.exec("DELETE FROM limit_slots WHERE row_id = ?", rowId);
}
