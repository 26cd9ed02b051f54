/**
 * Per-key rate limiting by the tier's requests per minute, with no storage round trip on the
 * request path:
 * - each isolate counts the key's requests in a fixed one-minute window; that count gives the
 *   `RateLimit-*` headers and refuses once this isolate alone has seen the limit;
 * - Cloudflare's rate-limiting binding makes the limit hold across all isolates of a location.
 *   It counts calls, so an isolate calls it once per chunk of `limit / 60` requests of a key
 *   (every request on the free tier, every 100th on pro) and the binding allows 60 chunks per
 *   minute. A key the binding refuses is blocked in that isolate until the window ends. The
 *   location-wide overshoot is below one chunk per isolate, the price of calling a shared counter
 *   once per chunk instead of once per request.
 */
export const RATE_LIMIT_CHUNKS_PER_WINDOW = 60;
export const RATE_LIMIT_PERIOD_MS = 60_000;

export interface WindowCount {
  start: number;
  count: number;
}

/** The window after one more request at `now` (windows are aligned to the period). */
export function countRequest(
  previous: WindowCount | undefined,
  now: number,
  periodMs = RATE_LIMIT_PERIOD_MS,
): WindowCount {
  const start = Math.floor(now / periodMs) * periodMs;
  return previous && previous.start === start ? { start, count: previous.count + 1 } : { start, count: 1 };
}

export interface RateLimitStatus {
  limit: number;
  /** Requests of the key in the current window, this one included. */
  count: number;
  remaining: number;
  /** Seconds until the window resets. */
  reset: number;
  allowed: boolean;
}

export function rateLimitStatus(
  window: WindowCount,
  limit: number,
  now: number,
  periodMs = RATE_LIMIT_PERIOD_MS,
): RateLimitStatus {
  return {
    limit,
    count: window.count,
    remaining: Math.max(0, limit - window.count),
    reset: Math.max(1, Math.ceil((window.start + periodMs - now) / 1000)),
    allowed: window.count <= limit,
  };
}

export function rateLimitHeaders(status: RateLimitStatus): Record<string, string> {
  return {
    "RateLimit-Limit": String(status.limit),
    "RateLimit-Remaining": String(status.remaining),
    "RateLimit-Reset": String(status.reset),
  };
}

const windows = new Map<string, WindowCount>();
const MAX_TRACKED = 50_000;

/** Counts a request of `keyId` in this isolate and returns its status against `limit`. */
export function countLocally(keyId: string, limit: number, now: number): RateLimitStatus {
  const next = countRequest(windows.get(keyId), now);
  if (windows.size >= MAX_TRACKED && !windows.has(keyId)) windows.clear();
  windows.set(keyId, next);
  return rateLimitStatus(next, limit, now);
}

/** How many requests of a key one binding call stands for. */
export function chunkSize(limit: number): number {
  return Math.max(1, Math.floor(limit / RATE_LIMIT_CHUNKS_PER_WINDOW));
}

/** Whether this request completes a chunk and so must be reported to the location-wide binding. */
export function completesChunk(status: RateLimitStatus): boolean {
  return status.count % chunkSize(status.limit) === 0;
}

const blockedUntil = new Map<string, number>();

/** Marks a key refused by the location-wide limit until its window ends (this isolate). */
export function blockKey(keyId: string, until: number) {
  if (blockedUntil.size > 50_000) blockedUntil.clear();
  blockedUntil.set(keyId, until);
}

export function isBlocked(keyId: string, now: number): boolean {
  const until = blockedUntil.get(keyId);
  if (until === undefined) return false;
  if (until > now) return true;
  blockedUntil.delete(keyId);
  return false;
}
