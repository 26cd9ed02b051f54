import { createMiddleware } from "hono/factory";
import type { ApiKeyCaller, RequestContext } from "../../context";
import type { KeyKind } from "../../db/schema";
import type { AppEnv } from "../../env";
import { guard } from "../../lib/access";
import { auditInsert } from "../../lib/audit";
import { sha256Hex } from "../../lib/crypto";
import { ApiError, forbidden, unauthenticated } from "../../lib/errors";
import { errorFields } from "../../lib/logger";
import { tierLimits } from "../../lib/tiers";
import { requireRoleUnlessApiKey, requireUser } from "../auth/middleware";
import { idempotent } from "../idempotency/idempotency";
import {
  cachedKeyRecord,
  type EdgeKeyRecord,
  knownKeyHash,
  type LookupDeps,
  lookupKey,
  refreshDue,
  refreshKeyRecord,
  rememberKnownKey,
} from "./edge-store";
import { isUsable, keyState, parseApiKey } from "./keys";
import { noteKeyUse } from "./last-used";
import {
  blockKey,
  completesChunk,
  countLocally,
  isBlocked,
  type RateLimitStatus,
  rateLimitHeaders,
} from "./rate-limit";

const BEARER_KEY = /^Bearer\s+((?:pk|sk)_\S*)$/i;
const REVOKED_USE_AUDIT_EVERY_MS = 60_000;
const revokedUseAudits = new Map<string, number>();

/** The API key a request carries in `X-API-Key` or `Authorization: Bearer pk_/sk_...`, if any. */
export function apiKeyFromHeaders(headers: Headers): string | null {
  const header = headers.get("X-API-Key");
  if (header !== null) return header.trim();
  return BEARER_KEY.exec(headers.get("Authorization") ?? "")?.[1] ?? null;
}

/** Whether the request carries an API key rather than a user token. */
export const carriesApiKey = (headers: Headers) => apiKeyFromHeaders(headers) !== null;

// A revoked key hammering us is audited once a minute per isolate, not on every request.
function shouldAuditRevokedUse(keyId: string, now: number): boolean {
  if (now - (revokedUseAudits.get(keyId) ?? 0) < REVOKED_USE_AUDIT_EVERY_MS) return false;
  if (revokedUseAudits.size > 50_000) revokedUseAudits.clear();
  revokedUseAudits.set(keyId, now);
  return true;
}

/**
 * Authenticates a tenant server by API key: format check, SHA-256, edge record (isolate cache →
 * KV → D1), revocation/expiry, key kind, tenant suspension (402), then the per-key rate limit.
 * The key and its hash never reach a log line. Sets `apiKey` on the context and the
 * `RateLimit-*` headers on the response.
 */
export const requireApiKey = (allowedKinds: KeyKind[] = ["secret"]) =>
  guard(apiKeyMiddleware(allowedKinds), { apiKeyKinds: allowedKinds });

/**
 * The whole API-key check of one request, shared by the middleware and the Worker's fast path
 * for `verify/` (`./fast-verify.ts`): sets the caller on `ctx` and answers the `RateLimit-*`
 * headers, or throws the ApiError the request gets. Synchronous when the key's record is in this
 * isolate (the key seen before, its copy fresh): an answer that waits on nothing is cheaper for
 * workerd to send than a promise. Otherwise a promise.
 */
export function authenticateApiKey(
  ctx: RequestContext,
  headers: Headers,
  path: string,
  allowedKinds: KeyKind[],
): RateLimitHeaders | Promise<RateLimitHeaders> {
  const raw = apiKeyFromHeaders(headers);
  if (!raw) throw unauthenticated("An API key is required: send it in X-API-Key or Authorization: Bearer");
  if (!parseApiKey(raw)) throw unauthenticated("Invalid API key");

  const now = Date.now();
  const hash = knownKeyHash(raw);
  const cached = hash === undefined ? undefined : cachedKeyRecord(hash, now);
  if (hash !== undefined && cached !== undefined) {
    if (refreshDue(hash, now)) {
      ctx.waitUntil(
        refreshKeyRecord(lookupDeps(ctx, now), hash).catch((error: unknown) =>
          ctx.log.warn("API key record refresh failed", errorFields(error)),
        ),
      );
    }
    return admit(ctx, { raw, hash, record: cached, path, allowedKinds, now });
  }
  return (async () => {
    const found = hash ?? (await sha256Hex(raw));
    const record = await lookupKey(lookupDeps(ctx, now), found);
    return admit(ctx, { raw, hash: found, record, path, allowedKinds, now });
  })();
}

const lookupDeps = (ctx: RequestContext, now: number): LookupDeps => ({
  db: ctx.db,
  kv: ctx.kv,
  now,
  waitUntil: (promise) => ctx.waitUntil(promise),
});

type RateLimitHeaders = Record<string, string>;

interface Candidate {
  raw: string;
  hash: string;
  record: EdgeKeyRecord | null;
  path: string;
  allowedKinds: KeyKind[];
  now: number;
}

