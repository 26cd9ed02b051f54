import { and, count, eq, isNotNull, isNull, like, or, sql } from "drizzle-orm";
import { type RequestContext, userCaller } from "../../context";
import {
  plans,
  refreshTokens,
  type TenantRow,
  tenantSubscriptions,
  tenants,
  type UserRow,
  users,
  webhookEndpoints,
} from "../../db/schema";
import { auditInsert, auditInsertIfChanged } from "../../lib/audit";
import { newId, sha256Hex } from "../../lib/crypto";
import { uniqueViolation } from "../../lib/db-errors";
import { ApiError, notFound, unauthenticated, validationError } from "../../lib/errors";
import { hashPassword, passwordProblems, verifyPassword } from "../../lib/password";
import { nextFreeSlug, slugify } from "../../lib/slug";
import { effectiveLimits } from "../../lib/tiers";
import { insertKeys, mintKeys, publishKeyRecords } from "../api-keys/api-keys.service";
import {
  type IssuedSession,
  insertRefreshTokenIfChanged,
  issueSession,
  revokeFamily,
  revokeUserSessions,
} from "./sessions";
import {
  assertNotLocked,
  attemptStatement,
  clearAttempts,
  refundAttempt,
  refundAttemptIfChanged,
  THROTTLES,
  takeAttempts,
} from "./throttle";
import { verifyToken } from "./tokens";

export interface Session {
  tenant: TenantRow;
  user: UserRow;
  session: IssuedSession;
}

export interface Registration extends Session {
  /** The tenant's four API keys in full, shown once. */
  apiKeys: Record<string, string>;
}

function assertPasswordPolicy(password: string, email: string, field: string) {
  const problems = passwordProblems(password, email);
  if (problems.length) throw validationError(field, `Password ${problems.join(", ")}`);
}

export interface RegisterInput {
  company_name: string;
  email: string;
  password: string;
  domain?: string | undefined;
  first_name?: string | undefined;
  last_name?: string | undefined;
}

/**
 * Creates a tenant, its owner, its four API keys and the owner's first session in one D1 batch.
 * Registrations are counted per client IP first and a success gives its attempt back, so failed
 * ones (a taken email: the only way to probe which emails exist) are throttled.
 */
export async function register(ctx: RequestContext, input: RegisterInput): Promise<Registration> {
  const { db, clock } = ctx;
  const now = clock.now();
  const attemptKey = `register-ip:${ctx.clientIp}`;
  await takeAttempts(
    db,
    [[attemptKey, THROTTLES.register]],
    now,
    "Too many failed registrations. Try again later.",
  );
  assertPasswordPolicy(input.password, input.email, "password");

  const existing = await db.select({ id: users.id }).from(users).where(eq(users.email, input.email)).get();
  if (existing) throw new ApiError("conflict", "An account with this email already exists");

  const base = slugify(input.company_name);
  const taken = await db
    .select({ slug: tenants.slug })
    .from(tenants)
    .where(or(eq(tenants.slug, base), like(tenants.slug, `${base}-%`)));
  const tenant: TenantRow = {
    id: newId("ten"),
    slug: nextFreeSlug(
      base,
      taken.map((row) => row.slug),
    ),
    companyName: input.company_name,
    domain: input.domain ?? null,
    status: "active",
    suspendedReason: null,
    suspendedAt: null,
    subscriptionTier: "free",
    limits: null,
    stripeConnectAccountId: null,
    stripeConnectStatus: "not_connected",
    stripeConnectFlow: null,
    createdAt: now,
    updatedAt: now,
  };
  const user: UserRow = {
    id: newId("usr"),
    tenantId: tenant.id,
    email: input.email,
    firstName: input.first_name ?? null,
    lastName: input.last_name ?? null,
    role: "owner",
    passwordHash: await hashPassword(input.password),
    setupTokenHash: null,
    setupTokenExpiresAt: null,
    isActive: true,
    lastLoginAt: now,
    createdAt: now,
    updatedAt: now,
  };
  const session = await issueSession(ctx.config.auth, user, now);
  const keys = await mintKeys(tenant, ["live", "test"], user.id, now);

  try {
    await db.batch([
      db.insert(tenants).values(tenant),
      db.insert(users).values(user),
      db.insert(refreshTokens).values(session.refreshRow),
      insertKeys(db, keys),
      auditInsert(db, {
        tenantId: tenant.id,
        actorType: "user",
        actorId: user.id,
        action: "tenant.registered",
        targetType: "tenant",
        targetId: tenant.id,
        requestId: ctx.requestId,
        at: now,
      }),
      auditInsert(db, {
        tenantId: tenant.id,
        actorType: "user",
        actorId: user.id,
        action: "api_keys.created",
        targetType: "api_keys",
        targetId: "all",
        metadata: { key_ids: keys.rows.map((row) => row.id) },
        requestId: ctx.requestId,
        at: now,
      }),
      refundAttempt(db, attemptKey),
    ]);
  } catch (error) {
    const column = uniqueViolation(error);
    if (column === "users.email") throw new ApiError("conflict", "An account with this email already exists");
    if (column === "tenants.slug")
      throw new ApiError("conflict", "Please retry: the company slug was just taken");
    throw error;
  }
  await publishKeyRecords(ctx.kv, keys.records, now.getTime());
  return { tenant, user, session, apiKeys: keys.fullKeys };
}

