// The double's clock. Every `created`, period and `Date` header reads `now()`. Tests can skew it
// for chosen requests (`POST /__double/clock`), scoped like injected failures, so a skew made by
// one test never reaches another test's requests: each request runs with its own offset.
import { AsyncLocalStorage } from "node:async_hooks";

export interface ClockRule {
  offsetSeconds: number;
  /** Only requests with this Stripe-Account header. */
  account: string | null;
  /** Only requests whose Idempotency-Key starts with this. */
  idempotencyKeyPrefix: string | null;
}

const offsetOfRequest = new AsyncLocalStorage<number>();

/** Unix seconds as this request sees them. */
export function now(): number {
  return Math.floor(Date.now() / 1000) + (offsetOfRequest.getStore() ?? 0);
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
  return offsetOfRequest.run(offsetSeconds, work);
}