/** The checks once the key's record is known: revocation, kind, suspension, then the rate limit. */
function admit(ctx: RequestContext, candidate: Candidate): RateLimitHeaders {
  const { raw, hash, record, path, allowedKinds, now } = candidate;
  if (!record) throw unauthenticated("Invalid API key");
  rememberKnownKey(raw, hash);

  const state = keyState({ status: record.status, expiresAt: record.expires_at }, new Date(now));
  if (!isUsable(state)) {
    if (shouldAuditRevokedUse(record.key_id, now)) {
      ctx.waitUntil(
        auditInsert(ctx.db, {
          tenantId: record.tenant_id,
          actorType: "api_key",
          actorId: record.key_id,
          action: "api_key.used_after_revoke",
          targetType: "api_key",
          targetId: record.key_id,
          metadata: { state, path },
          requestId: ctx.requestId,
          at: new Date(now),
        }).run(),
      );
    }
    throw unauthenticated(state === "expired" ? "This API key has expired" : "This API key has been revoked");
  }
  if (!allowedKinds.includes(record.kind)) {
    throw forbidden("Publishable keys can only read public resources; use a secret key");
  }
  if (record.tenant_status === "suspended") {
    throw new ApiError(
      "tenant_suspended",
      "This tenant is suspended; its owner can restore access by fixing billing",
    );
  }

  // Records written before limits lived in them fall back to the tier's default.
  const limit = record.rate_limit ?? tierLimits(record.tier).api_requests_per_minute;
  const status = countLocally(record.key_id, limit, now);
  const allowed = status.allowed && !isBlocked(record.key_id, now);
  if (allowed && completesChunk(status)) reportChunk(ctx, record.key_id, now + status.reset * 1000);
  return admitted(ctx, record, status, allowed, now);
}

/**
 * Reports a chunk of the key's requests to the location-wide binding off the response path; a
 * refusal blocks the key in this isolate until `windowEnd`, from its next request on. Awaiting
 * it held the one request in 300 (pro) that completes a chunk, and with it a connection.
 * A binding that fails lets the key through (logged): the isolate's own count still holds.
 */
function reportChunk(ctx: RequestContext, keyId: string, windowEnd: number) {
  ctx.waitUntil(
    ctx.rateLimiter.limit({ key: keyId }).then(
      ({ success }) => {
        if (!success) blockKey(keyId, windowEnd);
      },
      (error: unknown) => ctx.log.warn("rate-limit report failed", errorFields(error)),
    ),
  );
}

/** Refuses a key over its limit (429), or sets it as the caller and answers its rate-limit headers. */
function admitted(
  ctx: RequestContext,
  record: EdgeKeyRecord,
  status: RateLimitStatus,
  allowed: boolean,
  now: number,
): RateLimitHeaders {
  const rateHeaders = rateLimitHeaders(status);
  if (!allowed) {
    throw new ApiError(
      "rate_limited",
      `Rate limit of ${status.limit} requests per minute exceeded for this key`,
      { headers: { ...rateHeaders, "RateLimit-Remaining": "0", "Retry-After": String(status.reset) } },
    );
  }
  const flush = noteKeyUse(ctx.db, record.key_id, now);
  if (flush) ctx.waitUntil(flush);
  const caller: ApiKeyCaller = {
    kind: "api_key",
    keyId: record.key_id,
    tenantId: record.tenant_id,
    companyName: record.company_name,
    keyKind: record.kind,
    mode: record.mode,
    tier: record.tier,
  };
  ctx.caller = caller;
  return rateHeaders;
}

const apiKeyMiddleware = (allowedKinds: KeyKind[]) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const headers = await authenticateApiKey(c.var.ctx, c.req.raw.headers, c.req.path, allowedKinds);
    // Set before the handler builds its response, so they are part of it rather than patched in.
    c.header("RateLimit-Limit", headers["RateLimit-Limit"]);
    c.header("RateLimit-Remaining", headers["RateLimit-Remaining"]);
    c.header("RateLimit-Reset", headers["RateLimit-Reset"]);
    return idempotent(c, next);
  });

/**
 * For routes both dashboard users and tenant servers call: an API key (of `kinds`) when the
 * request carries one, a user access token otherwise.
 */
export const requireUserOrApiKey = (kinds: KeyKind[]) => {
  const byKey = apiKeyMiddleware(kinds);
  return guard(
    createMiddleware<AppEnv>((c, next) =>
      carriesApiKey(c.req.raw.headers) ? byKey(c, next) : requireUser(c, next),
    ),
    { user: true, apiKeyKinds: kinds },
  );
};

/** The guards of the tenant's billing API: reads for every role and secret keys (contract's table). */
export const billingReaders = [requireUserOrApiKey(["secret"])];

/** Changes for owner, admin, billing and secret keys (not developer). */
export const billingWriters = [
  requireUserOrApiKey(["secret"]),
  requireRoleUnlessApiKey("owner", "admin", "billing"),
];
