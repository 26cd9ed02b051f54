import { eq, inArray } from "drizzle-orm";
import type { RequestContext } from "../context";
import { type WebhookEndpointRow, type WebhookEventRow, webhookEndpoints, webhookEvents } from "../db/schema";
import { newId } from "../lib/crypto";
import { errorFields } from "../lib/logger";
import { activeSecrets } from "../modules/webhooks/endpoint.service";
import { wantsEvent } from "../modules/webhooks/event-types";
import { classifyAttempt, nextAttemptDelay, shouldDisableEndpoint } from "../modules/webhooks/retry-policy";
import { type SendResult, sendSigned } from "../modules/webhooks/sender";
import type { CarriedEvent } from "../queue/messages";
import { RunWrites, writeRun } from "./delivery-records";

/** How many deliveries of one tenant are in flight at once, and how many one alarm takes on. */
export const DELIVERY_CONCURRENCY = 10;
const DUE_PER_RUN = 100;
/**
 * Shortest gap between the starts of two alarm runs of one tenant. An idle tenant's event goes
 * out at once; under load, the events that arrive meanwhile share the next run and its one D1
 * batch instead of paying a run each. 500 ms rather than 250: about 13 % less workerd CPU per
 * event at 500 events/s (1.66 against 1.92 ms, medians of six and five runs) for about 100 ms
 * more p50 latency (about 400 ms), and none of six runs fell behind (one of five at 250 ms).
 */
export const MIN_RUN_GAP_MS = 500;
/** The gap while deliveries run behind: runs batch more. */
export const BEHIND_RUN_GAP_MS = 1_000;
/** How long the oldest event of a run may have waited before the coordinator counts itself behind. */
export const BEHIND_AFTER_MS = 1_000;

/**
 * The gap before the next run, from how long the oldest event of this run had waited (since its
 * emit when known, else since it was due). While events go out fresh, short gaps keep latency
 * low; once they arrive late, the pipeline (queue, D1, this machine) is saturated, and fewer,
 * larger runs deliver more events per second, because a run costs about the same for one event
 * as for many (its alarm, its D1 batch, its schedule transaction). Waiting longer then adds
 * little to a latency that is already high, and the gap shortens again once events are fresh.
 */
export function runGapAfter(oldestWaitedMs: number): number {
  return oldestWaitedMs > BEHIND_AFTER_MS ? BEHIND_RUN_GAP_MS : MIN_RUN_GAP_MS;
}
/** How long the coordinator trusts its copy of the endpoint; saving the configuration drops it at once. */
export const ENDPOINT_CACHE_MS = 10_000;
/** After a failed D1 write the run's events stay scheduled at the same attempt and are tried again this much later. */
export const WRITE_RETRY_MS = 5_000;

export interface DeliveryDeps {
  ctx: RequestContext;
  sql: SqlStorage;
  /** The coordinator's storage transaction: the schedule changes of one run commit together. */
  transaction: <T>(work: () => T) => T;
  endpoints: EndpointCache;
  allowInsecureLocalhost: boolean;
  timeoutMs: number;
}

/**
 * The coordinator's copy of its tenant's endpoint: read from D1 at most every
 * `ENDPOINT_CACHE_MS`, kept up to date with what deliveries change (failing since, disabled), and
 * forgotten when the tenant saves or removes its configuration (`forget`). `generation` counts
 * the forgets, so a run tells whether the endpoint it read may have changed since.
 */
export class EndpointCache {
  #row: WebhookEndpointRow | null = null;
  #loadedAt: number | null = null;
  #generation = 0;

  get generation(): number {
    return this.#generation;
  }

