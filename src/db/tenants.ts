import { eq } from "drizzle-orm";
import type { Database } from "../env";
import { notFound } from "../lib/errors";
import { type TenantRow, tenants } from "./schema";

/** The tenant row, or 404 (a principal's tenant that no longer exists). */
export async function loadTenant(db: Database, tenantId: string): Promise<TenantRow> {
  const tenant = await db.select().from(tenants).where(eq(tenants.id, tenantId)).get();
  if (!tenant) throw notFound("Tenant");
  return tenant;
}
