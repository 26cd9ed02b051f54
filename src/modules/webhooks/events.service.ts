import { and, desc, eq, gte, lt, ne, type SQL, sql } from "drizzle-orm";
import { type RequestContext, userCaller } from "../../context";
import type { Database } from "../../db/client";
import { type WebhookEventRow, webhookAttempts, webhookEvents } from "../../db/schema";
import { loadTenant } from "../../db/tenants";
import { ApiError, notFound } from "../../lib/errors";
import { errorFields } from "../../lib/logger";
import { afterCursor, decodeCursor, toPage } from "../../lib/pagination";
import type { CarriedEvent, DeliverMessage } from "../../queue/messages";
import { buildEnvelope, refuseOversizedEvent, utf8Length } from "./envelope";

export interface EmitInput {
  tenantId: string;
  type: string;
  object: unknown;
  livemode?: boolean;
  /** Saves a read when the caller already has it. */
  companyName?: string;
}

const deliverMessage = (
  tenantId: string,
  eventIds: string[],
  requestId?: string,
  events?: CarriedEvent[],
): DeliverMessage => ({
  kind: "webhook.deliver",
  tenant_id: tenantId,
  event_ids: eventIds,
  ...(requestId ? { request_id: requestId } : {}),
  ...(events?.length ? { events } : {}),
});

/**
 * Payload bytes one message carries at most (Queues take 128 KB per message): larger events, and
 * those past the budget, travel by id and the coordinator reads them from D1.
 */
const CARRIED_BYTES_PER_MESSAGE = 64 * 1024;

/** The events whose payloads fit in one message's budget (UTF-8 is at most 3 bytes per UTF-16 unit). */
function carriedEvents(rows: WebhookEventRow[]): CarriedEvent[] {
  const carried: CarriedEvent[] = [];
  let budget = CARRIED_BYTES_PER_MESSAGE;
  for (const row of rows) {
    const bytes = row.payload.length * 3 <= budget ? row.payload.length * 3 : utf8Length(row.payload);
    if (bytes > budget) continue;
    budget -= bytes;
    carried.push({ id: row.id, type: row.type, payload: row.payload });
  }
  return carried;
}

export interface PreparedEvent {
  row: WebhookEventRow;
  /**
   * Fields of the event's object whose value the D1 batch that writes the event settles, by SQL
   * (an invoice's `amount_refunded`, which refunds committing meanwhile change): set in the payload
   * as the row is written; `commitWithEvents` answers the event with the payload written.
   */
  settledInSql?: Record<string, SQL>;
}

/** The payload to write: `row.payload`, with the fields `settledInSql` names set in SQL. */
function storedPayload(event: PreparedEvent): SQL {
  const fields = Object.entries(event.settledInSql ?? {});
  if (!fields.length) return sql`${event.row.payload}`;
  const pairs = fields.map(([field, value]) => sql`${`$.data.object.${field}`}, ${value}`);
  return sql`json_set(${event.row.payload}, ${sql.join(pairs, sql`, `)})`;
}

/**
 * Builds an event for a tenant (the seed's envelope, a stable id, the exact payload), refusing
 * payloads over 256 KB with a clear error rather than truncating them later. Callers insert
 * `row` in the same D1 batch as the change it reports (an outbox), then `dispatchEvents`.
 */
export function prepareEvent(input: EmitInput & { companyName: string }, now: Date): PreparedEvent {
  const envelope = buildEnvelope({
    type: input.type,
    object: input.object,
    livemode: input.livemode ?? false,
    tenant: { id: input.tenantId, company_name: input.companyName },
    now,
  });
  const payload = JSON.stringify(envelope);
  refuseOversizedEvent(payload, input.type);
  return {
    row: {
      id: envelope.id,
      tenantId: input.tenantId,
      type: input.type,
      payload,
      status: "pending",
      attempts: 0,
      nextAttemptAt: now,
      lastAttemptAt: null,
      deliveredAt: null,
      lastError: null,
      isTest: false,
      createdAt: now,
    },
  };
}

/**
 * What an event's insert answers: its id, and its payload as written when SQL settled part of it
 * (`settledInSql`); otherwise null, the payload being the one prepared (not read back: up to 256 KB).
 */
const writtenEvent = (event: PreparedEvent) => ({
  id: webhookEvents.id,
  payload: event.settledInSql ? webhookEvents.payload : sql<null>`NULL`,
});

