import { createContext } from "./context";
import { errorFields } from "./lib/logger";
import { recordDueDiscountEnds } from "./modules/analytics/analytics-run";
import { reconcileDueTenants } from "./modules/analytics/reconcile";
import { carryRollupsForward } from "./modules/analytics/rollup-writes";
import { refreshTenantKeyRecords } from "./modules/api-keys/api-keys.service";
import { sweepEdgeDebts } from "./modules/api-keys/edge-debts";
import { purgeExpiredSessions } from "./modules/auth/sessions";
import { purgeExpiredIdempotencyKeys } from "./modules/idempotency/idempotency";
import { sweepUnprocessedStripeEvents } from "./modules/stripe-events/ingest.service";
import { sweepStalePending } from "./modules/webhooks/events.service";

type Job = (ctx: ReturnType<typeof createContext>) => Promise<unknown>;

/** A job for the first run of each hour only (the trigger fires every 5 minutes). */
const hourly =
  (job: Job): Job =>
  (ctx) =>
    ctx.clock.now().getUTCMinutes() < 5 ? job(ctx) : Promise.resolve();

/**
 * Everything the cron trigger runs (`[triggers] crons` in wrangler.toml), in one place: each job
 * is a module's function taking the same context as a request, on the trigger's clock.
 */
const JOBS = [
  ["purge expired sessions and throttles", purgeExpiredSessions],
  ["re-hand tenant events whose hand-off was lost", (ctx) => sweepStalePending(ctx)],
  ["re-queue Stripe events never processed", (ctx) => sweepUnprocessedStripeEvents(ctx)],
  [
    "publish API key records a commit owed and never published",
    (ctx) => sweepEdgeDebts(ctx, refreshTenantKeyRecords),
  ],
  ["forget expired idempotency keys", purgeExpiredIdempotencyKeys],
  ["give each analytics series today's rollup rows", hourly(carryRollupsForward)],
  // Before the reconcile, which counts an end that has come as the mirror's MRR.
  ["record repeating discounts' ends that have come", recordDueDiscountEnds],
  ["reconcile tenants' analytics with their subscription mirror", reconcileDueTenants],
] as const satisfies readonly (readonly [string, Job])[];

export async function runCron(env: Env, scheduledTime: number, execution: ExecutionContext) {
  const now = new Date(scheduledTime);
  const ctx = createContext(env, {
    requestId: crypto.randomUUID(),
    clock: { now: () => now },
    route: "cron",
    waitUntil: (promise) => execution.waitUntil(promise),
  });
  for (const [name, job] of JOBS) {
    try {
      await job(ctx);
    } catch (error) {
      // One job's failure does not skip the others; the next run tries again.
      ctx.log.error("cron job failed", { job: name, outcome: "error", ...errorFields(error) });
    }
  }
}
