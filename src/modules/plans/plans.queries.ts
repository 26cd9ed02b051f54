import { and, desc, eq, like } from "drizzle-orm";
import { type RequestContext, tenantCaller } from "../../context";
import { type BillingInterval, type PlanRow, plans } from "../../db/schema";
import { notFound } from "../../lib/errors";
import { afterCursor, decodeCursor, toPage } from "../../lib/pagination";

/** Who asks: a user (everything of the tenant) or an API key (its mode; publishable: public plans only). */
export interface PlanViewer {
  tenantId: string;
  actorId: string;
  livemode: boolean | null;
  publicOnly: boolean;
}

/** What the caller may see of the tenant's plans. */
export function planViewer(ctx: RequestContext): PlanViewer {
  const caller = tenantCaller(ctx);
  if (caller.kind === "api_key") {
    return {
      tenantId: caller.tenantId,
      actorId: caller.keyId,
      livemode: caller.mode === "live",
      publicOnly: caller.keyKind === "publishable",
    };
  }
  return { tenantId: caller.tenantId, actorId: caller.userId, livemode: null, publicOnly: false };
}

export interface PlanFilters {
  limit: number;
  cursor?: string | undefined;
  is_active?: boolean | undefined;
  billing_interval?: BillingInterval | undefined;
  search?: string | undefined;
}

export async function listPlans(ctx: RequestContext, filters: PlanFilters) {
  const viewer = planViewer(ctx);
  const after = decodeCursor(filters.cursor);
  const rows = await ctx.db
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

/** One plan of the caller's tenant (and mode); another tenant's plan is simply not found. */
export async function getPlan(ctx: RequestContext, planId: string): Promise<PlanRow> {
  const viewer = planViewer(ctx);
  const plan = await ctx.db
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
