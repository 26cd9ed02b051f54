import { and, eq, sql } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import type { UserCaller } from "../../context";
import { type Role, refreshTokens, tenants, users } from "../../db/schema";
import type { AppEnv } from "../../env";
import { guard } from "../../lib/access";
import { ApiError, forbidden, unauthenticated } from "../../lib/errors";
import { idempotent } from "../idempotency/idempotency";
import { verifyToken } from "./tokens";

const BEARER = /^Bearer\s+(\S+)$/i;

/**
 * Authenticates a tenant user by access JWT. The user row is read on every request (dashboard
 * traffic, not the API-key hot path) so a removed, deactivated or re-roled user loses access at
 * once instead of when the token expires; the role used is the current one, not the token's.
 * The same statement checks the token's session (its refresh-token family) is still live, so an
 * access token dies with its session (logout, password change, refresh-token reuse) at no extra
 * round trip: one indexed EXISTS on `refresh_tokens(family_id)`.
 */
export const requireUser = guard(
  createMiddleware<AppEnv>(async (c, next) => {
    const match = BEARER.exec(c.req.header("Authorization") ?? "");
    const token = match?.[1];
    if (!token) throw unauthenticated("Authentication credentials were not provided");
    if (token.startsWith("sk_") || token.startsWith("pk_"))
      throw unauthenticated("This endpoint requires a user access token, not an API key");

    const { ctx } = c.var;
    const claims = await verifyToken(ctx.config.auth, token, "access", ctx.clock.now());
    const row = await ctx.db
      .select({
        role: users.role,
        isActive: users.isActive,
        tenantStatus: tenants.status,
        sessionLive: sql<number>`EXISTS (SELECT 1 FROM ${refreshTokens} WHERE ${refreshTokens.familyId} = ${claims.sessionId} AND ${refreshTokens.userId} = ${claims.userId} AND ${refreshTokens.revokedAt} IS NULL)`,
      })
      .from(users)
      .innerJoin(tenants, eq(users.tenantId, tenants.id))
      .where(and(eq(users.id, claims.userId), eq(users.tenantId, claims.tenantId)))
      .get();
    if (!row?.isActive) throw unauthenticated("Invalid token");
    if (!row.sessionLive) throw unauthenticated("This session has ended; sign in again");

    const caller: UserCaller = {
      kind: "user",
      userId: claims.userId,
      tenantId: claims.tenantId,
      role: row.role,
      sessionId: claims.sessionId,
      tenantStatus: row.tenantStatus,
    };
    if (caller.tenantStatus === "suspended" && !allowedWhileSuspended(c.req.method, c.req.path)) {
      throw new ApiError(
        "tenant_suspended",
        "This tenant is suspended: its users can read and fix billing (/subscription/), nothing else changes until then",
      );
    }
    ctx.caller = caller;
    return idempotent(c, next);
  }),
  { user: true },
);

// What a suspended tenant's users may still do besides reading: fix billing, and keep their
// account and keys safe.
const SUSPENDED_WRITES = [
  "/api/v1/auth/tenants/subscription",
  "/api/v1/auth/tenants/change-password",
  "/api/v1/auth/tenants/logout",
  "/api/v1/auth/tenants/api-keys/",
];

// GET forms that write (the seeds' alias of POST .../stripe/connect starts onboarding).
const WRITING_GETS = ["/api/v1/auth/tenants/stripe/connect"];

function allowedWhileSuspended(method: string, path: string): boolean {
  const read =
    (method === "GET" || method === "HEAD") && !WRITING_GETS.some((prefix) => path.startsWith(prefix));
  return read || SUSPENDED_WRITES.some((prefix) => path.startsWith(prefix));
}

/** Lets through only users whose role is one of `roles` (403 otherwise; use after requireUser). */
export const requireRole = (...roles: Role[]) =>
  guard(
    createMiddleware<AppEnv>(async (c, next) => {
      const caller = c.var.ctx.caller;
      if (caller?.kind !== "user" || !roles.includes(caller.role)) {
        throw forbidden(`This action requires one of the roles: ${roles.join(", ")}`);
      }
      await next();
    }),
    { roles },
  );

/**
 * For routes users and secret keys both reach: a user needs one of `roles`; an API key (already
 * checked by its guard for kind and mode) passes, as the contract's billing table has it.
 */
export const requireRoleUnlessApiKey = (...roles: Role[]) =>
  guard(
    createMiddleware<AppEnv>(async (c, next) => {
      const caller = c.var.ctx.caller;
      if (caller?.kind === "api_key") return next();
      if (caller?.kind !== "user" || !roles.includes(caller.role)) {
        throw forbidden(`This action requires one of the roles: ${roles.join(", ")}`);
      }
      await next();
    }),
    { roles },
  );
