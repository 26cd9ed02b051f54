// Control endpoints under /__double/ for tests and development (JSON in, JSON out).
import { onboard } from "./account-links.ts";
import { restrict } from "./accounts.ts";
import { defaultErrorFor, HttpError } from "./errors.ts";
import { revokeAccess } from "./oauth.ts";
import { type Ctx, type Reply, type Route, route } from "./router.ts";
import { clone, type FailRule, type Json, type LoggedRequest, resetState } from "./state.ts";
import { advanceSubscription, retrySubscription } from "./subscription-cycle.ts";
import { diff, emit, flush } from "./webhooks.ts";

function bad(message: string): HttpError {
  return new HttpError(400, { error: { type: "invalid_request_error", message } });
}

function json(ctx: Ctx): Json {
  if (!ctx.rawBody.trim()) return {};
  try {
    const parsed: unknown = JSON.parse(ctx.rawBody);
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) return parsed as Json;
  } catch {
    // answered below
  }
  throw bad("The body must be a JSON object.");
}

const optString = (body: Json, key: string): string | null => {
  const v = body[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== "string") throw bad(`${key} must be a string`);
  return v;
};

const optNumber = (body: Json, key: string): number | null => {
  const v = body[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0)
    throw bad(`${key} must be a non-negative number`);
  return v;
};

/** `/v1/products` matches itself and `/v1/products/...`, not `/v1/productsX`. */
export function pathMatches(prefix: string, path: string): boolean {
  return path === prefix || path.startsWith(prefix.endsWith("/") ? prefix : `${prefix}/`);
}

function addFailure(ctx: Ctx): Reply {
  const body = json(ctx);
  const status = optNumber(body, "status");
  const hang = body.hang === true;
  const delayMs = optNumber(body, "delay_ms") ?? 0;
  const times = optNumber(body, "times") ?? 1;
  if (status !== null && (status < 400 || status > 599))
    throw bad("status must be an HTTP error status (400-599)");
  const error = body.error;
  if (error !== undefined && (typeof error !== "object" || error === null || Array.isArray(error)))
    throw bad("error must be an object");
  const rule: FailRule = {
    method: optString(body, "method")?.toUpperCase() ?? null,
    path: optString(body, "path"),
    account: optString(body, "account"),
    idempotencyKeyPrefix: optString(body, "idempotency_key_prefix"),
    status: status ?? (hang || delayMs > 0 ? null : 500),
    error: (error as Json | undefined) ?? null,
    remaining: times === 0 ? Number.POSITIVE_INFINITY : Math.floor(times),
    delayMs,
    hang,
  };
  ctx.state.failures.push(rule);
  return { status: 200, body: { ok: true, rule: describeRule(rule) } };
}

function describeRule(rule: FailRule): Json {
  const status = rule.status;
  return {
    method: rule.method,
    path: rule.path,
    account: rule.account,
    idempotency_key_prefix: rule.idempotencyKeyPrefix,
    status,
    error: status === null ? null : { ...defaultErrorFor(status), ...(rule.error ?? {}) },
    remaining: Number.isFinite(rule.remaining) ? rule.remaining : null,
    delay_ms: rule.delayMs,
    hang: rule.hang,
  };
}

function requests(ctx: Ctx): Reply {
  const q = ctx.query;
  const path = typeof q.path === "string" ? q.path : null;
  const method = typeof q.method === "string" ? q.method.toUpperCase() : null;
  const account = typeof q.account === "string" ? q.account : null;
  const list = ctx.state.requests.filter(
    (r: LoggedRequest) =>
      (!path || pathMatches(path, r.path)) &&
      (!method || r.method === method) &&
      (!account || r.headers.stripe_account === account),
  );
  return { status: 200, body: list };
}

function setWebhooks(ctx: Ctx): Reply {
  const body = json(ctx);
  const cfg = ctx.state.webhooks;
  for (const key of ["url", "connect_url"] as const) {
    if (key in body) cfg[key] = optString(body, key);
  }
  for (const key of ["secret", "connect_secret"] as const) {
    const v = optString(body, key);
    if (v) cfg[key] = v;
  }
  return { status: 200, body: cfg };
}

function events(ctx: Ctx): Reply {
  const type = typeof ctx.query.type === "string" ? ctx.query.type : null;
  const account = typeof ctx.query.account === "string" ? ctx.query.account : null;
  const list = ctx.state.events
    .filter((r) => (!type || r.event.type === type) && (!account || r.account === account))
    .map((r) => ({ ...r.event, delivery: r.delivery }));
  return { status: 200, body: list };
}

function postEvent(ctx: Ctx): Reply {
  const body = json(ctx);
  const type = optString(body, "type");
  const data = body.data as Json | undefined;
  if (!type) throw bad("type is required");
  if (!data || typeof data.object !== "object" || data.object === null) throw bad("data.object is required");
  const event = emit(ctx.state, {
    type,
    object: data.object as Json,
    account: optString(body, "account"),
    previous: (data.previous_attributes as Json | undefined) ?? null,
    created: optNumber(body, "created") ?? undefined,
    livemode: body.livemode === true,
  });
  return { status: 200, body: event };
}

