import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../../env";
import { guard } from "../../lib/access";
import { timingSafeEqualStrings } from "../../lib/crypto";
import { unauthenticated } from "../../lib/errors";

const BEARER = /^Bearer\s+(\S+)$/i;

/** The OpenAPI security requirement of every operator route (scheme registered as `adminBearer`). */
export const ADMIN_AUTH: Record<string, string[]>[] = [{ adminBearer: [] }];

/** The `adminBearer` security scheme, for `openAPIRegistry.registerComponent("securitySchemes", ...)`. */
export const ADMIN_BEARER_SCHEME = {
  type: "http",
  scheme: "bearer",
  description: "The platform operator token (`PLATFORM_ADMIN_TOKEN`); tenant JWTs and API keys are refused",
} as const;

/**
 * Lets through only the platform operator: `Authorization: Bearer <PLATFORM_ADMIN_TOKEN>`,
 * compared in constant time. Fails closed: without the setting every operator route answers 503
 * `not_configured`. A missing or wrong credential (a tenant's JWT or API key included) is 401,
 * never 403, and the answer does not say which of the two it was beyond "not provided".
 */
export const requireAdmin = guard(
  createMiddleware<AppEnv>(async (c, next) => {
    const { ctx } = c.var;
    const expected = ctx.config.adminToken;
    const token = BEARER.exec(c.req.header("Authorization") ?? "")?.[1];
    if (!token) throw unauthenticated("Platform admin credentials were not provided");
    if (!timingSafeEqualStrings(token, expected)) throw unauthenticated("Invalid platform admin token");
    ctx.caller = { kind: "operator" };
    await next();
  }),
  { operator: true },
);
