import { and, desc, eq, getTableColumns, inArray } from "drizzle-orm";
import type { RequestContext } from "../../context";
import { type StripeEventRow, stripeEvents } from "../../db/schema";
import { auditInsertIfChanged } from "../../lib/audit";
import { ApiError, notFound } from "../../lib/errors";
import { afterCursor, decodeCursor, toPage } from "../../lib/pagination";
import { stripeEventMessage } from "../stripe-events/ingest.service";
import { PLATFORM_AUDIT_TENANT } from "./platform-plans.service";
import type { StripeEventSummary } from "./stripe-events.schemas";

/** Statuses an operator may send back for processing. */
export const RETRYABLE_STATUSES = ["failed", "ignored"] as const;

const { payload: _payload, ...summaryColumns } = getTableColumns(stripeEvents);

export interface StripeEventFilters {
  limit: number;
  cursor?: string | undefined;
  status?: StripeEventRow["status"] | undefined;
  type?: string | undefined;
  tenant_id?: string | undefined;
}

/** Received Stripe events, newest first by `received_at`, without their payloads. */
export async function listStripeEvents(ctx: RequestContext, filters: StripeEventFilters) {
  const after = decodeCursor(filters.cursor);
  const rows: StripeEventSummary[] = await ctx.db
    .select(summaryColumns)
    .from(stripeEvents)
    .where(
      and(
        filters.status ? eq(stripeEvents.status, filters.status) : undefined,
        filters.type ? eq(stripeEvents.type, filters.type) : undefined,
        filters.tenant_id ? eq(stripeEvents.tenantId, filters.tenant_id) : undefined,
        afterCursor(stripeEvents.receivedAt, stripeEvents.id, after),
      ),
    )
    .orderBy(desc(stripeEvents.receivedAt), desc(stripeEvents.id))
    .limit(filters.limit + 1);
  const { page, hasMore, nextCursor } = toPage(
    rows.map((row) => ({ ...row, createdAt: row.receivedAt })),
    filters.limit,
  );
  return { page: page.map(({ createdAt: _createdAt, ...row }) => row), hasMore, nextCursor };
}

export async function getStripeEvent(ctx: RequestContext, id: string): Promise<StripeEventRow> {
  const row = await ctx.db.select().from(stripeEvents).where(eq(stripeEvents.id, id)).get();
  if (!row) throw notFound("Stripe event");
  return row;
}

const notRetryable = (status: string) =>
  new ApiError(
    "conflict",
    `Only ${RETRYABLE_STATUSES.join(" or ")} events can be retried; this one is ${status}`,
  );

/**
 * Sends a failed or ignored event back for processing: its status becomes `received` (guarded
 * in SQL, so two racing retries enqueue it once) and the consumer gets `{kind: "stripe.event",
 * event_id}`. If the enqueue fails the status is put back, so the event can be retried again.
 */
export async function retryStripeEvent(ctx: RequestContext, id: string) {
  const { db, clock, queue } = ctx;
  const event = await getStripeEvent(ctx, id);
  const previous = event.status;
  if (!(RETRYABLE_STATUSES as readonly string[]).includes(previous)) throw notRetryable(previous);

  const now = clock.now();
  const [updated] = await db.batch([
    db
      .update(stripeEvents)
      .set({ status: "received" })
      .where(and(eq(stripeEvents.id, id), inArray(stripeEvents.status, [...RETRYABLE_STATUSES]))),
    auditInsertIfChanged(db, {
      tenantId: PLATFORM_AUDIT_TENANT,
      actorType: "platform_admin",
      action: "stripe_event.retried",
      targetType: "stripe_event",
      targetId: id,
      metadata: { type: event.type, previous_status: previous, tenant_id: event.tenantId },
      requestId: ctx.requestId,
      at: now,
    }),
  ]);
  if (!updated.meta.changes) {
    const current = await getStripeEvent(ctx, id);
    throw notRetryable(current.status);
  }

  const message = stripeEventMessage(id, ctx.requestId);
  try {
    await queue.send(message, { contentType: "json" });
  } catch (error) {
    // The retry did not happen: its status goes back, and the log says so after the record of the
    // retry (the log is only ever appended to).
    await db.batch([
      db
        .update(stripeEvents)
        .set({ status: previous })
        .where(and(eq(stripeEvents.id, id), eq(stripeEvents.status, "received"))),
      auditInsertIfChanged(db, {
        tenantId: PLATFORM_AUDIT_TENANT,
        actorType: "platform_admin",
        action: "stripe_event.retry_failed",
        targetType: "stripe_event",
        targetId: id,
        reason: "the events queue refused the message",
        metadata: { type: event.type, status: previous, tenant_id: event.tenantId },
        requestId: ctx.requestId,
        at: clock.now(),
      }),
    ]);
    throw error;
  }
  return { ...event, status: "received" as const };
}
