import type { SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { auditActor, type RequestContext } from "../../context";
import type { TenantRow } from "../../db/schema";
import { type AuditEntry, auditInsert, auditInsertIfChanged } from "../../lib/audit";
import {
  dispatchEvents,
  insertEvent,
  insertEventUnless,
  type PreparedEvent,
  prepareEvent,
} from "./events.service";

export interface Change {
  tenant: Pick<TenantRow, "id" | "companyName">;
  /** The statements of the change itself. */
  statements: BatchItem<"sqlite">[];
  /** The tenant event that reports it (none for a change nobody is told about). */
  event?: { type: string; object: unknown; livemode: boolean };
  audit: { action: string; targetType: string; targetId: string; metadata?: Record<string, unknown> };
  /**
   * For a row the billing mirror may have stored first (src/modules/billing-mirror/api-created.ts):
   * the query that finds it; the event is then written, and sent, only if it finds nothing.
   */
  unlessRecorded?: SQL;
  /** The audit record only if the last statement changed a row (see `commitWithEvents`). */
  auditOnlyIfChanged?: boolean;
}

/**
 * Commits a change in one D1 batch with its tenant event (the outbox row) and its audit record,
 * so both exist if and only if the change does; then hands the event to delivery.
 */
export async function commitChange(ctx: RequestContext, change: Change): Promise<PreparedEvent | null> {
  const now = ctx.clock.now();
  const event = change.event
    ? prepareEvent(
        { tenantId: change.tenant.id, companyName: change.tenant.companyName, ...change.event },
        now,
      )
    : null;
  const {
    written: [written],
  } = await commitWithEvents(ctx, {
    statements: change.statements,
    events: event ? [event] : [],
    audit: {
      tenantId: change.tenant.id,
      ...auditActor(ctx),
      ...change.audit,
      requestId: ctx.requestId,
      at: now,
    },
    ...(change.unlessRecorded ? { unlessRecorded: change.unlessRecorded } : {}),
    ...(change.auditOnlyIfChanged ? { auditOnlyIfChanged: true } : {}),
  });
  return written ?? null;
}

/**
 * The outbox itself, for `commitChange` and for changes several events report: the change's
 * statements, its events and its audit record in one D1 batch, then the events handed to
 * delivery. With `unlessRecorded`, the events go first in the batch, each written only if that
 * query finds nothing (it sees the table as it was before the change, in the same transaction).
 * With `auditOnlyIfChanged`, the audit record is written only if the last statement changed a row
 * (a change guarded in SQL, made once of several requests at once). Answers the events written
 * (with their payloads as written: see `settledInSql`) and the change's statements' results.
 */
export async function commitWithEvents(
  ctx: RequestContext,
  change: {
    statements: BatchItem<"sqlite">[];
    events: PreparedEvent[];
    audit: AuditEntry;
    unlessRecorded?: SQL;
    auditOnlyIfChanged?: boolean;
  },
): Promise<{ written: PreparedEvent[]; results: unknown[] }> {
  const { db } = ctx;
  const { events, unlessRecorded, statements } = change;
  const [first, ...rest] = statements;
  if (!first) throw new Error("an outbox commit needs at least one statement");
  const audit = (change.auditOnlyIfChanged ? auditInsertIfChanged : auditInsert)(db, change.audit);
  const [firstGuarded, ...laterGuarded] = unlessRecorded
    ? events.map((event) => insertEventUnless(db, event, unlessRecorded))
    : [];
  let stored: unknown[];
  let results: unknown[];
  if (firstGuarded) {
    const answers = await db.batch([firstGuarded, ...laterGuarded, first, ...rest, audit]);
    stored = answers.slice(0, events.length);
    results = answers.slice(events.length, events.length + statements.length);
  } else {
    const answers = await db.batch([first, ...rest, ...events.map((event) => insertEvent(db, event)), audit]);
    results = answers.slice(0, statements.length);
    stored = answers.slice(statements.length, statements.length + events.length);
  }
  const written: PreparedEvent[] = [];
  for (const [index, event] of events.entries()) {
    const [row] = stored[index] as { payload: string | null }[];
    if (row) written.push({ row: { ...event.row, payload: row.payload ?? event.row.payload } });
  }
  if (written.length) await dispatchEvents(ctx, written);
  return { written, results };
}
