import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { TenantRow, UserRow } from "../../db/schema";
import type { AppEnv } from "../../env";
import { ApiError, forbidden, unauthenticated } from "../../lib/errors";
import { errorFields } from "../../lib/logger";
import { serializeTenant, serializeUser } from "../auth/auth.schemas";
import * as auth from "../auth/auth.service";
import type { IssuedSession } from "../auth/sessions";
import { verifyToken } from "../auth/tokens";

/** The cookie's name after the `__Host-` prefix (the prefix makes browsers enforce Secure, Path=/, no Domain). */
export const REFRESH_COOKIE = "eb_refresh";
export const REFRESH_COOKIE_HEADER_NAME = `__Host-${REFRESH_COOKIE}`;

/**
 * A cookie the dashboard's script can read, set and cleared with the refresh cookie, holding a
 * random value that changes with every rotation and says nothing about the token. After a reload
 * tore down a refresh in flight, the next page reads it to tell whether that refresh's answer has
 * landed (web/src/lib/refresh-handoff.ts): presenting the old refresh cookie before then would be
 * a replay and end the session.
 */
export const SESSION_MARK_COOKIE = "eb_session_mark";
export const SESSION_MARK_COOKIE_HEADER_NAME = `__Host-${SESSION_MARK_COOKIE}`;

/**
 * CSRF defence of the cookie-bearing routes, on top of SameSite=Strict (which does not separate
 * two origins of the same site, e.g. another port of localhost or a sibling subdomain):
 * - the request must come from our own origin: `Origin` equal to `PUBLIC_BASE_URL`'s origin or
 *   to the origin the request was addressed to, and `Sec-Fetch-Site`, when sent, `same-origin`;
 * - the body must be declared JSON, which an HTML form cannot send (no simple-request POST), and
 *   which a cross-origin script can only send after a CORS preflight that it cannot pass.
 */
export function assertSameOriginJson(c: Context<AppEnv>): void {
  const origin = c.req.header("Origin");
  const allowed = new Set([new URL(c.var.ctx.config.app.PUBLIC_BASE_URL).origin, new URL(c.req.url).origin]);
  if (!origin || !allowed.has(origin)) {
    throw forbidden("Dashboard session requests must come from the dashboard's own origin");
  }
  const site = c.req.header("Sec-Fetch-Site");
  if (site && site !== "same-origin") {
    throw forbidden("Dashboard session requests must come from the dashboard's own origin");
  }
  const type = c.req.header("Content-Type") ?? "";
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new ApiError(
      "unsupported_media_type",
      "Dashboard session requests must send Content-Type: application/json",
    );
  }
}

/** What the `__Host-` prefix requires of both cookies, when set and when cleared. */
const HOST_COOKIE = { prefix: "host", secure: true, path: "/" } as const;

/** Puts the refresh token in its HttpOnly cookie and a new session mark, both alive exactly as long as the token. */
function setSessionCookies(c: Context<AppEnv>, session: IssuedSession): void {
  const now = c.var.ctx.clock.now().getTime();
  const maxAge = Math.max(0, Math.floor((session.refresh.expiresAt.getTime() - now) / 1000));
  const options = { ...HOST_COOKIE, sameSite: "Strict", maxAge } as const;
  // The refresh cookie first: a page that sees the new mark finds the new refresh cookie stored.
  setCookie(c, REFRESH_COOKIE, session.refresh.token, { ...options, httpOnly: true });
  setCookie(c, SESSION_MARK_COOKIE, crypto.randomUUID(), options);
}

function clearSessionCookies(c: Context<AppEnv>): void {
  for (const name of [REFRESH_COOKIE, SESSION_MARK_COOKIE]) deleteCookie(c, name, HOST_COOKIE);
}

/** The answer body of every session route: the access token and who it is for, never the refresh token. */
export function sessionBody(session: IssuedSession, user: UserRow, tenant: TenantRow) {
  return {
    access_token: session.access.token,
    token_type: "Bearer" as const,
    expires_at: session.access.expiresAt.toISOString(),
    user: serializeUser(user),
    tenant: serializeTenant(tenant),
  };
}

/**
 * Starts a dashboard session from a session the auth services issued (login, register, setup).
 * A session the browser's cookie already names (the same user's, or whoever signed in there
 * before) is ended first, as its sign-out: the new cookie overwrites the only copy of its refresh
 * token, so it could no longer be signed out of, and would stay live for its 24 h for anyone who
 * had copied the cookie.
 */
export async function startSession(c: Context<AppEnv>, result: auth.Session) {
  // The new session is stored already: a failure to end the old one must not lose it (a 500
  // here would leave it live and undelivered), so it is logged and the old one stays as it was.
  await endCookieSession(c).catch((error: unknown) =>
    c.var.ctx.log.error("the cookie's earlier session was not ended", errorFields(error)),
  );
  setSessionCookies(c, result.session);
  return sessionBody(result.session, result.user, result.tenant);
}

/**
 * Rotates the cookie's refresh token through the auth service's single-use rotation (a replayed
 * token revokes its whole session there) and answers a fresh access token. A dead session (401)
 * clears the cookie, so it is not presented again. Any other failure keeps it: a 429 (the IP's
 * refresh throttle, which anyone behind a shared address can lock) comes before the token is used,
 * and clearing it would sign the user out and leave a live session beyond their own sign-out; after
 * a failure past the rotation, the kept token is a replay next time, which ends the session there.
 */
export async function refreshSession(c: Context<AppEnv>) {
  const token = getCookie(c, REFRESH_COOKIE, "host");
  if (!token) throw unauthenticated("No dashboard session; sign in");
  const { ctx } = c.var;
  try {
    const claims = await verifyToken(ctx.config.auth, token, "refresh", ctx.clock.now());
    const session = await auth.refresh(ctx, { refresh: token });
    // The session is the caller's from here on: the answer names its user and tenant.
    ctx.caller = {
      kind: "user",
      userId: claims.userId,
      tenantId: claims.tenantId,
      role: claims.role,
      sessionId: claims.sessionId,
      tenantStatus: "active",
    };
    const { user, tenant } = await auth.me(ctx);
    setSessionCookies(c, session);
    return sessionBody(session, user, tenant);
  } catch (error) {
    const dead =
      error instanceof ApiError && (error.code === "unauthenticated" || error.code === "not_found");
    if (dead) clearSessionCookies(c);
    if (error instanceof ApiError && error.code === "not_found") throw unauthenticated("Sign in again");
    throw error;
  }
}

/**
 * Ends the cookie's session: every refresh token of its family is revoked, and the cookie cleared.
 * It is the API's logout for this session, audited the same way (once, if it ended a session).
 */
export async function endSession(c: Context<AppEnv>): Promise<void> {
  // The cookie is read before it is cleared, and cleared whatever the ending meets: a sign-out
  // always leaves the browser signed out.
  const ending = endCookieSession(c);
  clearSessionCookies(c);
  await ending;
}

/** Ends the session of the request's refresh cookie, if it names a live one (audited once). */
async function endCookieSession(c: Context<AppEnv>): Promise<void> {
  const token = getCookie(c, REFRESH_COOKIE, "host");
  if (!token) return;
  const { ctx } = c.var;
  try {
    const claims = await verifyToken(ctx.config.auth, token, "refresh", ctx.clock.now());
    await auth.endSessions(ctx, claims, false);
  } catch (error) {
    // An expired or forged cookie has no live session to end; signing out still succeeds.
    if (!(error instanceof ApiError && error.code === "unauthenticated")) throw error;
  }
}
