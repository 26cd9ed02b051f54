import { inArray, or } from "drizzle-orm";
import type { RequestContext } from "../../context";
import type { Database } from "../../db/client";
import { type StripeEventRow, stripeEvents, tenantSubscriptions, tenants } from "../../db/schema";
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

/**
 * Records the events that arrived in their messages, once by id: one multi-row insert that
 * skips ids already recorded and answers the rows it inserted. Duplicates therefore do nothing.
 */
async function recordOnce(db: Database, bodies: StripeEventMessage[], now: Date): Promise<StripeEventRow[]> {
  const fresh = new Map<string, ReturnType<typeof eventRow>>();
  for (const body of bodies) {
    if (!body.payload || !body.endpoint || fresh.has(body.event_id)) continue;
    const event = JSON.parse(body.payload) as Pick<
      StripeEventLike,
      "id" | "type" | "created" | "account" | "livemode"
    >;
    fresh.set(
      body.event_id,
      eventRow(
        { ...event, account: event.account ?? null, livemode: event.livemode ?? false } as never,
        body.endpoint,
        body.payload,
        now,
      ),
    );
  }
  if (!fresh.size) return [];
  // D1 binds at most 100 parameters per statement: 7 rows of at most 13 columns, all in one batch.
  const values = [...fresh.values()];
  const statements = [];
  for (let i = 0; i < values.length; i += ROWS_PER_INSERT) {
    statements.push(
      db
        .insert(stripeEvents)
        .values(values.slice(i, i + ROWS_PER_INSERT))
        .onConflictDoNothing()
        .returning(),
    );
  }
  const [first, ...rest] = statements;
  if (!first) return [];
  return (await db.batch([first, ...rest])).flat();
}

const ROWS_PER_INSERT = 7;

// Routing reads only what it needs and tolerates a malformed event: such an event still reaches
// its tenant's coordinator, fails there alone, and is retried and surfaced like any failure.
function keysOf(row: StripeEventRow): Keys {
  const event = JSON.parse(row.payload) as StripeEventLike;
  event.data = { object: event.data?.object ?? {} };
  if (row.endpoint === "connect") {
    const objectId = typeof event.data.object.id === "string" ? event.data.object.id : null;
    return { row, account: row.account ?? objectId, customerId: null, subscriptionId: null, tenantId: null };
  }
  return { row, account: null, ...platformEventKeys(event) };
}

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

async function processPass(ctx: RequestContext, messages: Message<StripeEventMessage>[]) {
  const { db } = ctx;
  const now = ctx.clock.now();
  const bodies = messages.map((message) => message.body);
  const inserted = await recordOnce(db, bodies, now);
  // Events recorded before (a retry of this message, Stripe's duplicate, or an operator's
  // resend by id) are read back: those not yet processed, or failed, are processed again.
  const insertedIds = new Set(inserted.map((row) => row.id));
  const again = [...new Set(bodies.map((body) => body.event_id).filter((id) => !insertedIds.has(id)))];
  const stored = again.length
    ? await db.select().from(stripeEvents).where(inArray(stripeEvents.id, again))
    : [];
  const rows = [...inserted, ...stored];
  const pending = rows.filter((row) => row.status === "received" || row.status === "failed").map(keysOf);
  const resolved = await resolveTenants(db, pending);

  const byTenant = new Map<string, string[]>();
  const unmatched: string[] = [];
  for (const { row } of pending) {
    const tenantId = resolved.get(row.id);
    if (tenantId) byTenant.set(tenantId, [...(byTenant.get(tenantId) ?? []), row.id]);
    else unmatched.push(row.id);
  }
  if (unmatched.length) {
    await db
      .update(stripeEvents)
      .set({ status: "ignored", outcome: "no tenant matches this event", processedAt: now })
      .where(inArray(stripeEvents.id, unmatched));
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
