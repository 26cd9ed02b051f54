import { type SQL, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";

/**
 * A row our API creates for a Stripe object it has just made may be in D1 already: the object's
 * `*.created` Connect event can reach the billing mirror before the API's own commit (Stripe sends
 * it at once, while the API still has calls to make), and the mirror stores the object under the
 * id our metadata carries. So the API's insert is an upsert on the Stripe id (`changedByApi`,
 * `notNewerThan`): it brings the mirror's row up to the API's view unless the mirror's is newer on
 * Stripe's clock. And the API's `*.created` tenant event is written only if the row was not there
 * before (`recordedAlready`, for the commit's `unlessRecorded`): otherwise the mirror told the
 * tenant already.
 */

/** The columns an upsert over a mirrored row sets: all but its id, tenant and creation time. */
export function changedByApi<T extends { id: unknown; tenantId: unknown; createdAt: unknown }>(
  row: T,
): Omit<T, "id" | "tenantId" | "createdAt"> {
  const { id: _id, tenantId: _tenantId, createdAt: _createdAt, ...fields } = row;
  return fields;
}

/** The stored row is replaced only if it is not newer than `stamp` on Stripe's clock. */
export const notNewerThan = (column: SQLiteColumn, stamp: number | null): SQL =>
  stamp === null ? sql`${column} IS NULL` : sql`${column} IS NULL OR ${column} <= ${stamp}`;

/** The query that finds the row of this Stripe id if it is stored. */
export const recordedAlready = (stripeIdColumn: SQLiteColumn, stripeId: string): SQL =>
  sql`SELECT 1 FROM ${stripeIdColumn.table} WHERE ${stripeIdColumn} = ${stripeId}`;
