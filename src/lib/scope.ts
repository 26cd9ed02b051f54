import { eq, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { auditActor, type RequestContext, tenantCaller } from "../context";
import { ApiError } from "./errors";

/**
 * Which of a tenant's billing objects a caller sees and makes. An API key sees only its mode's
 * objects (a test key never sees a live customer); the tenant's users see both. Objects are made
 * in the mode of the platform's Stripe key, the only mode Stripe will make them in; a key of the
 * other mode may read (and finds nothing) but not create.
 */
export interface ReadScope {
  tenantId: string;
  /** null: any mode (the tenant's users). */
  livemode: boolean | null;
}

export interface WriteScope {
  tenantId: string;
  livemode: boolean;
  actor: ReturnType<typeof auditActor>;
}

export function readScope(ctx: RequestContext): ReadScope {
  const caller = tenantCaller(ctx);
  return { tenantId: caller.tenantId, livemode: caller.kind === "api_key" ? caller.mode === "live" : null };
}

export function writeScope(ctx: RequestContext): WriteScope {
  const caller = tenantCaller(ctx);
  const livemode = ctx.config.stripe.livemode;
  if (caller.kind === "api_key" && (caller.mode === "live") !== livemode) {
    const mode = livemode ? "live" : "test";
    throw new ApiError(
      "livemode_mismatch",
      `This platform's Stripe account runs in ${mode} mode: use your ${mode} secret key (sk_${mode}_...)`,
    );
  }
  return { tenantId: caller.tenantId, livemode, actor: auditActor(ctx) };
}

/** The mode condition of a query in `scope` (none for the tenant's users). */
export const inMode = (column: SQLiteColumn, scope: ReadScope): SQL | undefined =>
  scope.livemode === null ? undefined : eq(column, scope.livemode);

/** Whether a row is visible in `scope` (its tenant and, for keys, its mode). */
export const visibleIn = (row: { tenantId: string; livemode: boolean }, scope: ReadScope): boolean =>
  row.tenantId === scope.tenantId && (scope.livemode === null || row.livemode === scope.livemode);
