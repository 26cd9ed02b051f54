import { type SQL, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { Database } from "../../db/client";
import type { customerSubscriptions, customers, invoices } from "../../db/schema";

/** The tables whose rows both the API's creates and the billing mirror write. */
type MirroredTable = typeof customers | typeof customerSubscriptions | typeof invoices;

/**
 * A row our API creates for a Stripe object it has just made may be in D1 already: the object's
 * `*.created` Connect event can reach the billing mirror before the API's own commit (Stripe sends
 * it at once, while the API still has calls to make), and the mirror stores the object under the
 * id our metadata carries. So the API's insert is an upsert on the Stripe id that brings the
 * mirror's row up to the API's view unless the mirror's is newer on Stripe's clock; and the API's
 * `*.created` tenant event is written only if the row was not there before (`unlessRecorded`, for
 * the outbox commit): otherwise the mirror told the tenant already.
 */
export function createdByApi<T extends MirroredTable>(
  db: Database,
  table: T,
  stripeId: { column: SQLiteColumn; value: string },
  row: T["$inferInsert"] & { lastEventCreated: number | null },
) {
  // The three tables share the columns used here; drizzle's builder is typed per table.
  const mirroredTable = table as MirroredTable as typeof customers;
  return {
    statement: db
      .insert(mirroredTable)
      .values(row as typeof customers.$inferInsert)
      .onConflictDoUpdate({
        target: stripeId.column,
        set: upsertedFields(row as typeof customers.$inferInsert & { id: string; createdAt: Date }),
        setWhere: notNewerThan(mirroredTable.lastEventCreated, row.lastEventCreated),
      }),
    unlessRecorded: sql`SELECT 1 FROM ${table} WHERE ${stripeId.column} = ${stripeId.value}`,
  };
}

/** The columns an upsert over a stored row sets: all but its id, tenant and creation time. */
export function upsertedFields<T extends { id: unknown; tenantId: unknown; createdAt?: unknown }>(
  row: T,
): Omit<T, "id" | "tenantId" | "createdAt"> {
  const { id: _id, tenantId: _tenantId, createdAt: _createdAt, ...fields } = row;
  return fields;
}

/** The stored row is replaced only if it is not newer than `stamp` on Stripe's clock. */
export const notNewerThan = (column: SQLiteColumn, stamp: number | null): SQL =>
  stamp === null ? sql`${column} IS NULL` : sql`(${column} IS NULL OR ${column} <= ${stamp})`;
