/**
 * Per-key rate limiting by the tier's requests per minute, with no storage round trip on the
 * request path:
 * - each isolate counts the key's requests in a fixed one-minute window; that count gives the
 *   `RateLimit-*` headers and refuses once this isolate alone has seen the limit;
 * - Cloudflare's rate-limiting binding makes the limit hold across all isolates of a location.
 *   It counts calls, so an isolate calls it once per chunk of `limit / 20` requests of a key
 *   (every 3rd request on the free tier, every 300th on pro) and the binding allows 20 chunks
 *   per minute. The call goes off the response path; a key the binding refuses is blocked in that
 *   isolate from its next request until the window ends. Each isolate starts its count of a key
 *   at a random point of a chunk (the window's `phase`), so keys whose windows start together
 *   (all of them: windows are aligned) do not all report at once: bursts are what a shared
 *   counter serves worst (Miniflare's took about 1 ms a call in bursts of 100, 0.33 ms one by
 *   one). Location-wide, each isolate can be up to one chunk ahead of the binding (5 % of a limit
 *   that is a multiple of 20), plus what it serves while a report is on its way (milliseconds),
 *   plus the rounding of the chunk (see `chunkSize`). Finer chunks buy nothing
 *   real: the binding itself is "permissive, eventually consistent" (Cloudflare's docs,
 *   "Accuracy"), each isolate checking a locally cached count that is updated asynchronously;
 *   and each call costs, in Miniflare's simulator 1–2 ms of workerd CPU (a Durable Object request
 *   and a SQLite write), which at 1/60 chunks was about 15 % of the API-key warm path's CPU.
 */
export const RATE_LIMIT_CHUNKS_PER_WINDOW = 20;
export const RATE_LIMIT_PERIOD_MS = 60_000;

export interface WindowCount {
  start: number;
  count: number;
  /** Where in a chunk this count starts, in [0, 1): see `completesChunk`. */
  phase: number;
}

/** The window after one more request at `now` (windows are aligned to the period). */
export function countRequest(
  previous: WindowCount | undefined,
  now: number,
  periodMs = RATE_LIMIT_PERIOD_MS,
  newPhase: () => number = Math.random,
): WindowCount {
  const start = Math.floor(now / periodMs) * periodMs;
  return previous && previous.start === start
    ? { start, count: previous.count + 1, phase: previous.phase }
    : { start, count: 1, phase: newPhase() };
}

export interface RateLimitStatus {
  limit: number;
  /** Requests of the key in the current window, this one included. */
  count: number;
  remaining: number;
  /** Seconds until the window resets. */
  reset: number;
  allowed: boolean;
  /** The window's phase (see `WindowCount`). */
  phase: number;
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
    phase: window.phase,
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

/**
 * How many requests of a key one binding call stands for: rounded up, so that one isolate
 * serving a key's whole limit reports at most the binding's `RATE_LIMIT_CHUNKS_PER_WINDOW`
 * chunks. Rounded down, a limit that is not a multiple of it (a custom plan's 150, or 39) ran out
 * of chunks before the limit: the binding refused the key at 140 of 150, at 20 of 39, with one
 * isolate. Rounded up, the binding's 20 chunks stand for `20 * chunkSize(limit)` requests, up to
 * 19 more than the limit (a limit of 21: chunks of 2, 40 requests; under 20: 20 requests), so the
 * location-wide count can go that far over; each isolate's own count still stops at the limit.
 * Within one window: a report in flight across the minute counts in the next one (Miniflare's
 * simulator counts a call when it arrives), and a limit raised mid-minute keeps the chunks already
 * spent at the old size, so a key can meet the binding's refusal early for the rest of that minute.
 */
export function chunkSize(limit: number): number {
  return Math.max(1, Math.ceil(limit / RATE_LIMIT_CHUNKS_PER_WINDOW));
}

/**
 * Whether this request completes a chunk and so must be reported to the location-wide binding:
 * every `chunkSize` requests, the first after fewer as the window's phase says.
 */
export function completesChunk(status: RateLimitStatus): boolean {
  const size = chunkSize(status.limit);
  return (status.count + Math.floor(status.phase * size)) % size === 0;
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
