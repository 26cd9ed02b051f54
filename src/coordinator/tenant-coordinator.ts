import { DurableObject } from "cloudflare:workers";
import { appConfig } from "../config";
import type { TenantSubscriptionRow } from "../db/schema";
import { type Clock, systemClock } from "../env";
import { limitReached } from "../lib/tiers";
import { database } from "../middleware/services";
import type { BillingEvent } from "../modules/platform-billing/suspension";
import { DELIVERY_TIMEOUT_MS } from "../modules/webhooks/retry-policy";
import { applyBillingEvents, type ProcessResult, processStripeEvents } from "./billing";
import { createScheduleTable, deliverDue, nextDueAt, schedule } from "./deliveries";
import { createSlotsTable, type LimitSlotKind, releaseSlot, reserveSlot } from "./limit-slots";

/**
 * One instance per tenant (`getByName(tenantId)`): everything that must not race for one tenant
 * runs here, one tenant's work never waits on another's: the tenant's webhook delivery
 * schedule, driven by the alarm, and the platform-billing state machine (suspension and
 * reactivation from Stripe's events). Called by RPC from the Worker and the queue consumer.
 */
export class TenantCoordinator extends DurableObject<Env> {
  /** Replaced by tests to move time; everything here reads the clock through it. */
  clock: Clock = systemClock;
  /** Replaced by tests so a slow receiver times out quickly. */
  deliveryTimeoutMs = DELIVERY_TIMEOUT_MS;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      createScheduleTable(ctx.storage.sql);
      createSlotsTable(ctx.storage.sql);
    });
  }

  private async tenantId(given?: string): Promise<string | null> {
    const stored = (await this.ctx.storage.get<string>("tenant_id")) ?? null;
    if (given && stored && given !== stored) throw new Error("This coordinator belongs to another tenant");
    if (given && !stored) await this.ctx.storage.put("tenant_id", given);
    return stored ?? given ?? null;
  }

  /** Takes events for delivery; they go out from the alarm, right away. Idempotent per event. */
  async enqueueDeliveries(tenantId: string, eventIds: string[]): Promise<void> {
    await this.tenantId(tenantId);
    const now = this.clock.now().getTime();
    schedule(this.ctx.storage.sql, eventIds, now);
    const alarm = await this.ctx.storage.getAlarm();
    if (alarm === null || alarm > now) await this.ctx.storage.setAlarm(now);
  }

  /** How many deliveries are waiting, and when the next is due (for the API and tests). */
  async scheduleState(): Promise<{ waiting: number; nextDueAt: number | null }> {
    const waiting = this.ctx.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM deliveries").one().n;
    return { waiting, nextDueAt: nextDueAt(this.ctx.storage.sql) };
  }

  private billingDeps() {
    return { db: database(this.env.DB), kv: this.env.KV, queue: this.env.EVENTS_QUEUE, clock: this.clock };
  }

  // Billing runs await D1, and a Durable Object takes other calls while it waits on anything but
  // its own storage: runs are chained so that one tenant's transitions never interleave.
  private billingRuns: Promise<unknown> = Promise.resolve();

  private oneAtATime<T>(work: () => Promise<T>): Promise<T> {
    const run = this.billingRuns.then(work, work);
    this.billingRuns = run.catch(() => undefined);
    return run;
  }

  /** Processes recorded Stripe events of this tenant (platform billing and Connect), one run at a time. */
  async applyStripeEvents(tenantId: string, eventIds: string[]): Promise<ProcessResult> {
    await this.tenantId(tenantId);
    return this.oneAtATime(() => processStripeEvents(this.billingDeps(), tenantId, eventIds));
  }

  /** Applies billing events the API produced itself (subscription calls) through the same machine. */
  async applyBilling(
    tenantId: string,
    events: BillingEvent[],
    changes: Partial<TenantSubscriptionRow> = {},
  ): Promise<void> {
    await this.tenantId(tenantId);
    await this.oneAtATime(() => applyBillingEvents(this.billingDeps(), tenantId, events, changes));
  }

  /**
   * Reserves a slot under a count limit of the tenant's plan, or null when the limit is reached.
   * Every other event of this object waits meanwhile (the D1 count is awaited), so reservations
   * of one tenant never race.
   */
  async reserveLimitSlot(
    tenantId: string,
    slot: { kind: LimitSlotKind; limit: number; rowId: string },
  ): Promise<boolean> {
    await this.tenantId(tenantId);
    return this.ctx.blockConcurrencyWhile(() =>
      reserveSlot(
        { storage: this.ctx.storage.sql, db: database(this.env.DB), now: this.clock.now().getTime() },
        tenantId,
        slot,
      ),
    );
  }

  async releaseLimitSlot(rowId: string): Promise<void> {
    releaseSlot(this.ctx.storage.sql, rowId);
  }

  override async alarm(): Promise<void> {
    const tenantId = await this.tenantId();
    if (tenantId) {
      await deliverDue(
        {
          sql: this.ctx.storage.sql,
          db: database(this.env.DB),
          clock: this.clock,
          allowInsecureLocalhost: appConfig(this.env).WEBHOOK_ALLOW_INSECURE_URLS,
          timeoutMs: this.deliveryTimeoutMs,
        },
        tenantId,
      );
    }
    // Due times are on this object's clock; the alarm is on the system's: wait the difference.
    const next = nextDueAt(this.ctx.storage.sql);
    if (next !== null)
      await this.ctx.storage.setAlarm(Date.now() + Math.max(0, next - this.clock.now().getTime()));
  }
}

export function coordinatorFor(env: { TENANT_COORDINATOR: Env["TENANT_COORDINATOR"] }, tenantId: string) {
  return env.TENANT_COORDINATOR.getByName(tenantId);
}

/**
 * Runs `work`, which creates the row `rowId`, holding a slot under a count limit of the
 * tenant's plan (null: unlimited), and releases it afterwards, whether `work` committed or
 * failed (Stripe down, D1 error). Refuses with 402 `plan_limit_reached` when the limit is reached.
 */
export async function withLimitSlot<T>(
  coordinators: Env["TENANT_COORDINATOR"],
  tenantId: string,
  slot: { kind: LimitSlotKind; limit: number | null; rowId: string; what: string },
  work: () => Promise<T>,
): Promise<T> {
  const { kind, limit, rowId } = slot;
  if (limit === null) return work();
  const coordinator = coordinators.getByName(tenantId);
  if (!(await coordinator.reserveLimitSlot(tenantId, { kind, limit, rowId })))
    throw limitReached(limit, kind, slot.what);
  try {
    return await work();
  } finally {
    await coordinator.releaseLimitSlot(rowId);
  }
}
