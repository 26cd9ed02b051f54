import { and, eq, lt, or, type SQL, sql } from "drizzle-orm";
import type { Context, Next } from "hono";
import type { ApiKeyCaller, RequestContext, UserCaller } from "../../context";
import { idempotencyKeys } from "../../db/schema";
import type { AppEnv } from "../../env";
import { hmacSha256, idFromSeed, newId, sha256Hex, toHex } from "../../lib/crypto";
import { ApiError, validationError } from "../../lib/errors";
import { errorFields } from "../../lib/logger";

/**
 * `Idempotency-Key` on any POST of a tenant's caller, as Stripe has it: the first answer (status
 * and body) is replayed for 24 h for the same tenant, key and request; the same key with another
 * request, or by another caller (another mode or kind of key, another user), is 409
 * `idempotency_key_reused`; a second request while the first is running is 409
 * `idempotency_key_in_use` (retry it). The key is claimed in D1 by one conditional upsert, so of
 * concurrent requests exactly one runs (and makes the Stripe calls); it renews its lock while it
 * runs, and only a request that died lets a retry take the key over. Answers that say the request
 * never started (validation, authentication, role, rate limit) or that failed on our side or
 * Stripe's (5xx) are not kept, so the request can be sent again as it was. An answer marked
 * `Cache-Control: no-store` (one that shows a secret once: new API keys, a setup token, a new
 * webhook secret) is not stored either, since D1 keeps those secrets only as hashes, if at all;
 * its key stays claimed, and a retry is 409 `idempotency_answer_not_kept` rather than a second run.
 */
/**
 * The headers of an answer that shows a secret once (tokens, API keys, a setup token, a new webhook
 * secret): no cache may keep it (RFC 9111), and neither does the Idempotency-Key store.
 */
export const SHOWN_ONCE = { "Cache-Control": "no-store" } as const;

const REPLAY_FOR_MS = 24 * 60 * 60 * 1000;
const MAX_STORED_BODY = 256 * 1024;
const KEY = /^[\x21-\x7e]{1,255}$/;
const NOT_KEPT = new Set([400, 401, 403, 409, 429]);

export async function idempotent(c: Context<AppEnv>, next: Next): Promise<Response | undefined> {
  const key = c.req.header("Idempotency-Key");
  const { ctx } = c.var;
  const caller = ctx.caller;
  if (c.req.method !== "POST" || key === undefined || !caller || caller.kind === "operator") {
    await next();
    return;
  }
  if (!KEY.test(key)) throw validationError("Idempotency-Key", "1 to 255 printable ASCII characters");
  const body = await c.req.raw.clone().text();
  const fingerprint = await fingerprintOf(
    ctx,
    caller,
    `${principalOf(caller)}\n${c.req.method} ${new URL(c.req.url).pathname.replace(/\/$/, "")}\n${body}`,
  );
  const lockMs = ctx.config.app.IDEMPOTENCY_LOCK_SECONDS * 1000;
  const claimed = await claim(ctx, caller.tenantId, key, fingerprint, lockMs);
  if (claimed.kind === "replay") {
    return c.body(claimed.body, claimed.status as 200, {
      "Content-Type": "application/json",
      "Idempotent-Replayed": "true",
    });
  }
  ctx.idempotencyKey = await sha256Hex(`${caller.tenantId}\n${key}\n${fingerprint}`);
  const held = heldClaim(caller.tenantId, key, claimed.at);
  const stopRenewing = renewWhileRunning(ctx, held, lockMs);
  let stored = false;
  try {
    await next();
    const status = c.res.status;
    const text = await c.res.clone().text();
    if (status < 500 && !NOT_KEPT.has(status) && text.length <= MAX_STORED_BODY) {
      const showsSecret = /\bno-store\b/.test(c.res.headers.get("Cache-Control") ?? "");
      await ctx.db
        .update(idempotencyKeys)
        .set({ responseStatus: status, responseBody: showsSecret ? null : text })
        .where(held);
      stored = true;
    }
  } finally {
    stopRenewing();
    if (!stored) await ctx.db.delete(idempotencyKeys).where(held);
  }
}

/**
 * The row of this request's claim while it runs: the key, claimed at `at` (a takeover writes its
 * own time, at least one lock later) and not answered yet. A request whose key was taken over
 * (its lock lapsed) neither stores its answer over the new holder's nor frees the key it holds.
 */
function heldClaim(tenantId: string, key: string, at: Date) {
  return and(
    eq(idempotencyKeys.tenantId, tenantId),
    eq(idempotencyKeys.key, key),
    eq(idempotencyKeys.createdAt, at),
    sql`${idempotencyKeys.responseStatus} IS NULL`,
  );
}

/**
 * Renews the lock every third of it while the request runs: the lock is for a first request that
 * died, and one that is slow (Stripe answering late, its retries) is not dead, so a client's retry
 * meanwhile is 409 in use rather than a second run. Answers the function that stops it.
 */