const GENERIC_LOGIN_FAILURE = "Invalid email or password";

/**
 * Email/password login. The attempt is counted per email (hashed) and per client IP before the
 * password is checked, in the same D1 batch that reads the user: a locked key answers 429, and
 * parallel guesses cannot outrun the count. A correct password clears the email's count and
 * gives the IP its attempt back. The answer is the same whether or not the email exists, and an
 * unknown email costs the same PBKDF2 work as a wrong password.
 */
export async function login(
  ctx: RequestContext,
  input: { email: string; password: string },
): Promise<Session> {
  const { db, clock } = ctx;
  const now = clock.now();
  const emailKey = `email:${await sha256Hex(input.email)}`;
  const ipKey = `ip:${ctx.clientIp}`;

  // One round trip and no join: drizzle maps batched rows by column name, and users and tenants
  // share column names (id, created_at), so a batched join would mix their values.
  const [emailThrottle, ipThrottle, foundUsers, foundTenants] = await db.batch([
    attemptStatement(db, emailKey, THROTTLES.loginEmail, now),
    attemptStatement(db, ipKey, THROTTLES.loginIp, now),
    db.select().from(users).where(eq(users.email, input.email)),
    db
      .select()
      .from(tenants)
      .where(
        eq(tenants.id, db.select({ id: users.tenantId }).from(users).where(eq(users.email, input.email))),
      ),
  ]);
  assertNotLocked([emailThrottle[0], ipThrottle[0]], now, "Too many failed login attempts. Try again later.");

  const found = foundUsers[0];
  const tenant = foundTenants[0];
  const check = await verifyPassword(input.password, found?.passwordHash);
  if (!found?.passwordHash || !tenant || !check.valid || !found.isActive)
    throw unauthenticated(GENERIC_LOGIN_FAILURE);

  const user: UserRow = { ...found, lastLoginAt: now };
  const session = await issueSession(ctx.config.auth, user, now);
  const rehash = check.needsRehash ? { passwordHash: await hashPassword(input.password) } : {};
  // Only if the password checked is still the user's: a change committed during the slow check
  // ends every other session, and this one must not start after it (nor a rehash put the old
  // password back).
  const [signedIn] = await db.batch([
    db
      .update(users)
      .set({ lastLoginAt: now, ...rehash })
      .where(and(eq(users.id, user.id), eq(users.passwordHash, found.passwordHash)))
      .returning({ id: users.id }),
    insertRefreshTokenIfChanged(db, session.refreshRow, now),
    clearAttempts(db, emailKey),
    refundAttempt(db, ipKey),
  ]);
  if (!signedIn.length) throw unauthenticated(GENERIC_LOGIN_FAILURE);
  return { tenant, user, session };
}

