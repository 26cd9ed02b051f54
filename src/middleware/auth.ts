import { and, eq } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import { authConfig } from "../config";
import { type Role, tenants, users } from "../db/schema";
import type { AppEnv, UserPrincipal } from "../env";
import { forbidden, unauthenticated } from "../lib/errors";
import { verifyToken } from "../modules/auth/tokens";

const BEARER = /^Bearer\s+(\S+)$/i;

/**
 * Authenticates a tenant user by access JWT. The user row is read on every request (dashboard
 * traffic, not the API-key hot path) so a removed, deactivated or re-roled user loses access at
 * once instead of when the token expires; the role used is the current one, not the token's.
 */
export const requireUser = createMiddleware<AppEnv>(async (c, next) => {
  const match = BEARER.exec(c.req.header("Authorization") ?? "");
  const token = match?.[1];
  if (!token) throw unauthenticated("Authentication credentials were not provided");
  if (token.startsWith("sk_") || token.startsWith("pk_"))
    throw unauthenticated("This endpoint requires a user access token, not an API key");

  const { db, clock } = c.var.services;
  const claims = await verifyToken(authConfig(c.env), token, "access", clock.now());
  const row = await db
    .select({ role: users.role, isActive: users.isActive, tenantStatus: tenants.status })
    .from(users)
    .innerJoin(tenants, eq(users.tenantId, tenants.id))
    .where(and(eq(users.id, claims.userId), eq(users.tenantId, claims.tenantId)))
    .get();
  if (!row?.isActive) throw unauthenticated("Invalid token");

  const principal: UserPrincipal = {
    kind: "user",
    userId: claims.userId,
    tenantId: claims.tenantId,
    role: row.role,
    sessionId: claims.sessionId,
    tenantStatus: row.tenantStatus,
  };
  c.set("principal", principal);
  await next();
});

/** Lets through only users whose role is one of `roles` (403 otherwise; use after requireUser). */
export const requireRole = (...roles: Role[]) =>
  createMiddleware<AppEnv>(async (c, next) => {
    if (!roles.includes(c.var.principal.role)) {
      throw forbidden(`This action requires one of the roles: ${roles.join(", ")}`);
    }
    await next();
  });
