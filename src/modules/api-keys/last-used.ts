import { sql } from "drizzle-orm";
import type { Database } from "../../db/client";
import { apiKeys } from "../../db/schema";

/**
 * `last_used_at` without a D1 write per request: each isolate notes a key's use at most once a
 * minute, and writes the noted keys together, one UPDATE per flush, at most every
 * `FLUSH_EVERY_MS`, off the response path. A flush stamps its own time, so `last_used_at` is
 * exact to about a minute, which is what it is for.
 */
const NOTE_EVERY_MS = 60_000;
const FLUSH_EVERY_MS = 5_000;
const MAX_IDS_PER_FLUSH = 500;

const notedAt = new Map<string, number>();
const pending = new Set<string>();
let lastFlush = 0;

/** Notes a use of `keyId`; returns a flush to run off the response path when one is due. */
export function noteKeyUse(db: Database, keyId: string, now: number): Promise<unknown> | null {
  if (now - (notedAt.get(keyId) ?? 0) >= NOTE_EVERY_MS) {
    if (notedAt.size > 50_000) notedAt.clear();
    notedAt.set(keyId, now);
    pending.add(keyId);
  }
  if (!pending.size || now - lastFlush < FLUSH_EVERY_MS) return null;
  lastFlush = now;
  // The oldest noted first, taken out one by one: a flush costs its own ids, not the backlog's.
  const ids: string[] = [];
  for (const id of pending) {
    pending.delete(id);
    ids.push(id);
    if (ids.length === MAX_IDS_PER_FLUSH) break;
  }
  return db.run(
    sql`UPDATE ${apiKeys} SET last_used_at = ${now} WHERE id IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`,
  );
}