function advance(ctx: Ctx): Reply {
  const id = ctx.match[0] ?? "";
  const stored = ctx.state.objects.get(id);
  if (stored?.kind !== "subscription") throw bad(`No such subscription: '${id}'`);
  const body = json(ctx);
  const scoped = { ...ctx, scope: stored.account, livemode: stored.obj.livemode === true, requestId: "" };
  const sub =
    body.retry === true
      ? retrySubscription(scoped, stored.obj, body.fail === true)
      : advanceSubscription(scoped, stored.obj, body.fail === true);
  return { status: 200, body: sub };
}

function onboardAccount(ctx: Ctx): Reply {
  const stored = storedAccount(ctx);
  onboard(ctx.state, stored.id);
  return { status: 200, body: stored.obj };
}

/** The account's requirements fall past due: charges and payouts are disabled (`account.updated`). */
function restrictAccount(ctx: Ctx): Reply {
  const stored = storedAccount(ctx);
  const before = clone(stored.obj);
  restrict(stored.obj);
  const previous = diff(before, stored.obj);
  if (previous)
    emit(ctx.state, { type: "account.updated", object: stored.obj, account: stored.id, previous });
  return { status: 200, body: stored.obj };
}

/** The account's owner disconnects the platform in their Dashboard. */
function deauthorizeAccount(ctx: Ctx): Reply {
  const stored = storedAccount(ctx);
  const meta = ctx.state.accounts.get(stored.id);
  if (!meta?.connected) throw bad(`Account '${stored.id}' is not connected to the platform`);
  revokeAccess(ctx.state, stored.id, meta.clientId ?? "ca_double_platform", {
    requestId: null,
    livemode: stored.obj.livemode === true,
  });
  return { status: 200, body: { stripe_user_id: stored.id } };
}

function storedAccount(ctx: Ctx) {
  const id = ctx.match[0] ?? "";
  const stored = ctx.state.objects.get(id);
  if (stored?.kind !== "account") throw bad(`No such account: '${id}'`);
  return stored;
}

function objects(ctx: Ctx): Reply {
  const kind = typeof ctx.query.kind === "string" ? ctx.query.kind : null;
  const list = [...ctx.state.objects.values()]
    .filter((s) => !kind || s.kind === kind)
    .map((s) => ({ kind: s.kind, account: s.account, object: s.obj }));
  return { status: 200, body: list };
}

const control = (method: string, path: string, handler: (ctx: Ctx) => Reply | Promise<Reply>) =>
  route(method, `/__double${path}`, handler, "control");

export const controlRoutes: Route[] = [
  control("GET", "/health", () => ({ status: 200, body: { ok: true } })),
  control("POST", "/reset", (ctx) => {
    resetState(ctx.state);
    return { status: 200, body: { ok: true } };
  }),
  control("POST", "/fail", addFailure),
  control("GET", "/fail", (ctx) => ({ status: 200, body: ctx.state.failures.map(describeRule) })),
  control("DELETE", "/fail", (ctx) => {
    ctx.state.failures.length = 0;
    return { status: 200, body: { ok: true } };
  }),
  control("GET", "/requests", requests),
  control("DELETE", "/requests", (ctx) => {
    ctx.state.requests.length = 0;
    return { status: 200, body: { ok: true } };
  }),
  control("GET", "/webhooks", (ctx) => ({ status: 200, body: ctx.state.webhooks })),
  control("POST", "/webhooks", setWebhooks),
  control("GET", "/events", events),
  control("POST", "/events", postEvent),
  control("POST", "/flush", async (ctx) => {
    await flush(ctx.state);
    return { status: 200, body: { ok: true } };
  }),
  control("POST", "/subscriptions/:id/advance", advance),
  control("POST", "/accounts/:id/onboard", onboardAccount),
  control("POST", "/accounts/:id/restrict", restrictAccount),
  control("POST", "/accounts/:id/deauthorize", deauthorizeAccount),
  control("GET", "/objects", objects),
  control("POST", "/clock", addClockRule),
  control("DELETE", "/clock", (ctx) => {
    ctx.state.clockRules.length = 0;
    return { status: 200, body: { ok: true } };
  }),
];

/** `{offset_seconds, account?, idempotency_key_prefix?}`: skews the clock of matching requests. */
function addClockRule(ctx: Ctx): Reply {
  const body = ctx.rawBody ? (JSON.parse(ctx.rawBody) as Json) : {};
  const offset = Number(body.offset_seconds);
  if (!Number.isInteger(offset)) return { status: 400, body: { error: "offset_seconds must be an integer" } };
  const rule = {
    offsetSeconds: offset,
    account: typeof body.account === "string" ? body.account : null,
    idempotencyKeyPrefix:
      typeof body.idempotency_key_prefix === "string" ? body.idempotency_key_prefix : null,
  };
  ctx.state.clockRules.push(rule);
  return { status: 200, body: { ok: true, rule } };
}
