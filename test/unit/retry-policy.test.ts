import { describe, expect, it } from "vitest";
import {
  BEHIND_AFTER_MS,
  BEHIND_RUN_GAP_MS,
  MIN_RUN_GAP_MS,
  runGapAfter,
} from "../../src/coordinator/deliveries";
import {
  classifyAttempt,
  DELIVERY_TIMEOUT_MS,
  DISABLE_AFTER_FAILING_MS,
  MAX_ATTEMPTS,
  MAX_RETRY_AFTER_MS,
  nextAttemptDelay,
  parseRetryAfter,
  RETRY_DELAYS_MS,
  shouldDisableEndpoint,
} from "../../src/modules/webhooks/retry-policy";

const S = 1_000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;
const NOW = Date.parse("Wed, 21 Oct 2026 07:28:00 GMT");

describe("constants", () => {
  it("follow the contract", () => {
    expect(RETRY_DELAYS_MS).toEqual([5 * S, 5 * M, 30 * M, 2 * H, 5 * H, 10 * H, 10 * H]);
    expect(MAX_ATTEMPTS).toBe(8);
    expect(DELIVERY_TIMEOUT_MS).toBe(10_000);
    expect(DISABLE_AFTER_FAILING_MS).toBe(5 * D);
    expect(MAX_RETRY_AFTER_MS).toBe(D);
  });
});

describe("classifyAttempt", () => {
  it.each([
    [200, "success"],
    [201, "success"],
    [202, "success"],
    [204, "success"],
    [299, "success"],
    [100, "retry"],
    [300, "retry"],
    [301, "retry"],
    [302, "retry"],
    [303, "retry"],
    [304, "retry"],
    [307, "retry"],
    [308, "retry"],
    [400, "retry"],
    [401, "retry"],
    [403, "retry"],
    [404, "retry"],
    [408, "retry"],
    [409, "retry"],
    [410, "disable_endpoint"],
    [413, "retry"],
    [422, "retry"],
    [429, "retry"],
    [500, "retry"],
    [501, "retry"],
    [502, "retry"],
    [503, "retry"],
    [504, "retry"],
  ] as const)("HTTP %i → %s", (status, outcome) => {
    expect(classifyAttempt({ status }, NOW)).toEqual({ outcome, reason: `http_${status}` });
  });

  it.each([
    ["timeout", "retry"],
    ["network", "retry"],
    ["blocked_url", "disable_endpoint"],
  ] as const)("error %s → %s", (error, outcome) => {
    expect(classifyAttempt({ error }, NOW)).toEqual({ outcome, reason: error });
  });

  it("retries when neither a status nor an error is given", () => {
    expect(classifyAttempt({}, NOW)).toEqual({ outcome: "retry", reason: "no_response" });
  });

  it("honours Retry-After on 429 in seconds", () => {
    expect(classifyAttempt({ status: 429, retryAfterHeader: "120" }, NOW)).toEqual({
      outcome: "retry",
      reason: "http_429",
      retryAfterMs: 120 * S,
    });
  });

  it("retries 429 on the schedule without Retry-After", () => {
    expect(classifyAttempt({ status: 429 }, NOW)).toEqual({ outcome: "retry", reason: "http_429" });
    expect(classifyAttempt({ status: 429, retryAfterHeader: null }, NOW)).toEqual({
      outcome: "retry",
      reason: "http_429",
    });
    expect(classifyAttempt({ status: 429, retryAfterHeader: "soon" }, NOW)).toEqual({
      outcome: "retry",
      reason: "http_429",
    });
  });

  it("honours Retry-After on 503 as an HTTP-date", () => {
    expect(classifyAttempt({ status: 503, retryAfterHeader: "Wed, 21 Oct 2026 09:28:00 GMT" }, NOW)).toEqual({
      outcome: "retry",
      reason: "http_503",
      retryAfterMs: 2 * H,
    });
  });

  it("ignores Retry-After on other statuses", () => {
    expect(classifyAttempt({ status: 500, retryAfterHeader: "3600" }, NOW)).toEqual({
      outcome: "retry",
      reason: "http_500",
    });
    expect(classifyAttempt({ status: 301, retryAfterHeader: "3600" }, NOW)).toEqual({
      outcome: "retry",
      reason: "http_301",
    });
  });

  it("caps an absurd Retry-After at 24 hours", () => {
    expect(classifyAttempt({ status: 429, retryAfterHeader: "99999999999" }, NOW).retryAfterMs).toBe(D);
  });
});

