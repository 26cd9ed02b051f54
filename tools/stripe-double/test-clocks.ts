// Test clocks: customers created with `test_clock` live at the clock's frozen time, and advancing
// the clock runs, in time order, what Stripe would have done in between (see clock-engine.ts).
import { useTime } from "./clock.ts";
import type { Ctx } from "./router.ts";
import { find, type Json, mustFind } from "./state.ts";

/** The test clock `id` in the request's scope (404 otherwise); the request now runs at its time. */
export function liveClock(ctx: Ctx, id: string, param = "id"): Json {
  const clock = mustFind(ctx.state, "test_clock", id, ctx.scope, "test_clock", param).obj;
  useTime(clock.frozen_time as number);
  return clock;
}

/** The frozen time of the customer's test clock, or null when the customer is not on one. */
export function customerClockTime(ctx: Ctx, customerId: unknown): number | null {
  if (typeof customerId !== "string") return null;
  const customer = find(ctx.state, "customer", customerId, ctx.scope)?.obj;
  const clockId = customer?.test_clock;
  if (typeof clockId !== "string") return null;
  const clock = find(ctx.state, "test_clock", clockId, ctx.scope)?.obj;
  return clock ? (clock.frozen_time as number) : null;
}

/** Makes the rest of the request run at the customer's test-clock time (no-op off a clock). */
export function enterCustomerTime(ctx: Ctx, customerId: unknown): void {
  const time = customerClockTime(ctx, customerId);
  if (time !== null) useTime(time);
}
