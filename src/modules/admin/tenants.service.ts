import { and, desc, eq, like, or, type SQL } from "drizzle-orm";
import type { RequestContext } from "../../context";
import { type TenantStatus, tenantSubscriptions, tenants } from "../../db/schema";
import { notFound } from "../../lib/errors";
import { afterCursor, decodeCursor, toPage } from "../../lib/pagination";

// Explicit fields (not whole tables): both tables have `created_at`/`updated_at`, and the
// subscription is nested so drizzle gives null for a tenant without a subscription row.
const tenantFields = {
  id: tenants.id,
  companyName: tenants.companyName,
  slug: tenants.slug,
  status: tenants.status,
  suspendedReason: tenants.suspendedReason,
  suspendedAt: tenants.suspendedAt,
  subscriptionTier: tenants.subscriptionTier,
  stripeConnectStatus: tenants.stripeConnectStatus,
  createdAt: tenants.createdAt,
  subscription: {
    tenantId: tenantSubscriptions.tenantId,
    planId: tenantSubscriptions.planId,
    status: tenantSubscriptions.status,
    stripeCustomerId: tenantSubscriptions.stripeCustomerId,
    stripeSubscriptionId: tenantSubscriptions.stripeSubscriptionId,
    currentPeriodEnd: tenantSubscriptions.currentPeriodEnd,
    cancelAtPeriodEnd: tenantSubscriptions.cancelAtPeriodEnd,
  },
};

function selectTenants(ctx: RequestContext, where: SQL | undefined) {
  return ctx.db
    .select(tenantFields)
    .from(tenants)
    .leftJoin(tenantSubscriptions, eq(tenantSubscriptions.tenantId, tenants.id))
    .where(where);
}

export type AdminTenantRow = Awaited<ReturnType<typeof selectTenants>>[number];

export interface TenantFilters {
  limit: number;
  cursor?: string | undefined;
  status?: TenantStatus | undefined;
  search?: string | undefined;
}

/** Every tenant of the platform, newest first, with its platform subscription. */
export async function listTenants(ctx: RequestContext, filters: TenantFilters) {
  const after = decodeCursor(filters.cursor);
  const term = filters.search?.replace(/[%_]/g, "");
  const rows = await selectTenants(
    ctx,
    and(
      filters.status ? eq(tenants.status, filters.status) : undefined,
      term ? or(like(tenants.companyName, `%${term}%`), like(tenants.slug, `%${term}%`)) : undefined,
      afterCursor(tenants.createdAt, tenants.id, after),
    ),
  )
    .orderBy(desc(tenants.createdAt), desc(tenants.id))
    .limit(filters.limit + 1);
  return toPage(rows, filters.limit);
}

export async function getTenant(ctx: RequestContext, id: string): Promise<AdminTenantRow> {
  const [row] = await selectTenants(ctx, eq(tenants.id, id)).limit(1);
  if (!row) throw notFound("Tenant");
  return row;
}