/**
 * Rotates a refresh token in one atomic D1 batch: the presented token is consumed (a
 * conditional update, so exactly one of concurrent calls wins) and its successor inserted only
 * if that update changed a row. A token presented again (stolen or replayed) revokes its family;
 * since the successor is written in the same transaction as the consumption, a concurrent reuse
 * either sees it and revokes it too, or runs first and leaves nothing to succeed on.
 */
export async function refresh(ctx: RequestContext, input: { refresh: string }): Promise<IssuedSession> {
  const { db, clock } = ctx;
  const now = clock.now();
  const token = input.refresh;
  const ipKey = `refresh-ip:${ctx.clientIp}`;
  await takeAttempts(
    db,
    [[ipKey, THROTTLES.refresh]],
    now,
    "Too many invalid refresh attempts. Try again later.",
  );
  const claims = await verifyToken(ctx.config.auth, token, "refresh", now);

  const user = await db
    .select({ id: users.id, tenantId: users.tenantId, role: users.role, isActive: users.isActive })
    .from(users)
    .where(eq(users.id, claims.userId))
    .get();
  if (!user?.isActive || user.tenantId !== claims.tenantId) {
    await revokeFamily(db, claims.sessionId, now);
    throw unauthenticated("Refresh token is no longer valid; sign in again");
  }
  const session = await issueSession(ctx.config.auth, user, now, claims.sessionId);
  const [consumed] = await db.batch([
    db
      .update(refreshTokens)
      .set({ usedAt: now })
      .where(
        and(
          eq(refreshTokens.jti, claims.jti),
          eq(refreshTokens.userId, claims.userId),
          eq(refreshTokens.familyId, claims.sessionId),
          isNull(refreshTokens.usedAt),
          isNull(refreshTokens.revokedAt),
        ),
      )
      .returning({ jti: refreshTokens.jti }),
    insertRefreshTokenIfChanged(db, session.refreshRow, now),
    refundAttemptIfChanged(db, ipKey),
  ]);
  if (!consumed.length) {
    await revokeFamily(db, claims.sessionId, now);
    throw unauthenticated("Refresh token is no longer valid; sign in again");
  }
  return session;
}

/**
 * Revokes a session (or, with `all`, every session of its user) and writes its audit record in the
 * same batch, only if the revoke ended something: of sign-outs at once, one ends the session and
 * is recorded. Answers whether it ended anything.
 */
export async function endSessions(
  ctx: RequestContext,
  session: { userId: string; tenantId: string; sessionId: string },
  all: boolean,
): Promise<boolean> {
  const { db } = ctx;
  const now = ctx.clock.now();
  const revoke = all ? revokeUserSessions(db, session.userId, now) : revokeFamily(db, session.sessionId, now);
  const [revoked] = await db.batch([
    revoke.returning({ jti: refreshTokens.jti }),
    auditInsertIfChanged(db, {
      tenantId: session.tenantId,
      actorType: "user",
      actorId: session.userId,
      action: all ? "user.logged_out_everywhere" : "user.logged_out",
      targetType: "user",
      targetId: session.userId,
      requestId: ctx.requestId,
      at: now,
    }),
  ]);
  return revoked.length > 0;
}

/**
 * Ends this session, or every session of the user (`all`); their access tokens die with them. The
 * caller's session was live when it was checked; a logout that then ends nothing lost to a
 * concurrent one and answers what a logout after it does.
 */
export async function logout(ctx: RequestContext, input: { all?: boolean | undefined }): Promise<void> {
  const principal = userCaller(ctx);
  if (!(await endSessions(ctx, principal, input.all === true))) {
    throw unauthenticated("This session has ended; sign in again");
  }
}

