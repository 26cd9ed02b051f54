import { inArray, or } from "drizzle-orm";
import type { RequestContext } from "../../context";
import type { Database } from "../../db/client";
import { type StripeEventRow, stripeEvents, tenantSubscriptions, tenants } from "../../db/schema";
import { splitByWeight } from "../../lib/split-by-weight";
import type { StripeEventMessage } from "../../queue/messages";
import { platformEventKeys, type StripeEventLike } from "../platform-billing/stripe-mapping";
import { eventRow } from "./ingest.service";

interface Keys {
  row: StripeEventRow;
  account: string | null;
  customerId: string | null;
  subscriptionId: string | null;
  tenantId: string | null;
}

const present = (values: (string | null)[]) => [
  ...new Set(values.filter((value): value is string => value !== null)),
];

/** Which tenant each event concerns, with at most three queries for the whole batch. */
async function resolveTenants(db: Database, keys: Keys[]): Promise<Map<string, string>> {
  const accounts = present(keys.map((k) => k.account));
  const customers = present(keys.map((k) => k.customerId));
  const subscriptions = present(keys.map((k) => k.subscriptionId));
  const tenantIds = present(keys.map((k) => k.tenantId));
  const [byAccount, bySubscription, byId] = await Promise.all([
    accounts.length
      ? db
          .select({ id: tenants.id, account: tenants.stripeConnectAccountId })
          .from(tenants)
          .where(inArray(tenants.stripeConnectAccountId, accounts))
      : [],
    customers.length || subscriptions.length
      ? db
          .select({
            id: tenantSubscriptions.tenantId,
            customer: tenantSubscriptions.stripeCustomerId,
            subscription: tenantSubscriptions.stripeSubscriptionId,
          })
          .from(tenantSubscriptions)
          .where(
            or(
              customers.length ? inArray(tenantSubscriptions.stripeCustomerId, customers) : undefined,
              subscriptions.length
                ? inArray(tenantSubscriptions.stripeSubscriptionId, subscriptions)
                : undefined,
            ),
          )
      : [],
    tenantIds.length ? db.select({ id: tenants.id }).from(tenants).where(inArray(tenants.id, tenantIds)) : [],
  ]);
  const accountTenant = new Map(byAccount.map((row) => [row.account, row.id]));
  const customerTenant = new Map(bySubscription.map((row) => [row.customer, row.id]));
  const subscriptionTenant = new Map(bySubscription.map((row) => [row.subscription, row.id]));
  const knownTenants = new Set(byId.map((row) => row.id));

  const resolved = new Map<string, string>();
  for (const k of keys) {
    const tenantId =
      k.row.endpoint === "connect"
        ? accountTenant.get(k.account ?? "")
        : (customerTenant.get(k.customerId ?? "") ??
          subscriptionTenant.get(k.subscriptionId ?? "") ??
          (k.tenantId && knownTenants.has(k.tenantId) ? k.tenantId : undefined));
    if (tenantId) resolved.set(k.row.id, tenantId);
  }
  return resolved;
}

/** An event with its row (as it is or will be recorded) and its payload parsed (routing reads it). */
interface Recorded {
  row: StripeEventRow;
  event: StripeEventLike;
}

const NO_TENANT = "no tenant matches this event";

/** The events that arrived in their messages, each id once, as the rows they would be recorded as. */
function arrivedEvents(bodies: StripeEventMessage[], now: Date): Recorded[] {
  const arrived = new Map<string, Recorded>();
  for (const body of bodies) {
    if (!body.payload || !body.endpoint || arrived.has(body.event_id)) continue;
    const event = JSON.parse(body.payload) as StripeEventLike;
    const row = eventRow(
      { ...event, account: event.account ?? null, livemode: event.livemode ?? false } as never,
      body.endpoint,
      body.payload,
      now,
    );
    arrived.set(body.event_id, {
      row: { ...row, tenantId: null, status: "received", outcome: null, attempts: 0, processedAt: null },
      event,
    });
  }
  return [...arrived.values()];
}

