// The HTTP side of the double: request headers, API-key and Stripe-Account checks, injected
// failures, idempotent replays and writing answers.
import type { IncomingMessage, ServerResponse } from "node:http";
import { pathMatches } from "./control.ts";
import { accountInvalid, apiError, type HttpError, maskKey } from "./errors.ts";
import type { Ctx, Reply } from "./router.ts";
import type { FailRule, LoggedRequest, SavedResponse, State } from "./state.ts";

const KEY = /^(sk|rk)_(test|live)_[0-9A-Za-z_]+$/;

export function header(req: IncomingMessage, name: string): string | null {
  const v = req.headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? null;
}

/** The key of `Authorization: Bearer sk_...` (or HTTP Basic with the key as user name). */
export function apiKeyOf(req: IncomingMessage): string | null {
  const auth = header(req, "authorization");
  if (!auth) return null;
  const [scheme, value = ""] = auth.split(" ", 2);
  if (scheme?.toLowerCase() === "bearer") return value.trim() || null;
  if (scheme?.toLowerCase() === "basic")
    return Buffer.from(value, "base64").toString("utf8").split(":")[0] || null;
  return null;
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Checks the API key and the Stripe-Account header; sets `livemode` and `scope` on the context. */
export function authenticate(ctx: Ctx, stripeAccount: string | null): void {
  const key = ctx.apiKey;
  const unauthorized = (message: string, code?: string) =>
    apiError(401, { type: "invalid_request_error", message, ...(code ? { code } : {}) });
  if (!key) {
    throw unauthorized(
      "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
    );
  }
  if (ctx.state.revokedKeys.has(key))
    throw unauthorized(`Expired API Key provided: ${maskKey(key)}`, "api_key_expired");
  if (!KEY.test(key)) throw unauthorized(`Invalid API Key provided: ${maskKey(key)}`);
  ctx.livemode = key.includes("_live_");
  // An OAuth access token acts on its account, like a Stripe-Account header.
  const target = stripeAccount ?? ctx.state.accessTokens.get(key) ?? null;
  if (!target) return;
  const meta = ctx.state.accounts.get(target);
  if (!meta || meta.deleted || !meta.connected) throw accountInvalid(key, target);
  ctx.scope = target;
}

/** The first injected failure matching the request (consumed once), or null. */
export function takeFailure(state: State, entry: LoggedRequest): FailRule | null {
  const i = state.failures.findIndex(
    (r) =>
      (!r.method || r.method === entry.method) &&
      (!r.path || pathMatches(r.path, entry.path)) &&
      (!r.account || r.account === entry.headers.stripe_account) &&
      (!r.idempotencyKeyPrefix || (entry.headers.idempotency_key ?? "").startsWith(r.idempotencyKeyPrefix)),
  );
  const rule = state.failures[i];
  if (!rule) return null;
  rule.remaining -= 1;
  if (rule.remaining <= 0) state.failures.splice(i, 1);
  return rule;
}

function canonical(value: unknown): string {
  if (typeof value !== "object" || value === null) return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const rec = value as Record<string, unknown>;
  const keys = Object.keys(rec).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(rec[k])}`).join(",")}}`;
}

/** Idempotency keys are scoped to (API key, account) and bound to method, path and parameters. */
function idempotency(ctx: Ctx): { key: string; fingerprint: string } | null {
  if (ctx.method !== "POST" || !ctx.idempotencyKey) return null;
  return {
    key: `${ctx.apiKey}|${ctx.scope}|${ctx.idempotencyKey}`,
    fingerprint: `${ctx.method} ${ctx.path} ${canonical(ctx.params)}`,
  };
}

/** How long a key's answer is kept: Stripe prunes keys once they are at least 24 hours old. */
const IDEMPOTENCY_KEPT_SECONDS = 24 * 60 * 60;

/**
 * The stored answer for a repeated Idempotency-Key; 400 idempotency_error if the request differs.
 * A key older than 24 hours is forgotten: the request runs as a new one. `receivedAt` is the
 * request's (skewed) clock before its handler ran; a test clock's frozen time does not count.
 */
export function replay(ctx: Ctx, receivedAt: number): SavedResponse | null {
  const id = idempotency(ctx);
  const saved = id ? ctx.state.idempotency.get(id.key) : undefined;
  if (!id || !saved) return null;
  if (receivedAt - saved.savedAt >= IDEMPOTENCY_KEPT_SECONDS) {
    ctx.state.idempotency.delete(id.key);
    return null;
  }
  if (saved.fingerprint !== id.fingerprint) {
    throw apiError(400, {
      type: "idempotency_error",
      message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${ctx.idempotencyKey}' if you meant to execute a different request.`,
    });
  }
  return saved;
}

/** Stores an answer for replays: successes and card errors (the request ran), not validation errors. */
export function remember(ctx: Ctx, reply: Reply, receivedAt: number): void {
  const id = idempotency(ctx);
  if (!id || !((reply.status >= 200 && reply.status < 300) || reply.status === 402)) return;
  ctx.state.idempotency.set(id.key, {
    fingerprint: id.fingerprint,
    status: reply.status,
    body: `${JSON.stringify(reply.body, null, 2)}\n`,
    requestId: ctx.requestId,
    savedAt: receivedAt,
  });
}

export function send(res: ServerResponse, reply: Reply, base: Record<string, string>): void {
  const html = typeof reply.body === "string";
  let body = "";
  if (html) body = reply.body as string;
  else if (reply.body !== undefined) body = `${JSON.stringify(reply.body, null, 2)}\n`;
  res.writeHead(reply.status, {
    ...base,
    "content-type": html ? "text/html; charset=utf-8" : "application/json",
    ...reply.headers,
  });
  res.end(body);
}

export function sendSaved(res: ServerResponse, saved: SavedResponse, base: Record<string, string>): void {
  res.writeHead(saved.status, {
    ...base,
    "content-type": "application/json",
    "idempotent-replayed": "true",
    "original-request": saved.requestId,
  });
  res.end(saved.body);
}

export const errorReply = (err: HttpError): Reply => ({
  status: err.status,
  body: err.payload,
  headers: err.headers,
});
