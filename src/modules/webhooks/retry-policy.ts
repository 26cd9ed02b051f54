/**
 * Delivery rules of tenant webhooks, as pure functions so the queue consumer and the tests share them:
 * retries after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (then the message is failed); only a 2xx
 * within 10 s is success; redirects are not followed (3xx fails); `Retry-After` on 429/503 is honoured;
 * 410 disables the endpoint; an endpoint failing continuously for 5 days is disabled.
 */

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Wait before retry n (index n - 1), counted from the failed attempt before it. */
export const RETRY_DELAYS_MS: readonly number[] = [
  5 * SECOND,
  5 * MINUTE,
  30 * MINUTE,
  2 * HOUR,
  5 * HOUR,
  10 * HOUR,
  10 * HOUR,
];

/** One initial attempt plus one per scheduled retry. */
export const MAX_ATTEMPTS = RETRY_DELAYS_MS.length + 1;

/** A receiver that has not answered with a 2xx within this time has failed the attempt. */
export const DELIVERY_TIMEOUT_MS = 10 * SECOND;

/** An endpoint with no success for this long is disabled. */
export const DISABLE_AFTER_FAILING_MS = 5 * DAY;

/** Longest wait a receiver can ask for with `Retry-After`, so a bad header cannot park a message. */
export const MAX_RETRY_AFTER_MS = DAY;

export interface AttemptResult {
  /** HTTP status, when a response arrived. */
  status?: number;
  /** Why no usable response arrived: timed out, connection failed, or the URL failed the SSRF check. */
  error?: "timeout" | "network" | "blocked_url";
  retryAfterHeader?: string | null;
}

export interface AttemptOutcome {
  outcome: "success" | "retry" | "disable_endpoint";
  /** Short machine-readable cause, kept on the delivery attempt for the tenant's logs. */
  reason: string;
  /** The receiver's `Retry-After` (429 and 503 only), capped at {@link MAX_RETRY_AFTER_MS}. */
  retryAfterMs?: number;
}

/**
 * What one delivery attempt means. A URL refused by the SSRF check disables the endpoint, like 410:
 * it cannot start passing without the tenant changing it, so retrying for a day and a half is noise.
 */
export function classifyAttempt(result: AttemptResult, now: number = Date.now()): AttemptOutcome {
  if (result.error === "blocked_url") return { outcome: "disable_endpoint", reason: "blocked_url" };
  if (result.error !== undefined) return { outcome: "retry", reason: result.error };
  const status = result.status;
  if (status === undefined) return { outcome: "retry", reason: "no_response" };
  if (status >= 200 && status <= 299) return { outcome: "success", reason: `http_${status}` };
  if (status === 410) return { outcome: "disable_endpoint", reason: "http_410" };
  if (status === 429 || status === 503) {
    const retryAfterMs = parseRetryAfter(result.retryAfterHeader ?? null, now);
    if (retryAfterMs !== null) return { outcome: "retry", reason: `http_${status}`, retryAfterMs };
  }
  // 1xx, 3xx (redirects are not followed), other 4xx and 5xx.
  return { outcome: "retry", reason: `http_${status}` };
}

/**
 * Milliseconds to wait after the `attemptNumber`-th attempt (1-based) failed, or null when that was
 * the last attempt and the message is failed. A `Retry-After` longer than the schedule wins; the
 * result never exceeds 24 h.
 */
export function nextAttemptDelay(attemptNumber: number, retryAfterMs?: number): number | null {
  if (!Number.isInteger(attemptNumber) || attemptNumber < 1) {
    throw new RangeError(`attemptNumber must be a positive integer, got ${attemptNumber}`);
  }
  const scheduled = RETRY_DELAYS_MS[attemptNumber - 1];
  if (scheduled === undefined) return null;
  const asked = retryAfterMs !== undefined && Number.isFinite(retryAfterMs) ? retryAfterMs : 0;
  return Math.min(Math.max(scheduled, asked), MAX_RETRY_AFTER_MS);
}

/** True once the endpoint has failed without a single success for {@link DISABLE_AFTER_FAILING_MS}. */
export function shouldDisableEndpoint(firstFailureAt: number | null, now: number): boolean {
  return firstFailureAt !== null && now - firstFailureAt >= DISABLE_AFTER_FAILING_MS;
}

const HTTP_DATE_START = /^(mon|tue|wed|thu|fri|sat|sun)[a-z]*,? /i;

/**
 * `Retry-After` as milliseconds from `now`: delta-seconds or an HTTP-date (a date in the past means
 * 0), capped at 24 h. Null when absent or unreadable, so the schedule applies.
 */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (text === "") return null;
  if (/^\d+$/.test(text)) return Math.min(Number(text) * SECOND, MAX_RETRY_AFTER_MS);
  // IMF-fixdate, RFC 850 and asctime all open with a day name; this keeps Date.parse's lenient
  // guesses ("1.5", "-5") from being read as dates.
  if (!HTTP_DATE_START.test(text)) return null;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.min(Math.max(at - now, 0), MAX_RETRY_AFTER_MS);
}