/**
 * Records events once by id, with the status routing gave them (`ignored` when no tenant matches):
 * an `INSERT ... SELECT` over the rows as one JSON array (`json_each`), which skips ids already
 * recorded and answers the ids it inserted, so duplicates do nothing. One statement for the pass
 * rather than one per seven rows (D1 binds at most 100 parameters), and the payloads are not sent
 * back; the array is split only when it would pass `CHARS_PER_INSERT`, under D1's 2 MB limit on
 * one bound value. Answers the events it inserted.
 */
async function recordOnce(db: Database, events: Recorded[]): Promise<Recorded[]> {
  const byId = new Map(events.map((recorded) => [recorded.row.id, recorded]));
  const statements = splitByWeight(events, ({ row }) => row.payload.length, CHARS_PER_INSERT).map((chunk) =>
    db.$client
      .prepare(
        `INSERT INTO stripe_events
           (id, endpoint, type, account, livemode, created, payload, received_at, status, outcome, processed_at)
         SELECT e.value ->> 0, e.value ->> 1, e.value ->> 2, e.value ->> 3, e.value ->> 4, e.value ->> 5,
           e.value ->> 6, e.value ->> 7, e.value ->> 8, e.value ->> 9, e.value ->> 10
         FROM json_each(?) AS e WHERE true
         ON CONFLICT (id) DO NOTHING
         RETURNING id`,
      )
      .bind(
        JSON.stringify(
          chunk.map(({ row }) => [
            row.id,
            row.endpoint,
            row.type,
            row.account,
            row.livemode ? 1 : 0,
            row.created,
            row.payload,
            row.receivedAt.getTime(),
            row.status,
            row.outcome,
            row.processedAt?.getTime() ?? null,
          ]),
        ),
      ),
  );
  if (!statements.length) return [];
  const results = await db.$client.batch<{ id: string }>(statements);
  return results.flatMap((result) =>
    result.results.flatMap(({ id }) => {
      const recorded = byId.get(id);
      return recorded ? [recorded] : [];
    }),
  );
}

/**
 * Payload characters one insert carries: a payload is at most 100 KiB (larger events are
 * recorded at ingestion) and a character at most 3 bytes of UTF-8, so the bound JSON stays under
 * D1's 2 MB per value.
 */
const CHARS_PER_INSERT = 600_000;

const NOT_PLATFORM = "a connected account's event (it names an account) on the platform endpoint";

/**
 * An event of a connected account that reached the platform endpoint (an endpoint set to listen
 * to connected accounts, signed with the platform endpoint's secret). It is never about the
 * platform's billing of a tenant, though its objects may name the tenant in `metadata.tenant_id`
 * (everything our API makes on a connected account does): routed as a platform event, a tenant's
 * own customer's subscription would be adopted as the tenant's platform subscription, and its
 * cancellation suspend the tenant.
 */
const connectedOnPlatform = (row: StripeEventRow) => row.endpoint === "platform" && row.account !== null;

// Routing reads only what it needs and tolerates a malformed event: such an event still reaches
// its tenant's coordinator, fails there alone, and is retried and surfaced like any failure.
function keysOf({ row, event }: Recorded): Keys {
  event.data = { object: event.data?.object ?? {} };
  if (row.endpoint === "connect") {
    const objectId = typeof event.data.object.id === "string" ? event.data.object.id : null;
    return { row, account: row.account ?? objectId, customerId: null, subscriptionId: null, tenantId: null };
  }
  if (connectedOnPlatform(row))
    return { row, account: null, customerId: null, subscriptionId: null, tenantId: null };
  return { row, account: null, ...platformEventKeys(event) };
}

/** A row read back from D1, with its payload parsed. */
const readBack = (row: StripeEventRow): Recorded => ({
  row,
  event: JSON.parse(row.payload) as StripeEventLike,
});

