import { eq, sql } from "drizzle-orm";
import type { Database } from "../../db/client";
import { loginThrottles } from "../../db/schema";
import { rateLimited } from "../../lib/errors";

/**
 * Throttling of guessable credentials (passwords, refresh and setup tokens, registrations), as a
 * fixed-window counter per key (`email:<sha256>`, `ip:<address>`, `user:<id>`, ...).
 *
 * An attempt is counted BEFORE the expensive or revealing work (PBKDF2, a token lookup), in one
 * SQL statement that increments and answers the new count, so parallel guesses cannot all read
 * "not locked yet": the (maxAttempts + 1)-th attempt in a window locks the key for `lockMs`, and
 * a locked key is refused without counting. A success refunds its attempt (or clears the key),
 * so only failures add up and a user who gets it right is never slowed down.
 */
export interface ThrottlePolicy {
  maxAttempts: number;
  windowMs: number;
  lockMs: number;
}

export interface ThrottleState {
  failures: number;
  windowStartedAt: Date;
  lockedUntil: Date | null;
}

const MINUTE = 60_000;
const fifteenMinutes = (maxAttempts: number): ThrottlePolicy => ({
  maxAttempts,
  windowMs: 15 * MINUTE,
  lockMs: 15 * MINUTE,
});

export const THROTTLES = {
  /** Wrong passwords for one email. */
  loginEmail: fifteenMinutes(5),
  /** Wrong passwords from one client IP, whatever the email. */
  loginIp: fifteenMinutes(30),
  /** Failed registrations (taken email, bad input) from one IP. */
  register: { maxAttempts: 10, windowMs: 60 * MINUTE, lockMs: 60 * MINUTE },
  /**
   * Failed invitations of one tenant: an email is one login across tenants, so a taken one is
   * refused, and like registration that would tell anyone which emails have an account.
   */
  invite: { maxAttempts: 10, windowMs: 60 * MINUTE, lockMs: 60 * MINUTE },
  /** Invalid or replayed refresh tokens from one IP. */
  refresh: fifteenMinutes(30),
  /** Wrong current passwords of one user at change-password. */
  changePassword: fifteenMinutes(5),
  /** Invalid setup tokens from one IP. */
  setupToken: fifteenMinutes(10),
} as const satisfies Record<string, ThrottlePolicy>;

/** The counter after one more attempt at `now` (unchanged while locked: a locked key is refused). */
export function countAttempt(
  state: ThrottleState | undefined,
  now: Date,
  policy: ThrottlePolicy,
): ThrottleState {
  if (state?.lockedUntil && state.lockedUntil > now) return state;
  const windowOpen = state && now.getTime() - state.windowStartedAt.getTime() < policy.windowMs;
  const failures = windowOpen ? state.failures + 1 : 1;
  const windowStartedAt = windowOpen ? state.windowStartedAt : now;
  const lockedUntil = failures > policy.maxAttempts ? new Date(now.getTime() + policy.lockMs) : null;
  return { failures, windowStartedAt, lockedUntil };
}

/** Seconds until the key may try again, or 0 when it is not locked. */
export function retryAfterSeconds(state: ThrottleState | undefined, now: Date): number {
  if (!state?.lockedUntil) return 0;
  const remaining = state.lockedUntil.getTime() - now.getTime();
  return remaining > 0 ? Math.ceil(remaining / 1000) : 0;
}

/**
 * `countAttempt` as one atomic upsert that answers the new state (`RETURNING`), for a batch.
 * SQLite evaluates every SET expression against the row as it was, like the function above.
 */
export function attemptStatement(db: Database, key: string, policy: ThrottlePolicy, now: Date) {
  const at = now.getTime();
  const locked = sql`${loginThrottles.lockedUntil} > ${at}`;
  const windowOver = sql`${loginThrottles.windowStartedAt} <= ${at - policy.windowMs}`;
  const next = sql`CASE WHEN ${windowOver} THEN 1 ELSE ${loginThrottles.failures} + 1 END`;
  return db
    .insert(loginThrottles)
    .values({
      key,
      failures: 1,
      windowStartedAt: now,
      lockedUntil: policy.maxAttempts < 1 ? new Date(at + policy.lockMs) : null,
    })
    .onConflictDoUpdate({
      target: loginThrottles.key,
      set: {
        failures: sql`CASE WHEN ${locked} THEN ${loginThrottles.failures} ELSE ${next} END`,
        windowStartedAt: sql`CASE WHEN ${locked} OR NOT ${windowOver} THEN ${loginThrottles.windowStartedAt} ELSE ${at} END`,
        lockedUntil: sql`CASE WHEN ${locked} THEN ${loginThrottles.lockedUntil} WHEN ${next} > ${policy.maxAttempts} THEN ${at + policy.lockMs} ELSE NULL END`,
      },
    })
    .returning();
}

/** Refuses with 429 and `Retry-After` when any of the counted states is locked. */
export function assertNotLocked(states: (ThrottleState | undefined)[], now: Date, message: string) {
  const wait = Math.max(0, ...states.map((state) => retryAfterSeconds(state, now)));
  if (wait > 0) throw rateLimited(wait, message);
}

/** Counts one attempt for each key in one batch; 429 when a key is locked. */
export async function takeAttempts(
  db: Database,
  attempts: [key: string, policy: ThrottlePolicy][],
  now: Date,
  message = "Too many attempts. Try again later.",
): Promise<void> {
  const [first, ...rest] = attempts.map(([key, policy]) => attemptStatement(db, key, policy, now));
  if (!first) return;
  const results = await db.batch([first, ...rest]);
  assertNotLocked(
    results.map((rows) => rows[0]),
    now,
    message,
  );
}

/** Gives back one counted attempt that turned out to be a success. */
export function refundAttempt(db: Database, key: string) {
  return db
    .update(loginThrottles)
    .set({ failures: sql`max(${loginThrottles.failures} - 1, 0)` })
    .where(eq(loginThrottles.key, key));
}

/** Forgets a key's failures (a correct password for that email). */
export function clearAttempts(db: Database, key: string) {
  return db.delete(loginThrottles).where(eq(loginThrottles.key, key));
}

/** `refundAttempt`, only if the statement just before it in the same batch changed a row. */
export function refundAttemptIfChanged(db: Database, key: string) {
  return db
    .update(loginThrottles)
    .set({ failures: sql`max(${loginThrottles.failures} - 1, 0)` })
    .where(sql`${loginThrottles.key} = ${key} AND changes() > 0`);
}
