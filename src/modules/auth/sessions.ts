import { and, eq, isNull, lt, ne, or, type SQL, sql } from "drizzle-orm";
import type { AuthConfig } from "../../config";
import type { RequestContext } from "../../context";
import type { Database } from "../../db/client";
import { loginThrottles, refreshTokens, type UserRow } from "../../db/schema";
import { newId } from "../../lib/crypto";
import { type SignedToken, signToken, type TokenSubject } from "./tokens";

export interface IssuedSession {
  access: SignedToken;
  refresh: SignedToken;
  /** The refresh-token row to insert, so callers can batch it with their own writes. */
  refreshRow: typeof refreshTokens.$inferInsert;
}

/** Signs an access/refresh pair for `user`; a new login starts a new family unless one is given. */
export async function issueSession(
  config: AuthConfig,
  user: Pick<UserRow, "id" | "tenantId" | "role">,
  now: Date,
  familyId: string = newId("ses"),
): Promise<IssuedSession> {
  const subject: TokenSubject = {
    userId: user.id,
    tenantId: user.tenantId,
    role: user.role,
    sessionId: familyId,
  };
  const [access, refresh] = await Promise.all([
    signToken(config, "access", subject, now),
    signToken(config, "refresh", subject, now),
  ]);
  return {
    access,
    refresh,
    refreshRow: {
      jti: refresh.jti,
      familyId,
      userId: user.id,
      tenantId: user.tenantId,
      expiresAt: refresh.expiresAt,
    },
  };
}

export const tokenPair = (session: IssuedSession) => ({
  access: session.access.token,
  refresh: session.refresh.token,
});

/** Revokes every live refresh token of a user, except those of `keepFamilyId` when given. */
export function revokeUserSessions(
  db: Database,
  userId: string,
  now: Date,
  keepFamilyId?: string,
  onlyIf?: SQL,
) {
  return db
    .update(refreshTokens)
    .set({ revokedAt: now })
    .where(
      and(
        eq(refreshTokens.userId, userId),
        isNull(refreshTokens.revokedAt),
        keepFamilyId ? ne(refreshTokens.familyId, keepFamilyId) : undefined,
        onlyIf,
      ),
    );
}

export function revokeFamily(db: Database, familyId: string, now: Date) {
  return db
    .update(refreshTokens)
    .set({ revokedAt: now })
    .where(and(eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt)));
}

/**
 * Inserts a refresh-token row only if the statement just before it in the same batch changed a
 * row (SQLite's `changes()`): the successor of a token exists only if the token was consumed.
 */
export function insertRefreshTokenIfChanged(db: Database, row: typeof refreshTokens.$inferInsert, now: Date) {
  // Values in the table's column order, as drizzle's INSERT ... SELECT lists every column.
  return db
    .insert(refreshTokens)
    .select(
      sql`SELECT ${row.jti}, ${row.familyId}, ${row.userId}, ${row.tenantId}, ${row.expiresAt.getTime()}, NULL, NULL, ${now.getTime()} WHERE changes() > 0`,
    );
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Cron: drops expired or long-revoked refresh tokens and stale throttle counters. */
export async function purgeExpiredSessions(ctx: RequestContext) {
  const now = ctx.clock.now();
  const dayAgo = new Date(now.getTime() - DAY_MS);
  await ctx.db.batch([
    ctx.db
      .delete(refreshTokens)
      .where(or(lt(refreshTokens.expiresAt, now), lt(refreshTokens.revokedAt, dayAgo))),
    ctx.db.delete(loginThrottles).where(lt(loginThrottles.windowStartedAt, dayAgo)),
  ]);
}
