import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import * as schema from "../../src/db/schema";
import {
  attemptStatement,
  countAttempt,
  retryAfterSeconds,
  THROTTLES,
  type ThrottlePolicy,
  type ThrottleState,
} from "../../src/modules/auth/throttle";
import { unique } from "../harness";

const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1) + seconds * 1000);
const EMAIL = THROTTLES.loginEmail;

describe("throttle rule", () => {
  it("lets maxAttempts attempts through in a window and locks on the next, for the lock time", () => {
    let state: ThrottleState | undefined;
    for (let i = 0; i < EMAIL.maxAttempts; i++) {
      state = countAttempt(state, at(i), EMAIL);
      expect(retryAfterSeconds(state, at(i))).toBe(0);
    }
    state = countAttempt(state, at(5), EMAIL);
    expect(state.failures).toBe(6);
    expect(retryAfterSeconds(state, at(5))).toBe(15 * 60);
    expect(retryAfterSeconds(state, at(5 + 15 * 60 - 1))).toBe(1);
    expect(retryAfterSeconds(state, at(5 + 15 * 60))).toBe(0);
  });

  it("does not count attempts while locked (the lock does not grow)", () => {
    let state: ThrottleState | undefined;
    for (let i = 0; i <= EMAIL.maxAttempts; i++) state = countAttempt(state, at(i), EMAIL);
    const locked = state;
    expect(countAttempt(locked, at(100), EMAIL)).toBe(locked);
  });

  it("starts a new window once the old one has passed", () => {
    let state = countAttempt(undefined, at(0), EMAIL);
    state = countAttempt(state, at(10), EMAIL);
    expect(state.failures).toBe(2);
    state = countAttempt(state, at(15 * 60 + 1), EMAIL);
    expect(state).toEqual({ failures: 1, windowStartedAt: at(15 * 60 + 1), lockedUntil: null });
  });

  it("is not locked without a state", () => {
    expect(retryAfterSeconds(undefined, at(0))).toBe(0);
  });
});

describe("throttle statement in D1", () => {
  const db = drizzle(env.DB, { schema, casing: "snake_case" });
  const policy: ThrottlePolicy = { maxAttempts: 3, windowMs: 60_000, lockMs: 30_000 };

  /** The same attempts through the rule and through the SQL upsert give the same states. */
  it("agrees with the rule over a sequence crossing a lock and a new window", async () => {
    const key = `test:${unique()}`;
    const times = [0, 1, 2, 3, 4, 20, 40, 61, 62, 100, 161, 162];
    let expected: ThrottleState | undefined;
    for (const t of times) {
      expected = countAttempt(expected, at(t), policy);
      const [row] = await attemptStatement(db, key, policy, at(t));
      expect(row, `at ${t}s`).toMatchObject({
        failures: expected.failures,
        windowStartedAt: expected.windowStartedAt,
        lockedUntil: expected.lockedUntil,
      });
    }
  });

  it("counts parallel attempts exactly once each", async () => {
    const key = `test:${unique()}`;
    const rows = await Promise.all(
      Array.from({ length: 12 }, () => attemptStatement(db, key, policy, at(0))),
    );
    const counts = rows.map(([row]) => row?.failures).sort((a, b) => (a ?? 0) - (b ?? 0));
    // Attempts 1..3 pass, the 4th locks, the rest are refused without counting.
    expect(counts.filter((n) => n !== undefined && n <= policy.maxAttempts)).toEqual([1, 2, 3]);
    expect(rows.filter(([row]) => retryAfterSeconds(row, at(0)) > 0)).toHaveLength(9);
  });
});
