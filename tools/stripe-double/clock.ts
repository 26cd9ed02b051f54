// The double's clock. Every `created`, period and `Date` header reads `now()`. Tests can skew it
// for chosen requests (`POST /__double/clock`), scoped like injected failures, so a skew made by
// one test never reaches another test's requests: each request runs with its own offset. A request
// that acts for a customer on a test clock runs at that clock's frozen time (`useTime`), and the
// test-clock engine runs each step at the time it happens (`atTime`).
import { AsyncLocalStorage } from "node:async_hooks";

export interface ClockRule {
  offsetSeconds: number;
  /** Only requests with this Stripe-Account header. */
  account: string | null;
  /** Only requests whose Idempotency-Key starts with this. */
  idempotencyKeyPrefix: string | null;
}

interface RequestTime {
  offset: number;
  /** A test clock's frozen time this request acts at, or null for the (skewed) wall clock. */
  frozen: number | null;
}

const timeOfRequest = new AsyncLocalStorage<RequestTime>();

/** Unix seconds as this request sees them. */
export function now(): number {
  const store = timeOfRequest.getStore();
  if (store?.frozen != null) return store.frozen;
  return Math.floor(Date.now() / 1000) + (store?.offset ?? 0);
}

/** The offset the first matching rule gives a request (0 when none matches). */
export function offsetFor(
  rules: ClockRule[],
  request: { account: string | null; idempotencyKey: string | null },
): number {
  const rule = rules.find(
    (r) =>
      (!r.account || r.account === request.account) &&
      (!r.idempotencyKeyPrefix || (request.idempotencyKey ?? "").startsWith(r.idempotencyKeyPrefix)),
  );
  return rule?.offsetSeconds ?? 0;
}

/** Runs `work` (and everything it awaits) with the clock moved by `offsetSeconds`. */
export function withOffset<T>(offsetSeconds: number, work: () => T): T {
  return timeOfRequest.run({ offset: offsetSeconds, frozen: null }, work);
}

/** Runs `work` with the clock stopped at `time` (a test clock's step). */
export function atTime<T>(time: number, work: () => T): T {
  return timeOfRequest.run({ offset: 0, frozen: time }, work);
}

/** From now on, this request sees the clock stopped at `time` (its customer is on a test clock). */
export function useTime(time: number): void {
  const store = timeOfRequest.getStore();
  if (store) store.frozen = time;
}
