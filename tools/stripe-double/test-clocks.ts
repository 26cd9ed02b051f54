// Test clocks: customers created with `test_clock` live at the clock's frozen time, and advancing
// the clock runs, in time order, what Stripe would have done in between (clock-engine.ts). Clocks live in the account they were made in.
import { atTime, useTime } from "./clock.ts";
import { runClock } from "./clock-engine.ts";
import { invalid, missing } from "./errors.ts";
import { allow, allowList, int, listReply, reply, str } from "./params.ts";
import { type Ctx, type Reply, type Route, route } from "./router.ts";
import { all, find, type Json, mustFind, newId, put } from "./state.ts";
import { emitFor } from "./webhooks.ts";

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

function create(ctx: Ctx): Reply {
  allow(ctx, ["frozen_time", "name"]);
  const frozen = int(ctx.params, "frozen_time");
  if (frozen === undefined) throw missing("frozen_time");
  const t = Math.floor(Date.now() / 1000);
  const clock: Json = {
    id: newId("clock"),
    object: "test_helpers.test_clock",
    created: t,
    deletes_after: t + 30 * 86400,
    frozen_time: frozen,
    livemode: ctx.livemode,
    name: str(ctx.params, "name") || null,
    status: "ready",
    status_details: {},
  };
  put(ctx.state, "test_clock", ctx.scope, clock);
  emitFor(ctx, "test_helpers.test_clock.created", clock);
  return reply(ctx, clock);
}

function findClock(ctx: Ctx): Json {
  return mustFind(ctx.state, "test_clock", ctx.match[0] ?? "", ctx.scope, "test_clock").obj;
}

/** POST .../advance: the answer says `advancing`; the work is done by then, so GET says `ready`. */
function advance(ctx: Ctx): Reply {
  allow(ctx, ["frozen_time"]);
  const clock = findClock(ctx);
  const target = int(ctx.params, "frozen_time");
  if (target === undefined) throw missing("frozen_time");
  if (target <= Number(clock.frozen_time)) {
    throw invalid(
      "frozen_time",
      `The test clock can only be advanced to a time after its current frozen_time (${String(clock.frozen_time)}).`,
    );
  }
  const advancing = {
    ...clock,
    status: "advancing",
    status_details: { advancing: { target_frozen_time: target } },
  };
  atTime(Number(clock.frozen_time), () => emitFor(ctx, "test_helpers.test_clock.advancing", advancing));
  runClock(ctx, clock, target);
  Object.assign(clock, { frozen_time: target, status: "ready", status_details: {} });
  atTime(target, () => emitFor(ctx, "test_helpers.test_clock.ready", clock));
  return reply(ctx, advancing);
}

function remove(ctx: Ctx): Reply {
  const clock = findClock(ctx);
  for (const s of all(ctx.state, "customer", ctx.scope)) {
    if (s.obj.test_clock !== clock.id) continue;
    for (const sub of all(ctx.state, "subscription", ctx.scope)) {
      if (sub.obj.customer === s.id && sub.obj.status !== "canceled") sub.obj.status = "canceled";
    }
    s.obj = { id: s.id, object: "customer", deleted: true };
  }
  ctx.state.objects.delete(clock.id as string);
  emitFor(ctx, "test_helpers.test_clock.deleted", clock);
  return { status: 200, body: { id: clock.id, object: "test_helpers.test_clock", deleted: true } };
}

export const testClockRoutes: Route[] = [
  route("POST", "/v1/test_helpers/test_clocks", create),
  route("GET", "/v1/test_helpers/test_clocks", (ctx) => {
    allowList(ctx);
    return listReply(
      ctx,
      all(ctx.state, "test_clock", ctx.scope).map((s) => s.obj),
      "/v1/test_helpers/test_clocks",
    );
  }),
  route("GET", "/v1/test_helpers/test_clocks/:id", (ctx) => reply(ctx, findClock(ctx))),
  route("DELETE", "/v1/test_helpers/test_clocks/:id", remove),
  route("POST", "/v1/test_helpers/test_clocks/:id/advance", advance),
];
