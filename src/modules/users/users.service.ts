import { and, asc, eq, gt, sql } from "drizzle-orm";
import { type RequestContext, userCaller } from "../../context";
import { withLimitSlot } from "../../coordinator/client";
import { loginThrottles, type Role, refreshTokens, tenants, type UserRow, users } from "../../db/schema";
import { loadTenant } from "../../db/tenants";
import { auditInsert, auditInsertIfChanged, auditInsertOfRow } from "../../lib/audit";
import { newId, randomBase62, sha256Hex } from "../../lib/crypto";
import { uniqueViolation } from "../../lib/db-errors";
import { ApiError, notFound, unauthenticated, validationError } from "../../lib/errors";
import { hashPassword, passwordProblems } from "../../lib/password";
import { effectiveLimits } from "../../lib/tiers";
import type { Session } from "../auth/auth.service";
import { issueSession } from "../auth/sessions";
import { assertNotLocked, refundAttempt, THROTTLES, takeAttempts } from "../auth/throttle";

const SETUP_TOKEN_TTL_MS = 72 * 60 * 60 * 1000;

function checkPassword(password: string, email: string, field: string) {
  const problems = passwordProblems(password, email);
  if (problems.length) throw validationError(field, `Password ${problems.join(", ")}`);
}

// The guard of every UPDATE that moves a user off owner and every DELETE of a user: true unless
// the row is an owner and no other active owner remains. It reads the row's role inside the
// statement, not the request's earlier read, so neither two owners demoting each other at once nor
// a user promoted to owner meanwhile (read as an admin) can leave the tenant without an owner.
// Only an owner who can sign in counts: one invited without a password has none until they redeem
// their setup token, which may never happen (it expires, and there is no password reset), so
// counting them would let the last owner who can sign in leave the tenant with nobody to manage it.
const tenantKeepsAnOwner = (userId: string, tenantId: string) =>
  sql`(${users.role} != 'owner' OR EXISTS (SELECT 1 FROM ${users} o WHERE o.tenant_id = ${tenantId} AND o.role = 'owner' AND o.is_active = 1 AND o.password_hash IS NOT NULL AND o.id != ${userId}))`;

export async function listUsers(ctx: RequestContext): Promise<UserRow[]> {
  const principal = userCaller(ctx);
  return ctx.db
    .select()
    .from(users)
    .where(eq(users.tenantId, principal.tenantId))
    .orderBy(asc(users.createdAt), asc(users.id));
}

export interface InviteInput {
  email: string;
  role: Role;
  password?: string | undefined;
  first_name?: string | undefined;
  last_name?: string | undefined;
}

export async function inviteUser(ctx: RequestContext, input: InviteInput) {
  const principal = userCaller(ctx);
  if (input.password !== undefined) checkPassword(input.password, input.email, "password");
  const tenant = await loadTenant(ctx.db, principal.tenantId);
  await refuseTakenEmail(ctx, tenant.id, input.email);
  const userId = newId("usr");
  return withLimitSlot(
    ctx,
    tenant.id,
    { kind: "users", limit: effectiveLimits(tenant).users, rowId: userId, what: "users" },
    () => insertInvitedUser(ctx, principal, userId, input),
  );
}

const emailTaken = () => new ApiError("conflict", "A user with this email already exists");

/**
 * An email is one login across tenants, so inviting one another tenant's user holds is refused,
 * and that answer tells that the email has an account. Such refusals are counted per tenant (10
 * an hour, like failed registrations per IP), each before it is answered, so parallel probes meet
 * the limit too; once locked, every invitation of the tenant is 429, a free address included, so
 * answers cannot be told apart. Invitations of free addresses, and of the tenant's own users, are
 * never counted: a team invited at once is not throttled.
 */
async function refuseTakenEmail(ctx: RequestContext, tenantId: string, email: string) {
  const { db } = ctx;
  const now = ctx.clock.now();
  const key = `invite-tenant:${tenantId}`;
  const message = "Too many refused invitations. Try again later.";
  const [throttle, holder] = await db.batch([
    db.select().from(loginThrottles).where(eq(loginThrottles.key, key)),
    db.select({ tenantId: users.tenantId }).from(users).where(eq(users.email, email)),
  ]);
  assertNotLocked([throttle[0]], now, message);
  if (!holder[0]) return;
  if (holder[0].tenantId !== tenantId) await takeAttempts(db, [[key, THROTTLES.invite]], now, message);
  throw emailTaken();
}

async function insertInvitedUser(
  ctx: RequestContext,
  principal: { tenantId: string; userId: string },
  userId: string,
  input: InviteInput,
) {
  const { db, clock } = ctx;
  const now = clock.now();
  const setupToken = input.password === undefined ? `ust_${randomBase62(40)}` : null;
  const user: UserRow = {
    id: userId,
    tenantId: principal.tenantId,
    email: input.email,
    firstName: input.first_name ?? null,
    lastName: input.last_name ?? null,
    role: input.role,
    passwordHash: input.password === undefined ? null : await hashPassword(input.password),
    setupTokenHash: setupToken ? await sha256Hex(setupToken) : null,
    setupTokenExpiresAt: setupToken ? new Date(now.getTime() + SETUP_TOKEN_TTL_MS) : null,
    isActive: true,
    lastLoginAt: null,
    createdAt: now,
    updatedAt: now,
  };
  try {
    await db.batch([
      db.insert(users).values(user),
      auditInsert(db, {
        tenantId: principal.tenantId,
        actorType: "user",
        actorId: principal.userId,
        action: "user.invited",
        targetType: "user",
        targetId: user.id,
        metadata: { role: user.role, with_setup_token: setupToken !== null },
        requestId: ctx.requestId,
        at: now,
      }),
    ]);
  } catch (error) {
    if (uniqueViolation(error) === "users.email") throw emailTaken();
    throw error;
  }
  return { user, setupToken };
}