function renewWhileRunning(ctx: RequestContext, held: SQL | undefined, lockMs: number): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running = true;
  const renew = async () => {
    try {
      await ctx.db
        .update(idempotencyKeys)
        .set({ lockedUntil: new Date(ctx.clock.now().getTime() + lockMs) })
        .where(held);
    } catch (error) {
      ctx.log.warn("idempotency lock not renewed", errorFields(error));
    }
    if (running) timer = setTimeout(renew, lockMs / 3);
  };
  timer = setTimeout(renew, lockMs / 3);
  return () => {
    running = false;
    clearTimeout(timer);
  };
}

/**
 * Who may be answered a stored answer: the replay comes before the role check and the service's
 * mode check, so an answer kept for one caller must not reach a caller those checks would refuse
 * (a live key replaying a test key's request, a developer an owner's). Keys of one mode and kind
 * are one principal, as a regenerated key is the same caller; a user is their own, in their role
 * (one whose role changed since is another caller: the old answer may be one the new role may not
 * have).
 */
function principalOf(caller: ApiKeyCaller | UserCaller): string {
  return caller.kind === "api_key"
    ? `api_key ${caller.mode} ${caller.keyKind}`
    : `user ${caller.userId} ${caller.role}`;
}

/**
 * What identifies a request under its key, kept in D1 for 24 h. A user's body may carry a password
 * (change-password, an invitation with one), and all else in the text is known to whoever reads the
 * row: a plain SHA-256 of it would check guesses of that password 100,000 times faster than the
 * PBKDF2 hash kept for it. So a user's fingerprint is an HMAC keyed with the JWT secret, which every
 * user request has (it verified the caller's token with it); API keys' bodies carry no password,
 * and their routes need no JWT secret.
 */
async function fingerprintOf(
  ctx: RequestContext,
  caller: ApiKeyCaller | UserCaller,
  request: string,
): Promise<string> {
  if (caller.kind === "api_key") return sha256Hex(request);
  return toHex(await hmacSha256(ctx.config.auth.JWT_SECRET, `idempotency-fingerprint\n${request}`));
}

type Claim = { kind: "run"; at: Date } | { kind: "replay"; status: number; body: string };

async function claim(
  ctx: RequestContext,
  tenantId: string,
  key: string,
  fingerprint: string,
  lockMs: number,
): Promise<Claim> {
  const now = ctx.clock.now();
  const fresh = {
    tenantId,
    key,
    fingerprint,
    responseStatus: null,
    responseBody: null,
    lockedUntil: new Date(now.getTime() + lockMs),
    expiresAt: new Date(now.getTime() + REPLAY_FOR_MS),
    createdAt: now,
  };
  const [won] = await ctx.db
    .insert(idempotencyKeys)
    .values(fresh)
    .onConflictDoUpdate({
      target: [idempotencyKeys.tenantId, idempotencyKeys.key],
      set: fresh,
      // Taken over only when the old answer has expired, or its request died holding it.
      setWhere: or(
        lt(idempotencyKeys.expiresAt, now),
        and(
          sql`${idempotencyKeys.responseStatus} IS NULL`,
          lt(idempotencyKeys.lockedUntil, now),
          eq(idempotencyKeys.fingerprint, fingerprint),
        ),
      ),
    })
    .returning({ fingerprint: idempotencyKeys.fingerprint });
  if (won) return { kind: "run", at: now };
  const held = await ctx.db
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.tenantId, tenantId), eq(idempotencyKeys.key, key)))
    .get();
  if (!held) return claim(ctx, tenantId, key, fingerprint, lockMs);
  if (held.fingerprint !== fingerprint) {
    throw new ApiError(
      "idempotency_key_reused",
      "This Idempotency-Key was used with another request or by another caller; use a new key for a new request",
    );
  }
  if (held.responseStatus !== null && held.responseBody === null) {
    throw new ApiError(
      "idempotency_answer_not_kept",
      "The request with this Idempotency-Key was done, but its answer showed a secret once and was not kept; send the request again with a new key",
    );
  }
  if (held.responseStatus === null || held.responseBody === null) {
    throw new ApiError(
      "idempotency_key_in_use",
      "A request with this Idempotency-Key is still running; retry shortly",
      {
        headers: { "Retry-After": "1" },
      },
    );
  }
  return { kind: "replay", status: held.responseStatus, body: held.responseBody };
}

/** Cron: forgets answers older than their 24 h. */
export async function purgeExpiredIdempotencyKeys(ctx: RequestContext) {
  await ctx.db.delete(idempotencyKeys).where(lt(idempotencyKeys.expiresAt, ctx.clock.now()));
}

/**
 * The id of the object a request creates: seeded by its Idempotency-Key when it has one, so a
 * retry of the request names the same object (and reaches Stripe with the same key), else new.
 * `seeded` says which: only a seeded id can name an object an earlier try already recorded.
 */
export async function requestObjectId(
  ctx: RequestContext,
  prefix: string,
  kind: string,
): Promise<{ id: string; seeded: boolean }> {
  if (!ctx.idempotencyKey) return { id: newId(prefix), seeded: false };
  return { id: await idFromSeed(prefix, `${kind}\n${ctx.idempotencyKey}`), seeded: true };
}
