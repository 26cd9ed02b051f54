import { eq, inArray, sql } from "drizzle-orm";
import type { RequestContext } from "../context";
import {
  type WebhookEndpointRow,
  type WebhookEventRow,
  webhookAttempts,
  webhookEndpoints,
  webhookEvents,
} from "../db/schema";
import { auditInsert } from "../lib/audit";
import { newId } from "../lib/crypto";
import { activeSecrets } from "../modules/webhooks/endpoint.service";
import { wantsEvent } from "../modules/webhooks/event-types";
import { classifyAttempt, nextAttemptDelay, shouldDisableEndpoint } from "../modules/webhooks/retry-policy";
import { type SendResult, sendSigned } from "../modules/webhooks/sender";

/** How many deliveries of one tenant are in flight at once, and how many one alarm takes on. */
export const DELIVERY_CONCURRENCY = 10;
const DUE_PER_RUN = 100;

export interface DeliveryDeps {
  ctx: RequestContext;
  sql: SqlStorage;
  allowInsecureLocalhost: boolean;
  timeoutMs: number;
}

/** The coordinator's own schedule: which events are waiting, since when, at which attempt. */
export function createScheduleTable(storage: SqlStorage) {
  storage.exec(
    "CREATE TABLE IF NOT EXISTS deliveries (event_id TEXT PRIMARY KEY, due_at INTEGER NOT NULL, attempt INTEGER NOT NULL DEFAULT 0)",
  );
}

/** Adds events to the schedule, due now; an event already scheduled keeps its place. */
export function schedule(storage: SqlStorage, eventIds: string[], now: number) {
  for (const id of eventIds) {
    storage.exec("INSERT OR IGNORE INTO deliveries (event_id, due_at, attempt) VALUES (?, ?, 0)", id, now);
  }
}

/** When the next delivery is due, or null when nothing waits. */
export function nextDueAt(storage: SqlStorage): number | null {
  const row = storage.exec<{ due: number | null }>("SELECT min(due_at) AS due FROM deliveries").one();
  return row.due ?? null;
}

async function inBatches<T>(items: T[], size: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    for (let item = items[next++]; item !== undefined; item = items[next++]) await work(item);
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
}

/**
 * Runs every due delivery of the tenant, at most `DELIVERY_CONCURRENCY` at a time. Each attempt
 * is one signed POST, then one D1 batch: the attempt row, the event's new state and the
 * endpoint's health (a 410, a URL that fails the SSRF check, or 5 days of failures disable it,
 * with an audit record the tenant sees). The schedule is updated in the coordinator's storage.
 */
export async function deliverDue(deps: DeliveryDeps, tenantId: string): Promise<void> {
  const now = deps.ctx.clock.now().getTime();
  const due = deps.sql
    .exec<{ event_id: string; attempt: number }>(
      "SELECT event_id, attempt FROM deliveries WHERE due_at <= ? ORDER BY due_at LIMIT ?",
      now,
      DUE_PER_RUN,
    )
    .toArray();
  if (!due.length) return;

  const [endpoints, events] = await deps.ctx.db.batch([
    deps.ctx.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.tenantId, tenantId)),
    deps.ctx.db
      .select()
      .from(webhookEvents)
      .where(
        inArray(
          webhookEvents.id,
          due.map((d) => d.event_id),
        ),
      ),
  ]);
  let endpoint = endpoints[0];
  const byId = new Map(events.map((event) => [event.id, event]));

  await inBatches(due, DELIVERY_CONCURRENCY, async ({ event_id, attempt }) => {
    const event = byId.get(event_id);
    if (!event || event.tenantId !== tenantId) {
      deps.sql.exec("DELETE FROM deliveries WHERE event_id = ?", event_id);
      return;
    }
    if (!endpoint?.url || !wantsEvent(endpoint.enabledEvents, event.type) || endpoint.status === "disabled") {
      await settleWithoutSending(deps, event, endpoint);
      return;
    }
    const result = await sendSigned({
      url: endpoint.url,
      secrets: activeSecrets(endpoint, now),
      eventId: event.id,
      body: event.payload,
      allowInsecureLocalhost: deps.allowInsecureLocalhost,
      timeoutMs: deps.timeoutMs,
    });
    endpoint = await recordAttempt(deps, event, endpoint, attempt + 1, result);
  });
}

