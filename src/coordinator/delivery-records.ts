import { and, eq } from "drizzle-orm";
import type { RequestContext } from "../context";
import { type WebhookEndpointRow, webhookEndpoints } from "../db/schema";
import { auditInsertIfChanged } from "../lib/audit";

/**
 * Everything one run writes, gathered as its deliveries finish (in that order) and written at the
 * end in one D1 batch; the schedule follows in one storage transaction once D1 has committed.
 */
export class RunWrites {
  /** `[id, event_id, tenant_id, url, status_code, outcome, reason, duration_ms, response_body, created_at]` */
  readonly attempts: unknown[][] = [];
  /** `[event_id, status, last_attempt_at, next_attempt_at, delivered_at, last_error]` */
  readonly attempted: unknown[][] = [];
  /** `[event_id, status, last_error]`: settled without a send. */
  readonly settled: unknown[][] = [];
  /** Whether the endpoint's health changed: its final state in the run is written. */
  endpointChanged = false;
  disabled: { reason: string; eventId: string; statusCode: number | null; at: Date; url: string } | null =
    null;
  /** `[id, type, payload, created_at]`: events emitted on their own, whose rows this batch writes first. */
  readonly unrecorded: [id: string, type: string | null, payload: string | null, createdAt: number | null][] =
    [];
  /** Schedule changes: events done (delivered, failed, skipped, gone) and retries (due, attempt). */
  readonly done: string[] = [];
  readonly retries: [string, number, number][] = [];
  readonly touched: string[] = [];
}

/**
 * The run's records in one D1 batch: attempts, event statuses, the endpoint and its audit record.
 * The endpoint's health is written only over the endpoint the run read: one the tenant saved or
 * removed meanwhile (its `updated_at` moved) keeps its state, whatever the old URL answered.
 * Answers false when that is why the health was not written (the run's copy is out of date).
 */
