import { eq } from "drizzle-orm";
import { notFound } from "../lib/errors";
import type { Database } from "./client";
import { type TenantRow, tenantSubscriptions, tenants } from "./schema";

/**
 * The one way a tenant row is read. `tenantQuery` is the statement (for a `db.batch` with other
 * reads); `findTenant` answers the row or undefined; `loadTenant` answers it or 404 (a caller's
 * tenant that no longer exists).
 */
export const tenantQuery = (db: Database, tenantId: string) =>
  db.select().from(tenants).where(eq(tenants.id, tenantId));

export async function findTenant(db: Database, tenantId: string): Promise<TenantRow | undefined> {
  return tenantQuery(db, tenantId).get();
}

export async function loadTenant(db: Database, tenantId: string): Promise<TenantRow> {
  const tenant = await findTenant(db, tenantId);
  if (!tenant) throw notFound("Tenant");
  return tenant;
}

/** The tenant and its platform subscription mirror (if any), in one round trip. */
export async function findTenantWithSubscription(db: Database, tenantId: string) {
  const [tenantRows, subscriptionRows] = await db.batch([
    tenantQuery(db, tenantId),
    db.select().from(tenantSubscriptions).where(eq(tenantSubscriptions.tenantId, tenantId)),
  ]);
  return { tenant: tenantRows[0], subscription: subscriptionRows[0] };
}
