import { and, eq, lt } from "drizzle-orm";
import Stripe from "stripe";
import type { StripeEndpoint } from "../../config";
import type { RequestContext } from "../../context";
import { stripeEvents } from "../../db/schema";
import { ApiError } from "../../lib/errors";
import { errorFields } from "../../lib/logger";
import type { StripeEventMessage } from "../../queue/messages";
import { webCryptoProvider } from "../../stripe/client";

/** Stripe's own tolerance: a signature older than this is refused (replay protection). */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

export const stripeEventMessage = (eventId: string, requestId?: string): StripeEventMessage => ({
  kind: "stripe.event",
  event_id: eventId,
  ...(requestId ? { request_id: requestId } : {}),
});

/** Payloads up to this size travel in the queue message (Queues accept 128 KB per message). */
const MAX_INLINE_PAYLOAD_BYTES = 100 * 1024;

/**
 * Verifies `Stripe-Signature` over the raw body with Stripe's own code (HMAC-SHA256 through
 * SubtleCrypto, 300 s tolerance). Any failure (missing or forged signature, other secret, old
 * timestamp, unparsable body) is a 400 that records nothing.
 */
export async function verifyStripeEvent(
  rawBody: string,
  header: string | undefined,
  secret: string,
): Promise<Stripe.Event> {
  if (!header) throw new ApiError("invalid_signature", "Missing Stripe-Signature header");
  let event: Stripe.Event;
  try {
    event = await Stripe.webhooks.constructEventAsync(
      rawBody,
      header,
      secret,
      SIGNATURE_TOLERANCE_SECONDS,
      webCryptoProvider,
    );
  } catch (error) {
    const message = error instanceof Error ? error.message.split("\n")[0] : "invalid";
    throw new ApiError("invalid_signature", `Stripe signature verification failed: ${message}`);
  }
  if (!isEventShaped(event))
    throw new ApiError("validation_error", "The body is not a Stripe event (id, type, created, data.object)");
  return event;
}

function isEventShaped(event: Stripe.Event): boolean {
  const candidate = event as unknown as Record<string, unknown>;
  const data = candidate.data as Record<string, unknown> | undefined;
  return (
    typeof candidate.id === "string" &&
    typeof candidate.type === "string" &&
    typeof candidate.created === "number" &&
    typeof data?.object === "object" &&
    data.object !== null
  );
}

// Ids this isolate has handed to the queue lately: lets the answer say `duplicate` for Stripe's
// retries without a storage read. An id is remembered only once its hand-off succeeded, so a
// retry after a failed hand-off is taken again. The authoritative once-by-id record is the
// consumer's insert.
const recentIds = new Set<string>();
const RECENT_IDS_MAX = 10_000;

function remember(id: string) {
  if (recentIds.size >= RECENT_IDS_MAX) recentIds.clear();
  recentIds.add(id);
}

// Ids whose hand-off is under way in this isolate, with when it started. A copy arriving meanwhile
// sends its own message rather than await the first copy's promise: in Workers a request must not
// await a promise that another request's I/O settles (it hangs if that request ends first, and its
// continuation runs in that request's context). A second message costs a queue write; the
// consumer records an id once. In one isolate, while hand-offs succeed, one copy answers
// `duplicate: false`: the one that claimed the id, or, if its hand-off failed, a copy that
// succeeded after the claim was given up (as far as the bounded memory of recent ids reaches).
// A claim whose request never settled (cut off mid-send) lapses after `CLAIM_LAPSES_MS`.
const claims = new Map<string, number>();
const CLAIM_LAPSES_MS = 30_000;
const CLAIMS_MAX = 10_000;

async function handOffOnce(id: string, send: () => Promise<unknown>): Promise<{ duplicate: boolean }> {
  const now = Date.now();
  const held = claims.get(id);
  const claimant = held === undefined || now - held >= CLAIM_LAPSES_MS;
  if (claimant) {
    if (claims.size >= CLAIMS_MAX) claims.clear();
    claims.set(id, now);
  }
  try {
    await send();
  } finally {
    // Only its own claim: a lapsed one may have been taken over meanwhile.
    if (claimant && claims.get(id) === now) claims.delete(id);
  }
  if (recentIds.has(id) || (!claimant && claims.has(id))) return { duplicate: true };
  remember(id);
  return { duplicate: false };
}

/**
 * Hands a verified event to the queue and answers at once. The request path makes no storage
 * write for ordinary events: the event travels in the message and the consumer records it once
 * by id (a batched `INSERT ... ON CONFLICT DO NOTHING`), processing only what it inserted, so a
 * duplicate does nothing. An event too large for a message is recorded here first (the one
 * write) and only its id is queued. If that hand-off fails, the event stays `received` and the
 * cron sweep queues it again.
 */
export async function ingestStripeEvent(
  ctx: RequestContext,
  endpoint: StripeEndpoint,
  event: Stripe.Event,
  rawBody: string,
): Promise<{ duplicate: boolean }> {
  if (recentIds.has(event.id)) return { duplicate: true };
  if (new TextEncoder().encode(rawBody).byteLength <= MAX_INLINE_PAYLOAD_BYTES) {
    // A failed send throws: Stripe gets a 500 and retries, and the id is not remembered.
    return handOffOnce(event.id, () =>
      ctx.queue.send(
        { ...stripeEventMessage(event.id, ctx.requestId), endpoint, payload: rawBody },
        { contentType: "json" },
      ),
    );
  }
  const result = await ctx.db
    .insert(stripeEvents)
    .values(eventRow(event, endpoint, rawBody, ctx.clock.now()))
    .onConflictDoNothing()
    .run();
  if (result.meta.changes === 0) return { duplicate: true };
  remember(event.id);
  try {
    await ctx.queue.send(stripeEventMessage(event.id, ctx.requestId), { contentType: "json" });
  } catch (error) {
    ctx.log.error("stripe event enqueue failed; the sweep will retry", errorFields(error));
  }
  return { duplicate: false };
}

/** The D1 row of a received event. */
export function eventRow(
  event: Pick<Stripe.Event, "id" | "type" | "account" | "livemode" | "created">,
  endpoint: StripeEndpoint,
  payload: string,
  now: Date,
) {
  return {
    id: event.id,
    endpoint,
    type: event.type,
    account: event.account ?? null,
    livemode: event.livemode,
    created: event.created,
    payload,
    receivedAt: now,
  };
}

/** Cron: events recorded but never processed (their hand-off was lost) are enqueued again. */
export async function sweepUnprocessedStripeEvents(ctx: RequestContext, olderThanMs = 10 * 60_000) {
  const cutoff = new Date(ctx.clock.now().getTime() - olderThanMs);
  const stale = await ctx.db
    .select({ id: stripeEvents.id })
    .from(stripeEvents)
    .where(and(eq(stripeEvents.status, "received"), lt(stripeEvents.receivedAt, cutoff)))
    .limit(500);
  for (const row of stale)
    await ctx.queue.send(stripeEventMessage(row.id, ctx.requestId), { contentType: "json" });
  return stale.length;
}
