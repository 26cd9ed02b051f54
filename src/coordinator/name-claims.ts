/**
 * Claims on a name within one tenant (an external id a create is about to take, ...): a request
 * that checks a name is free and then makes something at Stripe before D1 can say it is taken
 * holds the claim across both, so a second request meanwhile is refused before it calls Stripe.
 * Without it, both pass the check, both create at Stripe, and the one whose D1 insert loses leaves
 * a customer that was created and deleted there (its events reach the mirror and the tenant).
 * Synchronous SQLite in the tenant's coordinator, so claims never race; a claim whose request
 * died lapses after `NAME_CLAIM_TTL_MS`.
 */
export const NAME_CLAIM_TTL_MS = 60_000;

export function createNameClaimsTable(storage: SqlStorage) {
  storage.exec(
    `CREATE TABLE IF NOT EXISTS name_claims (
       name TEXT PRIMARY KEY,
       claim_id TEXT NOT NULL,
       expires_at INTEGER NOT NULL
     )`,
  );
}

/** Claims `name` for `claimId`: true, or false while another live claim holds it. */
export function claimName(storage: SqlStorage, name: string, claimId: string, now: number): boolean {
  const taken = storage
    .exec<{ n: number }>(
      `INSERT INTO name_claims (name, claim_id, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET claim_id = excluded.claim_id, expires_at = excluded.expires_at
       WHERE name_claims.expires_at <= ?
       RETURNING 1 AS n`,
      name,
      claimId,
      now + NAME_CLAIM_TTL_MS,
      now,
    )
    .toArray();
  return taken.length > 0;
}

/** Releases `name` if `claimId` still holds it. */
export function releaseName(storage: SqlStorage, name: string, claimId: string) {
  storage.exec("DELETE FROM name_claims WHERE name = ? AND claim_id = ?", name, claimId);
}