export async function writeRun(
  ctx: RequestContext,
  tenantId: string,
  writes: RunWrites,
  endpoint: WebhookEndpointRow | null,
): Promise<{ endpointCurrent: boolean }> {
  const { db } = ctx;
  const d1 = db.$client;
  const statements: D1PreparedStatement[] = [];
  const built = (query: { toSQL(): { sql: string; params: unknown[] } }) => {
    const { sql: text, params } = query.toSQL();
    return d1.prepare(text).bind(...params);
  };
  // Events emitted on their own reach D1 here, before their attempts, each with the outcome of
  // its attempt in this run when it had one, so the usual case is one row written once (their
  // tenant may be gone: then they are dropped, not an error that would fail the batch again and
  // again). A row already there (a batch that committed before its schedule did) gets the attempt.
  const attemptOf = new Map(writes.attempted.map((row) => [row[0], row]));
  if (writes.unrecorded.length) {
    const rows = writes.unrecorded.map(([id, type, payload, createdAt]) => {
      const attempted = attemptOf.get(id);
      attemptOf.delete(id);
      // [id, type, payload, created_at, status, attempts, last_attempt_at, next_attempt_at, delivered_at, last_error]
      return attempted
        ? [id, type, payload, createdAt, attempted[1], 1, ...attempted.slice(2)]
        : [id, type, payload, createdAt, "pending", 0, null, createdAt, null, null];
    });
    statements.push(
      d1
        .prepare(
          `INSERT INTO webhook_events (id, tenant_id, type, payload, status, attempts, last_attempt_at,
             next_attempt_at, delivered_at, last_error, is_test, created_at)
           SELECT e.value ->> 0, ?1, e.value ->> 1, e.value ->> 2, e.value ->> 4, e.value ->> 5, e.value ->> 6,
             e.value ->> 7, e.value ->> 8, e.value ->> 9, 0, e.value ->> 3
           FROM json_each(?2) AS e
           WHERE EXISTS (SELECT 1 FROM tenants WHERE id = ?1)
           ON CONFLICT (id) DO UPDATE SET status = excluded.status, attempts = attempts + excluded.attempts,
             last_attempt_at = excluded.last_attempt_at, next_attempt_at = excluded.next_attempt_at,
             delivered_at = excluded.delivered_at, last_error = excluded.last_error
           WHERE excluded.attempts > 0`,
        )
        .bind(tenantId, JSON.stringify(rows)),
    );
  }
  if (attemptOf.size) {
    statements.push(
      d1
        .prepare(
          `UPDATE webhook_events SET status = u.value ->> 1, attempts = attempts + 1,
             last_attempt_at = u.value ->> 2, next_attempt_at = u.value ->> 3, delivered_at = u.value ->> 4,
             last_error = u.value ->> 5
           FROM json_each(?) AS u
           WHERE webhook_events.id = u.value ->> 0`,
        )
        .bind(JSON.stringify([...attemptOf.values()])),
    );
  }
  if (writes.settled.length) {
    statements.push(
      d1
        .prepare(
          `UPDATE webhook_events SET status = u.value ->> 1, next_attempt_at = NULL, last_error = u.value ->> 2
           FROM json_each(?) AS u
           WHERE webhook_events.id = u.value ->> 0`,
        )
        .bind(JSON.stringify(writes.settled)),
    );
  }
  if (writes.attempts.length) {
    // One statement for every attempt of the run, its rows in one bound JSON array (D1 binds at
    // most 100 parameters), after the event rows: each attempt is numbered by its event's running
    // count, which a resend does not restart (the schedule's own counter does, for the retry
    // policy). An event deleted meanwhile (its tenant was) is left out, not an error.
    statements.push(
      d1
        .prepare(
          `INSERT INTO webhook_attempts (id, event_id, tenant_id, attempt, url, status_code, outcome, reason,
             duration_ms, response_body, created_at)
           SELECT a.value ->> 0, a.value ->> 1, a.value ->> 2, e.attempts, a.value ->> 3, a.value ->> 4,
             a.value ->> 5, a.value ->> 6, a.value ->> 7, a.value ->> 8, a.value ->> 9
           FROM json_each(?) AS a JOIN webhook_events e ON e.id = a.value ->> 1`,
        )
        .bind(JSON.stringify(writes.attempts)),
    );
  }
  let endpointWrite: number | null = null;
  if (writes.endpointChanged && endpoint) {
    const change: Partial<WebhookEndpointRow> = writes.disabled
      ? {
          status: "disabled",
          disabledReason: endpoint.disabledReason,
          disabledAt: endpoint.disabledAt,
          failingSince: endpoint.failingSince,
        }
      : { failingSince: endpoint.failingSince };
    // Still the endpoint the run read: saving or removing the configuration sets `updated_at`, a
    // run keeps it (drizzle would set it otherwise), and the URL is the one the attempts went to.
    const sameEndpoint = and(
      eq(webhookEndpoints.tenantId, tenantId),
      eq(webhookEndpoints.updatedAt, endpoint.updatedAt),
      eq(webhookEndpoints.url, endpoint.url ?? ""),
    );
    endpointWrite = statements.length;
    statements.push(
      built(
        db
          .update(webhookEndpoints)
          .set({ ...change, updatedAt: endpoint.updatedAt })
          .where(sameEndpoint),
      ),
    );
  }
  if (writes.disabled && endpointWrite !== null) {
    // Recorded only if the guarded write just before it disabled the endpoint.
    statements.push(
      built(
        auditInsertIfChanged(db, {
          tenantId,
          actorType: "system",
          action: "webhook_endpoint.disabled",
          targetType: "webhook_endpoint",
          targetId: writes.disabled.url,
          reason: writes.disabled.reason,
          metadata: { event_id: writes.disabled.eventId, status_code: writes.disabled.statusCode },
          at: writes.disabled.at,
        }),
      ),
    );
  }
  if (!statements.length) return { endpointCurrent: true };
  const results = await d1.batch(statements);
  const endpointCurrent = endpointWrite === null || (results[endpointWrite]?.meta.changes ?? 0) > 0;
  return { endpointCurrent };
}