describe("nextAttemptDelay", () => {
  it.each([
    [1, 5 * S],
    [2, 5 * M],
    [3, 30 * M],
    [4, 2 * H],
    [5, 5 * H],
    [6, 10 * H],
    [7, 10 * H],
    [8, null],
    [9, null],
  ])("after attempt %i: %s ms", (attempt, delay) => {
    expect(nextAttemptDelay(attempt)).toBe(delay);
  });

  it("adds up to about 37.6 hours of retries over eight attempts", () => {
    let total = 0;
    let attempts = 1;
    for (let delay = nextAttemptDelay(attempts); delay !== null; delay = nextAttemptDelay(attempts)) {
      total += delay;
      attempts++;
    }
    expect(attempts).toBe(8);
    expect(total).toBe(5 * S + 5 * M + 30 * M + 2 * H + 5 * H + 10 * H + 10 * H);
  });

  it("waits for a Retry-After longer than the schedule", () => {
    expect(nextAttemptDelay(1, 60 * S)).toBe(60 * S);
    expect(nextAttemptDelay(3, 3 * H)).toBe(3 * H);
  });

  it("keeps the schedule when Retry-After is shorter", () => {
    expect(nextAttemptDelay(2, 10 * S)).toBe(5 * M);
    expect(nextAttemptDelay(6, H)).toBe(10 * H);
    expect(nextAttemptDelay(1, 0)).toBe(5 * S);
  });

  it("caps absurd Retry-After values at 24 hours", () => {
    expect(nextAttemptDelay(1, 30 * D)).toBe(D);
    expect(nextAttemptDelay(7, Number.MAX_SAFE_INTEGER)).toBe(D);
    expect(nextAttemptDelay(1, Number.POSITIVE_INFINITY)).toBe(5 * S);
    expect(nextAttemptDelay(1, Number.NaN)).toBe(5 * S);
  });

  it("fails the message after the eighth attempt even with Retry-After", () => {
    expect(nextAttemptDelay(8, 60 * S)).toBeNull();
  });

  it.each([0, -1, 1.5, Number.NaN])("refuses attempt number %s", (attempt) => {
    expect(() => nextAttemptDelay(attempt)).toThrow(RangeError);
  });
});

describe("shouldDisableEndpoint", () => {
  it.each([
    [null, false],
    [NOW, false],
    [NOW - 4 * D, false],
    [NOW - 5 * D + 1, false],
    [NOW - 5 * D, true],
    [NOW - 5 * D - 1, true],
    [NOW - 30 * D, true],
  ])("first failure at %s → %s", (firstFailureAt, disable) => {
    expect(shouldDisableEndpoint(firstFailureAt, NOW)).toBe(disable);
  });
});

describe("parseRetryAfter", () => {
  it.each([
    [null, null],
    ["", null],
    ["   ", null],
    ["0", 0],
    ["1", S],
    [" 120 ", 120 * S],
    ["86400", D],
    ["86401", D],
    ["99999999999999999999999", D],
    ["-5", null],
    ["1.5", null],
    ["1e3", null],
    ["soon", null],
    ["2026-10-21T08:28:00Z", null],
    ["Wed, 21 Oct 2026 08:28:00 GMT", H],
    ["Wednesday, 21-Oct-26 08:28:00 GMT", H],
    ["Wed Oct 21 08:28:00 2026", H],
    ["Wed, 21 Oct 2026 07:28:00 GMT", 0],
    ["Tue, 20 Oct 2026 07:28:00 GMT", 0],
    ["Sat, 21 Nov 2026 07:28:00 GMT", D],
    ["Wed, 99 Foo 2026 08:28:00 GMT", null],
  ])("%j → %s", (value, ms) => {
    expect(parseRetryAfter(value, NOW)).toBe(ms);
  });
});

describe("runGapAfter: the gap between a tenant's delivery runs", () => {
  it.each([
    [0, MIN_RUN_GAP_MS],
    [400, MIN_RUN_GAP_MS],
    [BEHIND_AFTER_MS, MIN_RUN_GAP_MS],
    [BEHIND_AFTER_MS + 1, BEHIND_RUN_GAP_MS],
    [30_000, BEHIND_RUN_GAP_MS],
  ])("oldest event waited %i ms → %i ms", (waited, gap) => {
    expect(runGapAfter(waited)).toBe(gap);
  });

  it("batches more only when events already arrive late", () => {
    expect(BEHIND_RUN_GAP_MS).toBeGreaterThan(MIN_RUN_GAP_MS);
    // The longer gap is no longer than the wait that triggered it, so it at most doubles latency
    // that is already past a second.
    expect(BEHIND_RUN_GAP_MS).toBeLessThanOrEqual(BEHIND_AFTER_MS);
  });
});