  /** The endpoint (null: none configured), or undefined when it must be read again. */
  current(now: number): WebhookEndpointRow | null | undefined {
    if (this.#loadedAt === null || now - this.#loadedAt >= ENDPOINT_CACHE_MS || now < this.#loadedAt)
      return undefined;
    return this.#row;
  }

  remember(row: WebhookEndpointRow | null, now: number) {
    this.#row = row;
    this.#loadedAt = now;
  }

  /** Keeps what a delivery changed, without making the copy any fresher. */
  update(row: WebhookEndpointRow) {
    if (this.#loadedAt !== null) this.#row = row;
  }

  forget() {
    this.#loadedAt = null;
    this.#row = null;
    this.#generation++;
  }
}

/**
 * The coordinator's own schedule: which events are waiting, since when, at which attempt, and
 * (when the queue message carried it) the event's type and exact payload, so a run reads nothing
 * from D1 but the endpoint.
 */
export function createScheduleTable(storage: SqlStorage) {
  storage.exec(
    "CREATE TABLE IF NOT EXISTS deliveries (event_id TEXT PRIMARY KEY, due_at INTEGER NOT NULL, attempt INTEGER NOT NULL DEFAULT 0)",
  );
  // Schedules created before payloads were carried get the two columns in place.
  const columns = new Set(
    storage
      .exec<{ name: string }>("PRAGMA table_info(deliveries)")
      .toArray()
      .map((column) => column.name),
  );
  if (!columns.has("event_type")) storage.exec("ALTER TABLE deliveries ADD COLUMN event_type TEXT");
  if (!columns.has("payload")) storage.exec("ALTER TABLE deliveries ADD COLUMN payload TEXT");
  // Set while the event is not in D1 yet (emitted on its own): its creation time, unix ms.
  if (!columns.has("unrecorded_at")) storage.exec("ALTER TABLE deliveries ADD COLUMN unrecorded_at INTEGER");
  storage.exec("CREATE INDEX IF NOT EXISTS deliveries_due_idx ON deliveries (due_at)");
}

/**
 * Adds events to the schedule, due now; an event already scheduled keeps its place. `carried`
 * holds the events whose payload came with the message (the others are read from D1 when due),
 * and among them those not in D1 yet (`unrecorded_at`), whose rows the next run writes.
 */
export function schedule(storage: SqlStorage, eventIds: string[], now: number, carried: CarriedEvent[] = []) {
  const payloads = new Map(carried.map((event) => [event.id, event]));
  const rows = eventIds.map((id) => {
    const event = payloads.get(id);
    return [id, event?.type ?? null, event?.payload ?? null, event?.unrecorded_at ?? null];
  });
  // One statement for the call's events (rows as one JSON array), not one per event.
  storage.exec(
    `INSERT OR IGNORE INTO deliveries (event_id, due_at, attempt, event_type, payload, unrecorded_at)
     SELECT e.value ->> 0, ?, 0, e.value ->> 1, e.value ->> 2, e.value ->> 3 FROM json_each(?) AS e`,
    now,
    JSON.stringify(rows),
  );
}

/** Rows one run writes for events not in D1 yet, at most (their payloads also count, below). */
const UNRECORDED_PER_RUN = 500;
/** Payload bytes (UTF-16 units) of those rows per run; D1 binds strings of up to 2 MB. */
const UNRECORDED_CHARS_PER_RUN = 1_000_000;

interface UnrecordedRow {
  event_id: string;
  event_type: string;
  payload: string;
  unrecorded_at: number;
  [key: string]: SqlStorageValue;
}

/** The schedule's events that are not in D1 yet, as many as one run's batch takes. */
function unrecordedEvents(storage: SqlStorage): UnrecordedRow[] {
  const rows = storage
    .exec<UnrecordedRow>(
      "SELECT event_id, event_type, payload, unrecorded_at FROM deliveries WHERE unrecorded_at IS NOT NULL ORDER BY due_at LIMIT ?",
      UNRECORDED_PER_RUN,
    )
    .toArray();
  let chars = 0;
  const taken: UnrecordedRow[] = [];
  for (const row of rows) {
    chars += row.payload.length;
    if (taken.length && chars > UNRECORDED_CHARS_PER_RUN) break;
    taken.push(row);
  }
  return taken;
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

interface DueRow {
  event_id: string;
  due_at: number;
  attempt: number;
  event_type: string | null;
  payload: string | null;
  unrecorded_at: number | null;
  [key: string]: SqlStorageValue;
}

/** What is sent: the event's id, type and exact payload bytes. */
type Deliverable = Pick<WebhookEventRow, "id" | "tenantId" | "type" | "payload">;

/**
 * Runs every due delivery of the tenant, at most `DELIVERY_CONCURRENCY` at a time: one signed POST
 * per event, the outcome of each judged as it arrives (a 410, a URL that fails the SSRF check,
 * or 5 days of failures disable the endpoint, with an audit record the tenant sees). Then one D1
 * batch records every attempt, event status and the endpoint's health, and one storage
 * transaction updates the schedule. If that D1 batch fails nothing is recorded and the events
 * stay scheduled at the same attempt, to be sent again after `WRITE_RETRY_MS` (at least once,
 * never lost); the attempts the receiver saw meanwhile carry the same event id. Answers how long
 * the oldest event of the run had waited, from which the coordinator spaces its next run
 * (`runGapAfter`).
 */
export async function deliverDue(deps: DeliveryDeps, tenantId: string): Promise<{ oldestWaitedMs: number }> {
  const { ctx } = deps;
  const now = ctx.clock.now().getTime();
  const due = deps.sql
    .exec<DueRow>(
      "SELECT event_id, due_at, attempt, event_type, payload, unrecorded_at FROM deliveries WHERE due_at <= ? ORDER BY due_at LIMIT ?",
      now,
      DUE_PER_RUN,
    )
    .toArray();
  const unrecorded = unrecordedEvents(deps.sql);
  let oldestWaitedMs = 0;
  for (const row of due) oldestWaitedMs = Math.max(oldestWaitedMs, now - (row.unrecorded_at ?? row.due_at));
  const ran = { oldestWaitedMs };
  if (!due.length && !unrecorded.length) return ran;

  // D1 is read only for what the run does not have: the endpoint after its cache aged, and the
  // payloads of events that came by id (resend, recover, sweep, messages too large to carry).
  const generation = deps.endpoints.generation;
  const endpointReplaced = () => deps.endpoints.generation !== generation;
  const cached = deps.endpoints.current(now);
  const missing = due.filter((row) => row.payload === null || row.event_type === null);
  const [endpointRows, eventRows] = await readForRun(ctx, tenantId, cached === undefined, missing);
  let endpoint = cached === undefined ? (endpointRows?.[0] ?? null) : cached;
  if (cached === undefined && !endpointReplaced()) deps.endpoints.remember(endpoint, now);
  const loaded = new Map((eventRows ?? []).map((event) => [event.id, event]));

  const writes = new RunWrites();
  const recordedNow = new Set<string>();
  for (const row of unrecorded) {
    writes.unrecorded.push([row.event_id, row.event_type, row.payload, row.unrecorded_at]);
    writes.touched.push(row.event_id);
    recordedNow.add(row.event_id);
  }
  // An event goes out only in a run whose batch also writes its row (if it has none yet).
  const sendable = due.filter((row) => row.unrecorded_at === null || recordedNow.has(row.event_id));
  await inBatches(sendable, DELIVERY_CONCURRENCY, async (row) => {
    // Once the tenant saved or removed its configuration, no send starts to what this run read:
    // the rest stay due, untouched, for the next run, which reads the endpoint again.
    if (endpointReplaced()) return;
    const event: Deliverable | undefined =
      row.payload !== null && row.event_type !== null
        ? { id: row.event_id, tenantId, type: row.event_type, payload: row.payload }
        : loaded.get(row.event_id);
    if (row.unrecorded_at === null) writes.touched.push(row.event_id);
    if (!event || event.tenantId !== tenantId) {
      writes.done.push(row.event_id);
      return;
    }
    if (!endpoint?.url || !wantsEvent(endpoint.enabledEvents, event.type) || endpoint.status === "disabled") {
      settleWithoutSending(writes, event, endpoint);
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
    endpoint = judgeAttempt(ctx, writes, event, endpoint, row.attempt + 1, result);
  });

  let written: { endpointCurrent: boolean };
  try {
    written = await writeRun(ctx, tenantId, writes, endpoint);
  } catch (error) {
    ctx.log.error("delivery records failed; the run's events are sent again", {
      ...errorFields(error),
      outcome: "retry",
      count: writes.touched.length,
    });
    deps.endpoints.forget();
    const retryAt = now + WRITE_RETRY_MS;
    deps.transaction(() => {
      for (const id of writes.touched)
        deps.sql.exec("UPDATE deliveries SET due_at = ? WHERE event_id = ?", retryAt, id);
    });
    return ran;
  }
  // An endpoint saved or removed during the run kept its own state in D1: read it again.
  if (!written.endpointCurrent) deps.endpoints.forget();
  else if (endpoint) deps.endpoints.update(endpoint);
  // Events this run wrote to D1 and that stay scheduled (a retry) are marked recorded; those done
  // are deleted below, so marking them first would be a write for nothing.
  const done = new Set(writes.done);
  const recordedAndWaiting = writes.unrecorded.map(([id]) => id).filter((id) => !done.has(id));
  deps.transaction(() => {
    if (recordedAndWaiting.length)
      deps.sql.exec(
        "UPDATE deliveries SET unrecorded_at = NULL WHERE event_id IN (SELECT value FROM json_each(?))",
        JSON.stringify(recordedAndWaiting),
      );
    if (writes.done.length)
      deps.sql.exec(
        "DELETE FROM deliveries WHERE event_id IN (SELECT value FROM json_each(?))",
        JSON.stringify(writes.done),
      );
    for (const [id, dueAt, attempt] of writes.retries)
      deps.sql.exec("UPDATE deliveries SET due_at = ?, attempt = ? WHERE event_id = ?", dueAt, attempt, id);
  });
  return ran;
}

/** One D1 round trip for what the run has to read (nothing, usually). */
async function readForRun(
  ctx: RequestContext,
  tenantId: string,
  needEndpoint: boolean,
  missing: DueRow[],
): Promise<[WebhookEndpointRow[] | undefined, Deliverable[] | undefined]> {
  const { db } = ctx;
  const endpointQuery = db.select().from(webhookEndpoints).where(eq(webhookEndpoints.tenantId, tenantId));
  const eventsQuery = db
    .select({
      id: webhookEvents.id,
      tenantId: webhookEvents.tenantId,
      type: webhookEvents.type,
      payload: webhookEvents.payload,
    })
    .from(webhookEvents)
    .where(
      inArray(
        webhookEvents.id,
        missing.map((row) => row.event_id),
      ),
    );
  if (needEndpoint && missing.length) return db.batch([endpointQuery, eventsQuery]);
  if (needEndpoint) return [await endpointQuery, undefined];
  if (missing.length) return [undefined, await eventsQuery];
  return [undefined, undefined];
}

/** No deliverable endpoint: no URL or filtered out → `skipped`; endpoint disabled → `failed`. */
function settleWithoutSending(writes: RunWrites, event: Deliverable, endpoint: WebhookEndpointRow | null) {
  const disabled = endpoint?.url && endpoint.status === "disabled";
  writes.settled.push([
    event.id,
    disabled ? "failed" : "skipped",
    disabled
      ? `endpoint disabled: ${endpoint?.disabledReason ?? ""}`
      : endpoint?.url
        ? "filtered"
        : "no endpoint",
  ]);
  writes.done.push(event.id);
}

/**
 * What one attempt means for the event (delivered, pending with its next due time, failed) and
 * for the endpoint (failing since, disabled), gathered for the run's batch. Answers the endpoint
 * as the next delivery of the run sees it.
 */
function judgeAttempt(
  ctx: RequestContext,
  writes: RunWrites,
  event: Deliverable,
  endpoint: WebhookEndpointRow,
  /** The schedule's count, for the retry policy (a resend restarts it; the log's number does not). */
  attempt: number,
  result: SendResult,
): WebhookEndpointRow {
  const now = ctx.clock.now();
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
  const nextAt = status === "pending" && delay !== null ? now.getTime() + delay : null;

  writes.attempts.push([
    newId("att"),
    event.id,
    event.tenantId,
    result.url,
    result.status ?? null,
    outcome.outcome,
    result.errorMessage ?? outcome.reason,
    result.durationMs,
    result.responseBody || null,
    now.getTime(),
  ]);
  writes.attempted.push([
    event.id,
    status,
    now.getTime(),
    nextAt,
    status === "delivered" ? now.getTime() : null,
    status === "delivered" ? null : (result.errorMessage ?? outcome.reason),
  ]);
  if (nextAt !== null) writes.retries.push([event.id, nextAt, attempt]);
  else writes.done.push(event.id);

  // Only the first disable of a run is recorded (and audited); deliveries in flight meanwhile
  // keep their own outcome and move only `failing_since`, as before.
  const disablesNow = disableReason !== null && endpoint.status !== "disabled";
  if (disablesNow) {
    writes.disabled = {
      reason: disableReason,
      eventId: event.id,
      statusCode: result.status ?? null,
      at: now,
      url: endpoint.url ?? "",
    };
  }
  const sameFailingSince = (endpoint.failingSince?.getTime() ?? null) === (failingSince?.getTime() ?? null);
  if (!disablesNow && sameFailingSince) return endpoint;
  writes.endpointChanged = true;
  return disablesNow
    ? { ...endpoint, status: "disabled", disabledReason: disableReason, disabledAt: now, failingSince }
    : { ...endpoint, failingSince };
}
