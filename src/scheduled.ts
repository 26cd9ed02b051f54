import { lt, or } from "drizzle-orm";
import { loginThrottles, refreshTokens } from "./db/schema";
import type { Database } from "./env";

const DAY_MS = 24 * 60 * 60 * 1000;

/** Housekeeping run by the cron trigger: drops expired sessions and stale login throttles. */
export async function purgeExpired(db: Database, now: Date) {
  const dayAgo = new Date(now.getTime() - DAY_MS);
  await db.batch([
    db.delete(refreshTokens).where(or(lt(refreshTokens.expiresAt, now), lt(refreshTokens.revokedAt, dayAgo))),
    db.delete(loginThrottles).where(lt(loginThrottles.windowStartedAt, dayAgo)),
  ]);
}
