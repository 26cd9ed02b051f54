import { type SQL, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { auditLog } from "../db/schema";
import { newId } from "./crypto";

export interface AuditEntry {
  tenantId: string;
  actorType: "user" | "api_key" | "system" | "platform_admin";
  actorId?: string | null;
  action: string;
  targetType?: string;
  targetId?: string;
  reason?: string | null;
  metadata?: Record<string, unknown>;
  requestId?: string;
  at: Date;
}

/**
 * An audit insert, returned unexecuted so callers put it in the same `db.batch` as the change
 * it describes: the record exists if and only if the change does.
 */
export function auditInsert(db: Database, entry: AuditEntry) {
  return db.insert(auditLog).values({
    id: newId("aud"),
    tenantId: entry.tenantId,
    actorType: entry.actorType,
    actorId: entry.actorId ?? null,
    action: entry.action,
    targetType: entry.targetType ?? null,
    targetId: entry.targetId ?? null,
    reason: entry.reason ?? null,
    metadata: entry.metadata ?? null,
    requestId: entry.requestId ?? null,
    createdAt: entry.at,
  });
}

/**
 * Like `auditInsert`, but the row is written only if the statement just before it in the same
 * batch changed a row (SQLite's `changes()`), for changes guarded by a condition in SQL.
 */
export function auditInsertIfChanged(db: Database, entry: AuditEntry) {
  // Values in the table's column order, as drizzle's INSERT ... SELECT lists every column.
  return db.insert(auditLog).select(
    sql`SELECT ${newId("aud")}, ${entry.tenantId}, ${entry.actorType}, ${entry.actorId ?? null}, ${entry.action},
      ${entry.targetType ?? null}, ${entry.targetId ?? null}, ${entry.reason ?? null},
      ${entry.metadata ? JSON.stringify(entry.metadata) : null}, ${entry.requestId ?? null}, ${entry.at.getTime()}
    WHERE changes() > 0`,
  );
}

/**
 * Like `auditInsert`, for a change to one row: put in the batch just before the statement that
 * changes it, with the same `where`. The record is written only if `where` finds the row, and its
 * action and metadata are computed in SQL from the row as it was (the role a change replaces), so
 * a concurrent change between the request's read and its batch cannot make them stale.
 */
export function auditInsertOfRow(
  db: Database,
  entry: Omit<AuditEntry, "action" | "metadata">,
  row: { from: SQL; action: SQL; metadata: SQL },
) {
  // Values in the table's column order, as drizzle's INSERT ... SELECT lists every column.
  return db.insert(auditLog).select(
    sql`SELECT ${newId("aud")}, ${entry.tenantId}, ${entry.actorType}, ${entry.actorId ?? null}, ${row.action},
      ${entry.targetType ?? null}, ${entry.targetId ?? null}, ${entry.reason ?? null},
      ${row.metadata}, ${entry.requestId ?? null}, ${entry.at.getTime()}
    FROM ${row.from}`,
  );
}
