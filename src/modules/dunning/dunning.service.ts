import { and, desc, eq } from "drizzle-orm";
import { type RequestContext, userCaller } from "../../context";
import type { Database } from "../../db/client";
import { type DunningAction, dunningSettings, dunningSteps } from "../../db/schema";
import { auditInsert } from "../../lib/audit";
import { afterCursor, decodeCursor, toPage } from "../../lib/pagination";
import { readScope } from "../../lib/scope";
import { findInvoice } from "../invoices/invoices.queries";
import { findSubscription } from "../subscriptions/subscriptions.service";
import { DEFAULT_DUNNING_POLICY, type DunningPolicy } from "./dunning.rules";

/** The tenant's dunning policy (the default until it sets one), and when it was set. */
export async function loadDunningPolicy(
  db: Database,
  tenantId: string,
): Promise<DunningPolicy & { updatedAt: Date | null }> {
  const row = await db.select().from(dunningSettings).where(eq(dunningSettings.tenantId, tenantId)).get();
  if (!row) return { ...DEFAULT_DUNNING_POLICY, updatedAt: null };
  return {
    afterAttempts: row.afterAttempts,
    action: row.action,
    notifyEachFailure: row.notifyEachFailure,
    updatedAt: row.updatedAt,
  };
}

export function getDunningSettings(ctx: RequestContext) {
  return loadDunningPolicy(ctx.db, userCaller(ctx).tenantId);
}

export interface DunningSettingsInput {
  after_attempts: number;
  action: DunningAction;
  notify_each_failure: boolean;
}

/** Sets the tenant's policy (owner, admin, billing), audited in the same batch. It applies to failures from now on. */
export async function putDunningSettings(ctx: RequestContext, input: DunningSettingsInput) {
  const caller = userCaller(ctx);
  const now = ctx.clock.now();
  const values = {
    tenantId: caller.tenantId,
    afterAttempts: input.after_attempts,
    action: input.action,
    notifyEachFailure: input.notify_each_failure,
    updatedBy: caller.userId,
    updatedAt: now,
  };
  const { tenantId: _tenant, ...set } = values;
  await ctx.db.batch([
    ctx.db
      .insert(dunningSettings)
      .values(values)
      .onConflictDoUpdate({ target: dunningSettings.tenantId, set }),
    auditInsert(ctx.db, {
      tenantId: caller.tenantId,
      actorType: "user",
      actorId: caller.userId,
      action: "dunning.settings_updated",
      targetType: "tenant",
      targetId: caller.tenantId,
      metadata: { ...input },
      requestId: ctx.requestId,
      at: now,
    }),
  ]);
  return {
    afterAttempts: input.after_attempts,
    action: input.action,
    notifyEachFailure: input.notify_each_failure,
    updatedAt: now,
  };
}

export interface DunningStepFilters {
  limit: number;
  cursor?: string | undefined;
  subscription?: string | undefined;
  invoice?: string | undefined;
}

/** What dunning did for the tenant, newest first (per subscription or invoice when asked). */
export async function listDunningSteps(ctx: RequestContext, filters: DunningStepFilters) {
  const scope = readScope(ctx);
  // Another tenant's subscription or invoice is not found, rather than an empty log.
  if (filters.subscription) await findSubscription(ctx, filters.subscription);
  if (filters.invoice) await findInvoice(ctx, filters.invoice);
  const rows = await ctx.db
    .select()
    .from(dunningSteps)
    .where(
      and(
        eq(dunningSteps.tenantId, scope.tenantId),
        scope.livemode === null ? undefined : eq(dunningSteps.livemode, scope.livemode),
        filters.subscription ? eq(dunningSteps.subscriptionId, filters.subscription) : undefined,
        filters.invoice ? eq(dunningSteps.invoiceId, filters.invoice) : undefined,
        afterCursor(dunningSteps.createdAt, dunningSteps.id, decodeCursor(filters.cursor)),
      ),
    )
    .orderBy(desc(dunningSteps.createdAt), desc(dunningSteps.id))
    .limit(filters.limit + 1);
  return toPage(rows, filters.limit);
}