/** The event's row; answers `writtenEvent`. */
export const insertEvent = (db: Database, event: PreparedEvent) =>
  db
    .insert(webhookEvents)
    .values({ ...event.row, payload: storedPayload(event) })
    .returning(writtenEvent(event));

/**
 * The event's row, written only if `recorded` finds nothing (see `unlessRecorded` of the outbox
 * commits); answers `writtenEvent` when written. Goes in the batch before the statement that
 * writes the row.
 */
export function insertEventUnless(db: Database, event: PreparedEvent, recorded: SQL) {
  const r = event.row;
  // Values in the table's column order, as drizzle's INSERT ... SELECT lists every column.
  return db
    .insert(webhookEvents)
    .select(
      sql`SELECT ${r.id}, ${r.tenantId}, ${r.type}, ${storedPayload(event)}, ${r.status}, ${r.attempts},
        ${r.nextAttemptAt?.getTime() ?? null}, NULL, NULL, NULL, 0, ${r.createdAt.getTime()}
      WHERE NOT EXISTS (${recorded})`,
    )
    .returning(writtenEvent(event));
}

/**
 * Hands stored events to their tenants' coordinators. An event whose hand-off is lost stays
 * `pending` and the cron sweep hands it over again, so a failure here is logged, not thrown.
 */
export async function dispatchEvents(ctx: RequestContext, events: PreparedEvent[]) {
  const byTenant = new Map<string, WebhookEventRow[]>();
  for (const { row } of events) byTenant.set(row.tenantId, [...(byTenant.get(row.tenantId) ?? []), row]);
  try {
    await Promise.all(
      [...byTenant].map(([tenantId, rows]) =>
        ctx.queue.send(
          deliverMessage(
            tenantId,
            rows.map((row) => row.id),
            ctx.requestId,
            carriedEvents(rows),
          ),
          { contentType: "json" },
        ),
      ),
    );
  } catch (error) {
    ctx.log.error("event hand-off failed; the sweep will retry", errorFields(error));
  }
}

/**
 * Emits an event on its own, with no change to record alongside it (for those, `prepareEvent` +
 * `insertEvent` in the change's batch + `dispatchEvents`). One enqueue: the message carries the
 * event, the queue holds it until the tenant's coordinator has taken it, and the coordinator
 * writes its row in the same D1 batch as its first attempt, so the event is in the delivery log
 * from its first run on (normally within a second). An event too large to carry is written to D1
 * first and sent by id. Throws when the queue refuses it: then nothing was emitted.
 */
export async function emitTenantEvent(ctx: RequestContext, input: EmitInput): Promise<WebhookEventRow> {
  const now = ctx.clock.now();
  const companyName = input.companyName ?? (await loadTenant(ctx.db, input.tenantId)).companyName;
  const event = prepareEvent({ ...input, companyName }, now);
  const { row } = event;
  const [carried] = carriedEvents([row]);
  if (!carried) {
    await insertEvent(ctx.db, event);
    await dispatchEvents(ctx, [event]);
    return row;
  }
  await ctx.queue.send(
    deliverMessage(row.tenantId, [row.id], ctx.requestId, [{ ...carried, unrecorded_at: now.getTime() }]),
    { contentType: "json" },
  );
  return row;
}

export interface DeliveryFilters {
  limit: number;
  cursor?: string | undefined;
  status?: WebhookEventRow["status"] | undefined;
  event_type?: string | undefined;
  since?: string | undefined;
}

/** The delivery log of the calling user's tenant, newest first. */
export async function listDeliveries(ctx: RequestContext, filters: DeliveryFilters) {
  const { tenantId } = userCaller(ctx);
  const after = decodeCursor(filters.cursor);
  const rows = await ctx.db
    .select()
    .from(webhookEvents)
    .where(
      and(
        eq(webhookEvents.tenantId, tenantId),
        filters.status ? eq(webhookEvents.status, filters.status) : undefined,
        filters.event_type ? eq(webhookEvents.type, filters.event_type) : undefined,
        filters.since ? gte(webhookEvents.createdAt, new Date(filters.since)) : undefined,
        afterCursor(webhookEvents.createdAt, webhookEvents.id, after),
      ),
    )
    .orderBy(desc(webhookEvents.createdAt), desc(webhookEvents.id))
    .limit(filters.limit + 1);
  return toPage(rows, filters.limit);
}