/**
 * Routes recorded Stripe events to their tenant's coordinator: Connect events by connected
 * account; platform events by Stripe customer or subscription id, then `metadata.tenant_id`.
 * Events that concern no tenant are recorded as `ignored`.
 */
export async function processStripeEventMessages(
  ctx: RequestContext,
  messages: Message<StripeEventMessage>[],
): Promise<Message<StripeEventMessage>[]> {
  const retry: Message<StripeEventMessage>[] = [];
  for (let i = 0; i < messages.length; i += MESSAGES_PER_PASS)
    retry.push(...(await processPass(ctx, messages.slice(i, i + MESSAGES_PER_PASS))));
  return retry;
}

/**
 * Messages one pass takes: its batched lookups bind one parameter per message (two for the
 * customer-or-subscription one) and D1 binds at most 100, while the queue hands over batches of
 * up to 100 messages (wrangler.toml) for the deliveries that share it.
 */
const MESSAGES_PER_PASS = 50;

/**
 * One pass: the events that arrived are routed first and recorded with the outcome (two D1 round
 * trips: the lookups, then the insert); events recorded before (a retry of this message, Stripe's
 * duplicate, an operator's resend by id, or one too large for a message) are read back, and those
 * not yet processed, or failed, are routed again. Matched events go to their tenant's coordinator.
 */
async function processPass(ctx: RequestContext, messages: Message<StripeEventMessage>[]) {
  const { db } = ctx;
  const now = ctx.clock.now();
  const bodies = messages.map((message) => message.body);
  const arrived = arrivedEvents(bodies, now);
  const tenantOf = await resolveTenants(db, arrived.map(keysOf));
  for (const { row } of arrived) {
    if (!tenantOf.has(row.id))
      Object.assign(row, {
        status: "ignored",
        outcome: connectedOnPlatform(row) ? NOT_PLATFORM : NO_TENANT,
        processedAt: now,
      });
  }
  const inserted = await recordOnce(db, arrived);

  const insertedIds = new Set(inserted.map(({ row }) => row.id));
  const again = [...new Set(bodies.map((body) => body.event_id).filter((id) => !insertedIds.has(id)))];
  const stored = again.length
    ? await db.select().from(stripeEvents).where(inArray(stripeEvents.id, again))
    : [];
  const retried = stored
    .filter((row) => row.status === "received" || row.status === "failed")
    .map((row) => keysOf(readBack(row)));
  const unrouted = retried.filter(({ row }) => !tenantOf.has(row.id));
  if (unrouted.length)
    for (const [id, tenantId] of await resolveTenants(db, unrouted)) tenantOf.set(id, tenantId);
  const unmatched = retried.filter(({ row }) => !tenantOf.has(row.id)).map(({ row }) => row.id);
  if (unmatched.length) {
    await db
      .update(stripeEvents)
      .set({ status: "ignored", outcome: NO_TENANT, processedAt: now })
      .where(inArray(stripeEvents.id, unmatched));
  }

  const byTenant = new Map<string, string[]>();
  for (const { row } of [...inserted, ...retried]) {
    const tenantId = tenantOf.get(row.id);
    if (!tenantId) continue;
    const ids = byTenant.get(tenantId);
    if (ids) ids.push(row.id);
    else byTenant.set(tenantId, [row.id]);
  }
  // A tenant's run that fails as a whole (D1 down) throws, and every message is retried; events
  // that failed on their own come back by id, and only their messages are retried.
  const outcomes = await Promise.all(
    [...byTenant].map(([tenantId, eventIds]) =>
      ctx.coordinator(tenantId).applyStripeEvents({ tenantId, eventIds, requestId: ctx.requestId }),
    ),
  );
  const failed = new Set(outcomes.flatMap((outcome) => outcome.retry));
  return messages.filter((message) => failed.has(message.body.event_id));
}
