import { DurableObject } from "cloudflare:workers";
import { type Clock, createContext, type RequestContext, systemClock } from "../context";
import type { TenantSubscriptionRow } from "../db/schema";
import { errorFields } from "../lib/logger";
import {
  applyBillingEvents,
  type ProcessResult,
  processStripeEvents,
} from "../modules/platform-billing/billing-runs";
import type { BillingEvent } from "../modules/platform-billing/suspension";
import { DELIVERY_TIMEOUT_MS } from "../modules/webhooks/retry-policy";
import type { CarriedEvent } from "../queue/messages";
import {
  createScheduleTable,
  deliverDue,
  EndpointCache,
  MIN_RUN_GAP_MS,
  nextDueAt,
  runGapAfter,
  schedule,
  WRITE_RETRY_MS,
} from "./deliveries";
import { oweKeyRecords, payOwedKeyRecords } from "./key-republish";
import { createSlotsTable, type LimitSlotKind, releaseSlot, reserveSlot } from "./limit-slots";
import { claimName, createNameClaimsTable, releaseName } from "./name-claims";
import { claimSubscribe, createSubscribeClaimTable, releaseSubscribe } from "./subscribe-claim";

/** What every call names: its tenant (checked against this object's) and the calling request. */
interface CallMeta {
  tenantId: string;
  requestId?: string | undefined;
}

/**
 * One instance per tenant (`getByName(tenantId)`): everything that must not race for one tenant
 * runs here, and one tenant's work never waits on another's: the tenant's webhook delivery
 * schedule (driven by the alarm), the platform-billing state machine (suspension and
 * reactivation from Stripe's events), the API keys' edge records a committed run could not
 * publish (retried from the alarm), the slots of its plan's count limits and its one platform
 * subscribe in flight. Called by RPC
 * from the Worker and the queue consumer; it owns no rule itself, it runs the modules' rules.
 */
export class TenantCoordinator extends DurableObject<Env> {
  /** Replaced by tests to move time; everything here reads the clock through it. */
  clock: Clock = systemClock;
  /** Replaced by tests so a slow receiver times out quickly. */
  deliveryTimeoutMs = DELIVERY_TIMEOUT_MS;

