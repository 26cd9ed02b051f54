import { describe, expect, it } from "vitest";
import {
  EMAIL_POLICY,
  recordFailure,
  retryAfterSeconds,
  type ThrottleState,
} from "../../src/modules/auth/throttle";

const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1) + seconds * 1000);

describe("login throttle rules", () => {
  it("locks a key on its fifth failure within the window, for the lock time", () => {
    let state: ThrottleState | undefined;
    for (let i = 0; i < 4; i++) {
      state = recordFailure(state, at(i), EMAIL_POLICY);
      expect(retryAfterSeconds(state, at(i))).toBe(0);
    }
    state = recordFailure(state, at(4), EMAIL_POLICY);
    expect(state.failures).toBe(5);
    expect(retryAfterSeconds(state, at(4))).toBe(15 * 60);
    expect(retryAfterSeconds(state, at(4 + 15 * 60 - 1))).toBe(1);
    expect(retryAfterSeconds(state, at(4 + 15 * 60))).toBe(0);
  });

  it("starts a new window once the old one has passed", () => {
    let state = recordFailure(undefined, at(0), EMAIL_POLICY);
    state = recordFailure(state, at(10), EMAIL_POLICY);
    expect(state.failures).toBe(2);
    state = recordFailure(state, at(15 * 60 + 1), EMAIL_POLICY);
    expect(state).toEqual({ failures: 1, windowStartedAt: at(15 * 60 + 1), lockedUntil: null });
  });

  it("is not locked without a state", () => {
    expect(retryAfterSeconds(undefined, at(0))).toBe(0);
  });
});
