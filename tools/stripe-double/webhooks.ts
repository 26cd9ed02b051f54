// Events: the envelope Stripe sends, its signature (`Stripe-Signature: t=...,v1=...`), and delivery
// to the configured endpoints. Platform events go to `url`; Connect events (with `account`) go to
// `connect_url`. Deliveries to one URL are sent one after another, in emission order, each with a
// 5 s timeout; the request that triggered them never waits.
import { createHmac } from "node:crypto";
import { allowList, listReply, reply, str } from "./params.ts";
import { type Ctx, type Route, route } from "./router.ts";
import { all, clone, type EventRecord, type Json, mustFind, newId, now, put, type State } from "./state.ts";

export const API_VERSION = "2026-10-28.endive";
const TIMEOUT_MS = 5000;

/** The `Stripe-Signature` header value for a payload: HMAC-SHA256 keyed with the whole secret. */
export function signPayload(payload: string, secret: string, timestamp: number = now()): string {
  const v1 = createHmac("sha256", secret).update(`${timestamp}.${payload}`, "utf8").digest("hex");
  return `t=${timestamp},v1=${v1}`;
}

export interface EmitInput {
  type: string;
  object: Json;
  /** Connected account for Connect events, null for platform events. */
  account: string | null;
  previous?: Json | null;
  requestId?: string | null;
  idempotencyKey?: string | null;
  livemode?: boolean;
  created?: number;
}

/** The top-level fields of `before` that differ in `after` (Stripe's `previous_attributes`). */
export function diff(before: Json, after: Json): Json | null {
  const out: Json = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) out[key] = before[key] ?? null;
  }
  return Object.keys(out).length > 0 ? out : null;
}

export function emit(state: State, input: EmitInput): Json {
  const data: Json = { object: clone(input.object) };
  if (input.previous) data.previous_attributes = clone(input.previous);
  const event: Json = {
    id: newId("evt"),
    object: "event",
    api_version: API_VERSION,
    created: input.created ?? now(),
    data,
    livemode: input.livemode ?? input.object.livemode === true,
    pending_webhooks: 1,
    request: { id: input.requestId ?? null, idempotency_key: input.idempotencyKey ?? null },
    type: input.type,
  };
  if (input.account) event.account = input.account;
  put(state, "event", input.account, event);
  const record: EventRecord = {
    event,
    account: input.account,
    delivery: { url: null, status: "skipped", response_status: null, error: null, attempted_at: null },
  };
  state.events.push(record);
  deliver(state, record);
  return event;
}

/** Emits an event caused by an API request (carries its request id and idempotency key). */
export function emitFor(
  ctx: Ctx,
  type: string,
  object: Json,
  opts: { previous?: Json | null; account?: string | null } = {},
): Json {
  return emit(ctx.state, {
    type,
    object,
    account: opts.account === undefined ? ctx.scope : opts.account,
    previous: opts.previous ?? null,
    requestId: ctx.requestId || null,
    idempotencyKey: ctx.idempotencyKey,
    livemode: ctx.livemode,
  });
}

const chains = new WeakMap<State, Map<string, Promise<void>>>();

function deliver(state: State, record: EventRecord): void {
  const cfg = state.webhooks;
  const url = record.account ? cfg.connect_url : cfg.url;
  const secret = record.account ? cfg.connect_secret : cfg.secret;
  if (!url) return;
  record.delivery = { url, status: "pending", response_status: null, error: null, attempted_at: null };
  const body = JSON.stringify(record.event, null, 2);
  let perUrl = chains.get(state);
  if (!perUrl) {
    perUrl = new Map();
    chains.set(state, perUrl);
  }
  const previous = perUrl.get(url) ?? Promise.resolve();
  const send = async (): Promise<void> => {
    record.delivery.attempted_at = now();
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json; charset=utf-8",
          "stripe-signature": signPayload(body, secret),
          "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        },
        body,
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      await res.arrayBuffer().catch(() => undefined);
      record.delivery.response_status = res.status;
      record.delivery.status = res.ok ? "delivered" : "failed";
    } catch (err) {
      record.delivery.status = "failed";
      record.delivery.error = err instanceof Error ? err.message : String(err);
    }
  };
  const next = previous.then(send);
  perUrl.set(url, next);
  state.pending.add(next);
  void next.finally(() => state.pending.delete(next));
}

/** Resolves when every delivery started so far has finished (delivered or failed). */
export async function flush(state: State): Promise<void> {
  while (state.pending.size > 0) await Promise.allSettled([...state.pending]);
}

/** GET /v1/events and /v1/events/:id: events of the request's scope (Connect events need its Stripe-Account). */
export const eventRoutes: Route[] = [
  route("GET", "/v1/events/:id", (ctx) =>
    reply(ctx, mustFind(ctx.state, "event", ctx.match[0] ?? "", ctx.scope).obj),
  ),
  route("GET", "/v1/events", (ctx) => {
    allowList(ctx, ["type", "types", "created", "delivery_success"]);
    const type = str(ctx.params, "type");
    const items = all(ctx.state, "event", ctx.scope)
      .map((s) => s.obj)
      .filter(
        (e) =>
          !type || e.type === type || (type.endsWith("*") && String(e.type).startsWith(type.slice(0, -1))),
      );
    return listReply(ctx, items, "/v1/events");
  }),
];