  // Billing runs await D1, and a Durable Object takes other calls while it waits on anything but
  // its own storage: runs are chained so that one tenant's transitions never interleave.
  private billingRuns: Promise<unknown> = Promise.resolve();
  /** The tenant this object belongs to, once read from (or written to) storage. */
  private tenant: string | null = null;
  /** The alarm as this object last set or read it (undefined: not read yet). */
  private alarmAt: number | null | undefined;
  /** When the last alarm run started (system time), and the gap before the next (`runGapAfter`). */
  private lastRunAt = 0;
  private runGap = MIN_RUN_GAP_MS;
  private readonly endpoints = new EndpointCache();
  /**
   * Whether API-key records may be owed (`./key-republish`): true until the alarm has looked, and
   * whenever a run owes them, so a delivery run reads that storage only when there can be a debt.
   */
  private keyRecordsMayBeOwed = true;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      createScheduleTable(ctx.storage.sql);
      createSlotsTable(ctx.storage.sql);
      createSubscribeClaimTable(ctx.storage.sql);
      createNameClaimsTable(ctx.storage.sql);
    });
  }

  /** The context the modules' rules run with here, on this object's clock. */
  private context(requestId: string | undefined, route: string): RequestContext {
    return createContext(this.env, {
      requestId: requestId ?? crypto.randomUUID(),
      clock: this.clock,
      route: `coordinator ${route}`,
      waitUntil: (promise) => this.ctx.waitUntil(promise),
    });
  }

  private async tenantId(given?: string): Promise<string | null> {
    const stored = this.tenant ?? (await this.ctx.storage.get<string>("tenant_id")) ?? null;
    if (given && stored && given !== stored) throw new Error("This coordinator belongs to another tenant");
    if (given && !stored) await this.ctx.storage.put("tenant_id", given);
    this.tenant = stored ?? given ?? null;
    return this.tenant;
  }

  /** Sets the alarm to `at` (system time) unless it is already due by then. */
  private async wakeBy(at: number) {
    if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    this.alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }

  private oneAtATime<T>(work: () => Promise<T>): Promise<T> {
    const run = this.billingRuns.then(work, work);
    this.billingRuns = run.catch(() => undefined);
    return run;
  }

  /**
   * Takes events for delivery (with their payloads when the queue message carried them); they go
   * out from the alarm, right away, or the run gap after the previous run started when one
   * just ran. Idempotent per event.
   */
  async enqueueDeliveries(call: CallMeta & { eventIds: string[]; events?: CarriedEvent[] }): Promise<void> {
    await this.tenantId(call.tenantId);
    schedule(this.ctx.storage.sql, call.eventIds, this.clock.now().getTime(), call.events);
    await this.wakeBy(Math.max(Date.now(), this.lastRunAt + this.runGap));
  }

  /**
   * The tenant saved or removed its webhook configuration: the run under way starts no more sends
   * to the endpoint it read (`EndpointCache.generation`), and the next run reads it again.
   */
  async endpointChanged(): Promise<void> {
    this.endpoints.forget();
  }

  /** How many deliveries are waiting, and when the next is due (for the API and tests). */
  async scheduleState(): Promise<{ waiting: number; nextDueAt: number | null }> {
    const waiting = this.ctx.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM deliveries").one().n;
    return { waiting, nextDueAt: nextDueAt(this.ctx.storage.sql) };
  }

  /** Processes recorded Stripe events of this tenant (platform billing and Connect), one run at a time. */
  async applyStripeEvents(call: CallMeta & { eventIds: string[] }): Promise<ProcessResult> {
    await this.tenantId(call.tenantId);
    const ctx = this.context(call.requestId, "stripe events");
    const result = await this.oneAtATime(() => processStripeEvents(ctx, call.tenantId, call.eventIds));
    await this.keepKeyRecordsOwed(result);
    return result;
  }

  /** Applies billing events the API produced itself (subscription calls) through the same machine. */
  async applyBilling(
    call: CallMeta & { events: BillingEvent[]; changes?: Partial<TenantSubscriptionRow> },
  ): Promise<void> {
    await this.tenantId(call.tenantId);
    const ctx = this.context(call.requestId, "billing");
    const result = await this.oneAtATime(() =>
      applyBillingEvents(ctx, call.tenantId, call.events, call.changes ?? {}),
    );
    await this.keepKeyRecordsOwed(result);
  }

  /**
   * A request committed a tenant change whose API-key records KV did not take: owed, as below. The
   * tenant is named because the alarm pays only for an object that knows its tenant, and this may
   * be the first call it gets.
   */
  async oweKeyRecords(call: CallMeta): Promise<void> {
    await this.tenantId(call.tenantId);
    await this.keepKeyRecordsOwed({ keysUnpublished: true });
  }

  /** A run committed a tenant change KV did not take: the alarm publishes it until KV does. */
  private async keepKeyRecordsOwed(result: { keysUnpublished?: true }) {
    if (!result.keysUnpublished) return;
    this.keyRecordsMayBeOwed = true;
    await this.wakeBy(await oweKeyRecords(this.ctx.storage, Date.now()));
  }

  /**
   * Reserves a slot for the row `rowId` under a count limit of the tenant's plan; false when the
   * limit is reached. Every other event of this object waits meanwhile (the D1 count is
   * awaited), so reservations of one tenant never race.
   */
  async reserveLimitSlot(
    call: CallMeta & { kind: LimitSlotKind; limit: number; rowId: string },
  ): Promise<boolean> {
    await this.tenantId(call.tenantId);
    const ctx = this.context(call.requestId, "limit slot");
    return this.ctx.blockConcurrencyWhile(() =>
      reserveSlot(
        { storage: this.ctx.storage.sql, db: ctx.db, now: this.clock.now().getTime() },
        call.tenantId,
        call,
      ),
    );
  }

  async releaseLimitSlot(rowId: string): Promise<void> {
    releaseSlot(this.ctx.storage.sql, rowId);
  }

  /** Claims the tenant's one subscribe in flight (`./subscribe-claim`): its attempt number, or null. */
  async claimSubscribe(call: CallMeta & { claimId: string }): Promise<number | null> {
    await this.tenantId(call.tenantId);
    return claimSubscribe(this.ctx.storage.sql, call.claimId, this.clock.now().getTime());
  }

  async releaseSubscribe(call: { claimId: string; outcomeKnown: boolean }): Promise<void> {
    releaseSubscribe(this.ctx.storage.sql, call.claimId, call.outcomeKnown);
  }

  /** Claims a name of the tenant (`./name-claims`): false while another request holds it. */
  async claimName(call: CallMeta & { name: string; claimId: string }): Promise<boolean> {
    await this.tenantId(call.tenantId);
    return claimName(this.ctx.storage.sql, call.name, call.claimId, this.clock.now().getTime());
  }

  async releaseName(call: { name: string; claimId: string }): Promise<void> {
    releaseName(this.ctx.storage.sql, call.name, call.claimId);
  }

  override async alarm(): Promise<void> {
    // The alarm that fired is gone; one set while this run works is recorded by wakeBy.
    this.alarmAt = null;
    this.lastRunAt = Date.now();
    const tenantId = await this.tenantId();
    if (tenantId) {
      const ctx = this.context(undefined, "alarm");
      try {
        const ran = await deliverDue(
          {
            ctx,
            sql: this.ctx.storage.sql,
            transaction: (work) => this.ctx.storage.transactionSync(work),
            endpoints: this.endpoints,
            allowInsecureLocalhost: ctx.config.app.WEBHOOK_ALLOW_INSECURE_URLS,
            timeoutMs: this.deliveryTimeoutMs,
          },
          tenantId,
        );
        this.runGap = runGapAfter(ran.oldestWaitedMs);
      } catch (error) {
        // A run that failed before it sent (D1 unreachable for the endpoint or the payloads) left
        // its events scheduled as they were. It must not throw: the runtime retries a failed
        // alarm a few times and then drops it, and events that are only in this object's storage
        // (emitted on their own) would wait for the tenant's next event. The next run is set
        // below like any other, after the pause of a failed write.
        ctx.log.error("delivery run failed; it runs again shortly", {
          ...errorFields(error),
          outcome: "retry",
        });
        this.runGap = WRITE_RETRY_MS;
      }
      if (this.keyRecordsMayBeOwed) {
        // Cleared first: a debt recorded while this payment runs sets it again.
        this.keyRecordsMayBeOwed = false;
        const retryOwedAt = await payOwedKeyRecords(ctx, this.ctx.storage, tenantId, Date.now());
        if (retryOwedAt !== null) {
          this.keyRecordsMayBeOwed = true;
          await this.wakeBy(retryOwedAt);
        }
      }
    }
    // Due times are on this object's clock; the alarm is on the system's: wait the difference.
    const next = nextDueAt(this.ctx.storage.sql);
    if (next !== null) {
      const wait = Math.max(0, next - this.clock.now().getTime());
      await this.wakeBy(Math.max(Date.now() + wait, this.lastRunAt + this.runGap));
    }
  }
}