/** One event of the calling user's tenant with every attempt. */
export async function getDelivery(ctx: RequestContext, eventId: string) {
  return findDelivery(ctx.db, userCaller(ctx).tenantId, eventId);
}

async function findDelivery(db: Database, tenantId: string, eventId: string) {
  const event = await db
    .select()
    .from(webhookEvents)
    .where(and(eq(webhookEvents.id, eventId), eq(webhookEvents.tenantId, tenantId)))
    .get();
  if (!event) throw notFound("Event");
  const attempts = await db
    .select()
    .from(webhookAttempts)
    .where(eq(webhookAttempts.eventId, eventId))
    // In the order they were made (rowid: those of one instant, as inserted).
    .orderBy(webhookAttempts.createdAt, sql`rowid`);
  return { event, attempts };
}

/**
 * Puts events back to `pending` and hands them to the coordinator (a fresh retry schedule, same
 * ids); answers how many. An event already pending is left as it is: requests at once put it back
 * once, and only what this request put back is handed over, so it is sent once.
 */
async function requeue(ctx: RequestContext, tenantId: string, eventIds: string[]): Promise<number> {
  const now = ctx.clock.now();
  let requeued = 0;
  for (let i = 0; i < eventIds.length; i += 100) {
    const chunk = eventIds.slice(i, i + 100);
    const changed = await ctx.db
      .update(webhookEvents)
      .set({ status: "pending", nextAttemptAt: now })
      // The chunk's ids as one bound JSON array: with the other values, 100 ids passed D1's 100 parameters.
      .where(
        and(
          eq(webhookEvents.tenantId, tenantId),
          ne(webhookEvents.status, "pending"),
          sql`${webhookEvents.id} IN (SELECT value FROM json_each(${JSON.stringify(chunk)}))`,
        ),
      )
      .returning({ id: webhookEvents.id });
    if (!changed.length) continue;
    requeued += changed.length;
    await ctx.queue.send(
      deliverMessage(
        tenantId,
        changed.map((row) => row.id),
        ctx.requestId,
      ),
      { contentType: "json" },
    );
  }
  return requeued;
}

/** Sends one event of the calling user's tenant again, with the same id. */
export async function resendEvent(ctx: RequestContext, eventId: string) {
  const { tenantId } = userCaller(ctx);
  const { event } = await findDelivery(ctx.db, tenantId, eventId);
  // An event waiting for delivery is not put back: of resends at once, one puts it back.
  if (!(await requeue(ctx, tenantId, [event.id])))
    throw new ApiError("conflict", "This event is already waiting for delivery");
  return event;
}

/**
 * Re-queues every failed event of the calling user's tenant created since `since`; answers how
 * many. Test sends are left out: they are sent once, never retried.
 */
export async function recoverFailed(ctx: RequestContext, since: Date): Promise<number> {
  const { tenantId } = userCaller(ctx);
  const failed = await ctx.db
    .select({ id: webhookEvents.id })
    .from(webhookEvents)
    .where(
      and(
        eq(webhookEvents.tenantId, tenantId),
        eq(webhookEvents.status, "failed"),
        eq(webhookEvents.isTest, false),
        gte(webhookEvents.createdAt, since),
      ),
    )
    .limit(10_000);
  return requeue(
    ctx,
    tenantId,
    failed.map((row) => row.id),
  );
}

/** Cron: events still pending long after they were due lost their hand-off; hand them over again. */
export async function sweepStalePending(ctx: RequestContext, olderThanMs = 10 * 60_000) {
  const cutoff = new Date(ctx.clock.now().getTime() - olderThanMs);
  const stale = await ctx.db
    .select({ id: webhookEvents.id, tenantId: webhookEvents.tenantId })
    .from(webhookEvents)
    .where(and(eq(webhookEvents.status, "pending"), lt(webhookEvents.nextAttemptAt, cutoff)))
    .limit(1000);
  const byTenant = new Map<string, string[]>();
  for (const row of stale) byTenant.set(row.tenantId, [...(byTenant.get(row.tenantId) ?? []), row.id]);
  for (const [tenantId, ids] of byTenant) {
    for (let i = 0; i < ids.length; i += 100) {
      await ctx.queue.send(deliverMessage(tenantId, ids.slice(i, i + 100), ctx.requestId), {
        contentType: "json",
      });
    }
  }
  return stale.length;
}
