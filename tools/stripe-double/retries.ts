// Smart Retries, approximated as a fixed schedule: after each failed attempt of an auto-advancing
// invoice, the next one is `delays_days[n]` days later; after the last retry fails, the
// subscription goes to `after`. The default is 4 retries (1, 3, 5, 7 days) then `canceled`.
// Configurable per customer or per account (`/__double/retry_schedule`), so parallel tests on their
// own customers or connected accounts never affect each other.
import { HttpError } from "./errors.ts";
import { type Ctx, type Reply, type Route, route } from "./router.ts";
import { DEFAULT_RETRY_SCHEDULE, type Json, type RetrySchedule } from "./state.ts";

const accountKey = (account: string | null) => `account:${account ?? "platform"}`;

export function retryScheduleFor(ctx: Ctx, customerId: string | null): RetrySchedule {
  const map = ctx.state.retrySchedules;
  return (
    (customerId ? map.get(`customer:${customerId}`) : undefined) ??
    map.get(accountKey(ctx.scope)) ??
    DEFAULT_RETRY_SCHEDULE
  );
}

function bad(message: string): HttpError {
  return new HttpError(400, { error: { type: "invalid_request_error", message } });
}

function keyOf(body: Json): string {
  if (body.customer !== undefined && body.customer !== null) {
    if (typeof body.customer !== "string") throw bad("customer must be a string");
    return `customer:${body.customer}`;
  }
  if (body.account !== undefined && body.account !== null && typeof body.account !== "string")
    throw bad("account must be a string or null");
  return accountKey((body.account as string | undefined) ?? null);
}

function describeSchedule(key: string, schedule: RetrySchedule): Json {
  return { key, delays_days: schedule.delaysDays, after: schedule.after };
}

/** POST /__double/retry_schedule `{account?|customer?, delays_days?, after?}` */
function setSchedule(ctx: Ctx): Reply {
  const body = ctx.rawBody.trim() ? (JSON.parse(ctx.rawBody) as Json) : {};
  const key = keyOf(body);
  const current = ctx.state.retrySchedules.get(key) ?? DEFAULT_RETRY_SCHEDULE;
  const delays = body.delays_days ?? current.delaysDays;
  if (!Array.isArray(delays) || delays.some((d) => typeof d !== "number" || !(d > 0)))
    throw bad("delays_days must be an array of positive numbers of days");
  const after = body.after ?? current.after;
  if (after !== "canceled" && after !== "unpaid" && after !== "past_due")
    throw bad("after must be canceled, unpaid or past_due");
  const schedule: RetrySchedule = { delaysDays: delays as number[], after };
  ctx.state.retrySchedules.set(key, schedule);
  return { status: 200, body: describeSchedule(key, schedule) };
}

function getSchedule(ctx: Ctx): Reply {
  const q = ctx.query;
  const key = keyOf({ account: q.account, customer: q.customer });
  return {
    status: 200,
    body: describeSchedule(key, ctx.state.retrySchedules.get(key) ?? DEFAULT_RETRY_SCHEDULE),
  };
}

function deleteSchedule(ctx: Ctx): Reply {
  const q = ctx.query;
  ctx.state.retrySchedules.delete(keyOf({ account: q.account, customer: q.customer }));
  return { status: 200, body: { ok: true } };
}

export const retryRoutes: Route[] = [
  route("POST", "/__double/retry_schedule", setSchedule, "control"),
  route("GET", "/__double/retry_schedule", getSchedule, "control"),
  route("DELETE", "/__double/retry_schedule", deleteSchedule, "control"),
];
