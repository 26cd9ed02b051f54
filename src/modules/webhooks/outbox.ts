import type { SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { auditActor, type RequestContext } from "../../context";
import type { TenantRow } from "../../db/schema";
import { auditInsert } from "../../lib/audit";
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
}

/**
 * Commits a change in one D1 batch with its tenant event (the outbox row) and its audit record,
 * so both exist if and only if the change does; then hands the event to delivery.
 */
export async function commitChange(ctx: RequestContext, change: Change): Promise<PreparedEvent | null> {
  const { db } = ctx;
  const now = ctx.clock.now();
  const event = change.event
    ? prepareEvent(
        { tenantId: change.tenant.id, companyName: change.tenant.companyName, ...change.event },
        now,
      )
    : null;
  const [first, ...rest] = change.statements;
  if (!first) throw new Error("commitChange needs at least one statement");
  const audit = auditInsert(db, {
    tenantId: change.tenant.id,
    ...auditActor(ctx),
    ...change.audit,
    requestId: ctx.requestId,
    at: now,
  });
  if (event && change.unlessRecorded) {
    // The test runs before the change in the same transaction: it sees the row as it was.
    const [written] = await db.batch([
      insertEventUnless(db, event, change.unlessRecorded),
      first,
      ...rest,
      audit,
    ]);
    if (written.length === 0) return null;
  } else {
    await db.batch([first, ...rest, ...(event ? [insertEvent(db, event)] : []), audit]);
  }
  if (event) await dispatchEvents(ctx, [event]);
  return event;
}