/** No deliverable endpoint: no URL or filtered out → `skipped`; endpoint disabled → `failed`. */
async function settleWithoutSending(
  deps: DeliveryDeps,
  event: WebhookEventRow,
  endpoint: WebhookEndpointRow | undefined,
) {
  const disabled = endpoint?.url && endpoint.status === "disabled";
  await deps.ctx.db
    .update(webhookEvents)
    .set({
      status: disabled ? "failed" : "skipped",
      nextAttemptAt: null,
      lastError: disabled
        ? `endpoint disabled: ${endpoint?.disabledReason ?? ""}`
        : endpoint?.url
          ? "filtered"
          : "no endpoint",
    })
    .where(eq(webhookEvents.id, event.id));
  deps.sql.exec("DELETE FROM deliveries WHERE event_id = ?", event.id);
}

async function recordAttempt(
  deps: DeliveryDeps,
  event: WebhookEventRow,
  endpoint: WebhookEndpointRow,
  attempt: number,
  result: SendResult,
): Promise<WebhookEndpointRow> {
  const now = deps.ctx.clock.now();
  const outcome = classifyAttempt(
    {
      ...(result.status !== undefined ? { status: result.status } : {}),
      ...(result.error ? { error: result.error } : {}),
      retryAfterHeader: result.retryAfterHeader,
    },
    now.getTime(),
  );
  const delay = outcome.outcome === "retry" ? nextAttemptDelay(attempt, outcome.retryAfterMs) : null;
  const failingSince = outcome.outcome === "success" ? null : (endpoint.failingSince ?? now);
  const disableReason =
    outcome.outcome === "disable_endpoint"
      ? result.error === "blocked_url"
        ? `URL refused at delivery: ${result.errorMessage ?? "blocked"}`
        : `Endpoint answered ${result.status}: gone`
      : failingSince && shouldDisableEndpoint(failingSince.getTime(), now.getTime())
        ? "Failing continuously for 5 days"
        : null;
  const status: WebhookEventRow["status"] =
    outcome.outcome === "success" ? "delivered" : delay !== null && !disableReason ? "pending" : "failed";

  const endpointChange: Partial<WebhookEndpointRow> = disableReason
    ? { status: "disabled", disabledReason: disableReason, disabledAt: now, failingSince }
    : { failingSince };
  const endpointChanged =
    disableReason !== null ||
    (endpoint.failingSince?.getTime() ?? null) !== (failingSince?.getTime() ?? null);

  await deps.ctx.db.batch([
    deps.ctx.db.insert(webhookAttempts).values({
      id: newId("att"),
      eventId: event.id,
      tenantId: event.tenantId,
      attempt,
      url: result.url,
      statusCode: result.status ?? null,
      outcome: outcome.outcome,
      reason: result.errorMessage ?? outcome.reason,
      durationMs: result.durationMs,
      responseBody: result.responseBody || null,
      createdAt: now,
    }),
    deps.ctx.db
      .update(webhookEvents)
      .set({
        status,
        attempts: sql`${webhookEvents.attempts} + 1`,
        lastAttemptAt: now,
        nextAttemptAt: status === "pending" && delay !== null ? new Date(now.getTime() + delay) : null,
        deliveredAt: status === "delivered" ? now : null,
        lastError: status === "delivered" ? null : (result.errorMessage ?? outcome.reason),
      })
      .where(eq(webhookEvents.id, event.id)),
    ...(endpointChanged
      ? [
          deps.ctx.db
            .update(webhookEndpoints)
            .set(endpointChange)
            .where(eq(webhookEndpoints.tenantId, event.tenantId)),
        ]
      : []),
    ...(disableReason
      ? [
          auditInsert(deps.ctx.db, {
            tenantId: event.tenantId,
            actorType: "system",
            action: "webhook_endpoint.disabled",
            targetType: "webhook_endpoint",
            targetId: endpoint.url ?? "",
            reason: disableReason,
            metadata: { event_id: event.id, status_code: result.status ?? null },
            at: now,
          }),
        ]
      : []),
  ]);

  if (status === "pending" && delay !== null) {
    deps.sql.exec(
      "UPDATE deliveries SET due_at = ?, attempt = ? WHERE event_id = ?",
      now.getTime() + delay,
      attempt,
      event.id,
    );
  } else {
    deps.sql.exec("DELETE FROM deliveries WHERE event_id = ?", event.id);
  }
  return { ...endpoint, ...endpointChange };
}
