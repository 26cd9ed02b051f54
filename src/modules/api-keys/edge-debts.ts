import { and, asc, eq, lt, sql } from "drizzle-orm";
import type { RequestContext } from "../../context";
import type { Database } from "../../db/client";
import { edgeKeyDebts, tenantSubscriptions } from "../../db/schema";
import { newId } from "../../lib/crypto";
import { errorFields } from "../../lib/logger";

/**
 * The edge records a D1 commit owes KV, recorded in the commit's own batch (`edge_key_debts`), so
 * that no Worker death between the commit and its publication leaves a revoked key or a suspended
 * tenant's keys working at the edge for the day KV keeps a record: the publication that follows
 * clears its own debt, and the cron's sweep pays one left behind.
 */
export interface EdgeDebt {
  tenantId: string;
  debtId: string;
}

/** How long a debt is left to the commit that made it (its publication takes moments). */
export const SWEEP_DEBTS_AFTER_MS = 60_000;
const SWEEP_BATCH = 100;

export const newEdgeDebt = (tenantId: string): EdgeDebt => ({ tenantId, debtId: newId("debt") });

/**
 * A debt over one still owed merges with it: a publication after a commit may cover only the keys
 * it changed (a revoke of test keys, not a suspension's live ones), so the merged debt is cleared
 * by no single commit's settle, only by the sweep's publication of every key, from the older debt's
 * time (a stream of commits does not put the sweep off).
 */
const upsert = {
  target: edgeKeyDebts.tenantId,
  set: {
    debtId: sql`excluded.debt_id || '+' || ${edgeKeyDebts.debtId}`,
    owedAt: sql`min(${edgeKeyDebts.owedAt}, excluded.owed_at)`,
  },
};

/** The statement recording `debt`, for the batch that commits the change. */
export function oweEdgeRecords(db: Database, debt: EdgeDebt, at: Date) {
  return db
    .insert(edgeKeyDebts)
    .values({ ...debt, owedAt: at })
    .onConflictDoUpdate(upsert);
}

/**
 * Like `oweEdgeRecords`, only if the statement just before it in the batch changed a row
 * (`changes()`): for a compare-and-set whose losing batch changes nothing and owes nothing.
 */
export function oweEdgeRecordsIfChanged(db: Database, debt: EdgeDebt, at: Date) {
  return db
    .insert(edgeKeyDebts)
    .select(sql`SELECT ${debt.tenantId}, ${debt.debtId}, ${at.getTime()} WHERE changes() > 0`)
    .onConflictDoUpdate(upsert);
}

/** A debt for each tenant on a platform plan (its limits changed), under one id. */
export function oweEdgeRecordsOfSubscribers(db: Database, planId: string, debtId: string, at: Date) {
  return db
    .insert(edgeKeyDebts)
    .select(
      sql`SELECT ${tenantSubscriptions.tenantId}, ${debtId}, ${at.getTime()} FROM ${tenantSubscriptions}
        WHERE ${tenantSubscriptions.planId} = ${planId}`,
    )
    .onConflictDoUpdate(upsert);
}

/**
 * Clears a debt once its records are published, unless a later commit owes them again (its own
 * publication or the sweep pays that one). Failing to clear costs one more publication, not an
 * error for the caller.
 */
export async function settleEdgeDebt(ctx: RequestContext, debt: EdgeDebt): Promise<void> {
  try {
    await ctx.db
      .delete(edgeKeyDebts)
      .where(and(eq(edgeKeyDebts.tenantId, debt.tenantId), eq(edgeKeyDebts.debtId, debt.debtId)));
  } catch (error) {
    ctx.log.warn("edge records published, debt not cleared; the sweep publishes them again", {
      tenant_id: debt.tenantId,
      ...errorFields(error),
    });
  }
}

/**
 * The cron's part: publishes the records of every debt older than a minute (from D1 as it is now)
 * and clears it, oldest first. Answers how many were paid; one that fails stays for the next run.
 */
export async function sweepEdgeDebts(
  ctx: RequestContext,
  publish: (ctx: RequestContext, tenantId: string) => Promise<void>,
): Promise<number> {
  const cutoff = new Date(ctx.clock.now().getTime() - SWEEP_DEBTS_AFTER_MS);
  const due = await ctx.db
    .select()
    .from(edgeKeyDebts)
    .where(lt(edgeKeyDebts.owedAt, cutoff))
    .orderBy(asc(edgeKeyDebts.owedAt))
    .limit(SWEEP_BATCH);
  let paid = 0;
  for (const debt of due) {
    try {
      await publish(ctx, debt.tenantId);
    } catch (error) {
      ctx.log.error("owed API key records not published by the sweep; next run", {
        tenant_id: debt.tenantId,
        ...errorFields(error),
      });
      continue;
    }
    await settleEdgeDebt(ctx, debt);
    paid++;
  }
  if (paid) ctx.log.warn("API key records a commit owed were published by the sweep", { count: paid });
  return paid;
}