export interface UpdateUserInput {
  role?: Role | undefined;
  first_name?: string | null | undefined;
  last_name?: string | null | undefined;
}

/** Who changes the user `userId` and when, for the audit record of the change. */
function userChangeAudit(ctx: RequestContext, userId: string) {
  const principal = userCaller(ctx);
  return {
    tenantId: principal.tenantId,
    actorType: "user" as const,
    actorId: principal.userId,
    targetType: "user",
    targetId: userId,
    requestId: ctx.requestId,
    at: ctx.clock.now(),
  };
}

export async function updateUser(ctx: RequestContext, userId: string, input: UpdateUserInput) {
  const { db } = ctx;
  const principal = userCaller(ctx);
  const changes = {
    ...(input.role !== undefined ? { role: input.role } : {}),
    ...(input.first_name !== undefined ? { firstName: input.first_name } : {}),
    ...(input.last_name !== undefined ? { lastName: input.last_name } : {}),
  };
  const scope = and(eq(users.id, userId), eq(users.tenantId, principal.tenantId));
  const movesOffOwner = input.role !== undefined && input.role !== "owner";
  const changed = movesOffOwner ? and(scope, tenantKeepsAnOwner(userId, principal.tenantId)) : scope;
  const [, updated, still] = await db.batch([
    auditInsertOfRow(db, userChangeAudit(ctx, userId), {
      from: sql`${users} WHERE ${changed}`,
      action: sql`CASE WHEN ${users.role} != ${input.role ?? null} THEN 'user.role_changed' ELSE 'user.updated' END`,
      metadata: sql`json_object('from_role', ${users.role}, 'to_role', coalesce(${input.role ?? null}, ${users.role}))`,
    }),
    db.update(users).set(changes).where(changed).returning(),
    // Read in the same transaction: no row changed and none there means a concurrent removal (404).
    db.select({ id: users.id }).from(users).where(scope),
  ]);
  const user = updated[0];
  if (!user) {
    if (!still.length) throw notFound("User");
    throw new ApiError(
      "conflict",
      "The last owner of a tenant cannot be demoted; promote another owner first (an invited owner counts once they have set a password)",
    );
  }
  return user;
}

export async function removeUser(ctx: RequestContext, userId: string): Promise<void> {
  const { db } = ctx;
  const principal = userCaller(ctx);
  const scope = and(eq(users.id, userId), eq(users.tenantId, principal.tenantId));
  const removable = and(scope, tenantKeepsAnOwner(userId, principal.tenantId));
  const [, deleted, still] = await db.batch([
    auditInsertOfRow(db, userChangeAudit(ctx, userId), {
      from: sql`${users} WHERE ${removable}`,
      action: sql`'user.removed'`,
      metadata: sql`json_object('role', ${users.role})`,
    }),
    db.delete(users).where(removable).returning({ id: users.id }),
    db.select({ id: users.id }).from(users).where(scope),
  ]);
  if (!deleted.length) {
    if (!still.length) throw notFound("User");
    throw new ApiError(
      "conflict",
      "The last owner of a tenant cannot be removed; promote another owner first (an invited owner counts once they have set a password)",
    );
  }
}

/** Redeems a one-time setup token: sets the password, clears the token, starts a session. */
export async function completeSetup(
  ctx: RequestContext,
  input: { token: string; password: string },
): Promise<Session> {
  const { db, clock } = ctx;
  const now = clock.now();
  const attemptKey = `setup-ip:${ctx.clientIp}`;
  await takeAttempts(
    db,
    [[attemptKey, THROTTLES.setupToken]],
    now,
    "Too many invalid setup tokens. Try again later.",
  );
  const tokenHash = await sha256Hex(input.token);
  const row = await db
    .select()
    .from(users)
    .innerJoin(tenants, eq(users.tenantId, tenants.id))
    .where(and(eq(users.setupTokenHash, tokenHash), gt(users.setupTokenExpiresAt, now)))
    .get();
  if (!row) throw unauthenticated("Setup token is invalid or has expired");
  checkPassword(input.password, row.users.email, "password");

  const user: UserRow = {
    ...row.users,
    passwordHash: await hashPassword(input.password),
    setupTokenHash: null,
    setupTokenExpiresAt: null,
    lastLoginAt: now,
  };
  const session = await issueSession(ctx.config.auth, user, now);
  // Consuming the token is conditional on it still being there, so it works exactly once; the
  // record of it is written with it, and only by the request that consumed it.
  const [claimed] = await db.batch([
    db
      .update(users)
      .set({
        passwordHash: user.passwordHash,
        setupTokenHash: null,
        setupTokenExpiresAt: null,
        lastLoginAt: now,
      })
      .where(and(eq(users.id, user.id), eq(users.setupTokenHash, tokenHash)))
      .returning({ id: users.id }),
    auditInsertIfChanged(db, {
      tenantId: user.tenantId,
      actorType: "user",
      actorId: user.id,
      action: "user.setup_completed",
      targetType: "user",
      targetId: user.id,
      metadata: { role: user.role },
      requestId: ctx.requestId,
      at: now,
    }),
  ]);
  if (!claimed.length) throw unauthenticated("Setup token is invalid or has expired");
  await db.batch([db.insert(refreshTokens).values(session.refreshRow), refundAttempt(db, attemptKey)]);
  return { user, tenant: row.tenants, session };
}
