/**
 * The tenant's one subscribe in flight. Subscribing checks that the tenant has no live platform
 * subscription and then asks Stripe for one; two requests doing that at once would both pass the
 * check and both be billed. So a request claims the subscribe here first (synchronous SQLite in
 * the tenant's coordinator: claims never race), holds it across its Stripe calls and its D1 write,
 * and releases it whatever happened; a second request meanwhile is refused. A claim whose
 * request died lapses after `CLAIM_TTL_MS`.
 *
 * The claim also numbers the attempts, for Stripe's idempotency key of the create: the number
 * moves on only when the attempt's outcome at Stripe is known (stored, or refused by Stripe), so
 * after an unknown outcome (no answer, a 5xx, or a failure once Stripe had answered) the next
 * attempt sends the same key, and Stripe replays the subscription it made (same request) or
 * refuses (another request), never creating a second one.
 */
export const CLAIM_TTL_MS = 2 * 60_000;

export function createSubscribeClaimTable(storage: SqlStorage) {
  storage.exec(
    `CREATE TABLE IF NOT EXISTS subscribe_claim (
       id INTEGER PRIMARY KEY CHECK (id = 1),
       claim_id TEXT,
       expires_at INTEGER NOT NULL,
       attempt INTEGER NOT NULL
     )`,
  );
}

/** Claims the subscribe for `claimId`; answers the attempt number, or null while another holds it. */
export function claimSubscribe(storage: SqlStorage, claimId: string, now: number): number | null {
  const current = storage
    .exec<{ claim_id: string | null; expires_at: number; attempt: number }>(
      "SELECT claim_id, expires_at, attempt FROM subscribe_claim WHERE id = 1",
    )
    .toArray()[0];
  if (current?.claim_id && current.expires_at > now) return null;
  storage.exec(
    `INSERT INTO subscribe_claim (id, claim_id, expires_at, attempt) VALUES (1, ?, ?, 0)
     ON CONFLICT (id) DO UPDATE SET claim_id = excluded.claim_id, expires_at = excluded.expires_at`,
    claimId,
    now + CLAIM_TTL_MS,
  );
  return current?.attempt ?? 0;
}

/** Releases the claim (if still `claimId`'s); `outcomeKnown` moves the attempt number on. */
export function releaseSubscribe(storage: SqlStorage, claimId: string, outcomeKnown: boolean) {
  storage.exec(
    "UPDATE subscribe_claim SET claim_id = NULL, attempt = attempt + ? WHERE id = 1 AND claim_id = ?",
    outcomeKnown ? 1 : 0,
    claimId,
  );
}
