import { and, desc, eq, like } from "drizzle-orm";
import { type BillingInterval, type PlanRow, plans } from "../../db/schema";
import type { Services } from "../../env";
import { notFound } from "../../lib/errors";
import { afterCursor, decodeCursor, toPage } from "../../lib/pagination";

/** Who asks: a user (everything of the tenant) or an API key (its mode; publishable: public plans only). */
export interface PlanViewer {
  tenantId: string;
  actorId: string;
  livemode: boolean | null;
  publicOnly: boolean;
}

export interface PlanFilters {
  limit: number;
  cursor?: string | undefined;
  is_active?: boolean | undefined;
  billing_interval?: BillingInterval | undefined;
  search?: string | undefined;
}

export async function listPlans(services: Services, viewer: PlanViewer, filters: PlanFilters) {
  const after = decodeCursor(filters.cursor);
  const rows = await services.db
    .select()
    .from(plans)
    .where(
      and(
        eq(plans.tenantId, viewer.tenantId),
        viewer.livemode === null ? undefined : eq(plans.livemode, viewer.livemode),
        viewer.publicOnly ? and(eq(plans.isActive, true), eq(plans.isVisible, true)) : undefined,
        filters.is_active === undefined ? undefined : eq(plans.isActive, filters.is_active),
        filters.billing_interval ? eq(plans.billingInterval, filters.billing_interval) : undefined,
        filters.search ? like(plans.name, `%${filters.search.replace(/[%_]/g, "")}%`) : undefined,
        afterCursor(plans.createdAt, plans.id, after),
      ),
    )
    .orderBy(desc(plans.createdAt), desc(plans.id))
    .limit(filters.limit + 1);
  return toPage(rows, filters.limit);
}

/** One plan of the viewer's tenant (and mode); another tenant's plan is simply not found. */
export async function getPlan(services: Services, viewer: PlanViewer, planId: string): Promise<PlanRow> {
  const plan = await services.db
    .select()
    .from(plans)
    .where(and(eq(plans.id, planId), eq(plans.tenantId, viewer.tenantId)))
    .get();
  const hidden =
    !plan ||
    (viewer.livemode !== null && plan.livemode !== viewer.livemode) ||
    (viewer.publicOnly && !(plan.isActive && plan.isVisible));
  if (hidden) throw notFound("Plan");
  return plan;
}