export async function changePassword(
  ctx: RequestContext,
  input: { current_password: string; new_password: string },
): Promise<void> {
  const { db, clock } = ctx;
  const principal = userCaller(ctx);
  const now = clock.now();
  const attemptKey = `change-password:${principal.userId}`;
  await takeAttempts(
    db,
    [[attemptKey, THROTTLES.changePassword]],
    now,
    "Too many wrong passwords. Try again later.",
  );
  const user = await db.select().from(users).where(eq(users.id, principal.userId)).get();
  // A user with a session signed in with a password (or set one up).
  if (!user?.passwordHash) throw unauthenticated();
  const check = await verifyPassword(input.current_password, user.passwordHash);
  if (!check.valid) throw validationError("current_password", "Current password is incorrect");
  if (input.current_password === input.new_password)
    throw validationError("new_password", "New password must differ from the current one");
  assertPasswordPolicy(input.new_password, user.email, "new_password");

  // Guarded on the hash it replaces: of two changes at once (two sessions of the user), one
  // wins and signs the other session out; the other finds its current password no longer
  // current, as it would after (400), and changes and ends nothing.
  const passwordHash = await hashPassword(input.new_password);
  const [changed] = await db.batch([
    db
      .update(users)
      .set({ passwordHash })
      .where(and(eq(users.id, user.id), eq(users.passwordHash, user.passwordHash)))
      .returning({ id: users.id }),
    auditInsertIfChanged(db, {
      tenantId: user.tenantId,
      actorType: "user",
      actorId: user.id,
      action: "user.password_changed",
      targetType: "user",
      targetId: user.id,
      requestId: ctx.requestId,
      at: now,
    }),
    revokeUserSessions(
      db,
      user.id,
      now,
      principal.sessionId,
      sql`EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${user.id} AND ${users.passwordHash} = ${passwordHash})`,
    ),
    clearAttempts(db, attemptKey),
  ]);
  if (!changed.length) throw validationError("current_password", "Current password is incorrect");
}

/** The calling user and their tenant. */
export async function me(ctx: RequestContext) {
  const principal = userCaller(ctx);
  const row = await ctx.db
    .select()
    .from(users)
    .innerJoin(tenants, eq(users.tenantId, tenants.id))
    .where(and(eq(users.id, principal.userId), eq(users.tenantId, principal.tenantId)))
    .get();
  if (!row) throw notFound("User");
  return { user: row.users, tenant: row.tenants };
}

/** The caller's tenant with its limits, usage and platform subscription. */
export async function tenantDetails(ctx: RequestContext) {
  const { db } = ctx;
  const principal = userCaller(ctx);
  const [tenant, userCount, planCount, endpoint, subscription] = await db.batch([
    db.select().from(tenants).where(eq(tenants.id, principal.tenantId)),
    db
      .select({ value: count() })
      .from(users)
      .where(and(eq(users.tenantId, principal.tenantId), sql`${users.isActive} = 1`)),
    db
      .select({ value: count() })
      .from(plans)
      .where(and(eq(plans.tenantId, principal.tenantId), eq(plans.isActive, true))),
    db
      .select({ value: count() })
      .from(webhookEndpoints)
      .where(and(eq(webhookEndpoints.tenantId, principal.tenantId), isNotNull(webhookEndpoints.url))),
    db
      .select({ status: tenantSubscriptions.status, planId: tenantSubscriptions.planId })
      .from(tenantSubscriptions)
      .where(eq(tenantSubscriptions.tenantId, principal.tenantId)),
  ]);
  const row = tenant[0];
  if (!row) throw notFound("Tenant");
  return {
    tenant: row,
    limits: effectiveLimits(row),
    usage: {
      users: userCount[0]?.value ?? 0,
      plans: planCount[0]?.value ?? 0,
      webhook_endpoints: endpoint[0]?.value ?? 0,
    },
    subscription: { status: subscription[0]?.status ?? "none", plan_id: subscription[0]?.planId ?? null },
  };
}
