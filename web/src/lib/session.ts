// Who is signed in. The access token lives only in this module's memory; the refresh token lives
// only in the HttpOnly `__Host-eb_refresh` cookie that the dashboard session routes set, which no
// script can read. A reload gets a new access token from that cookie (POST .../session/refresh).
import { useEffect, useState } from "preact/hooks";
import { ApiError, api, DASHBOARD, setAuthHooks, TENANTS } from "./api";
import { afterPreviousPageRefresh } from "./refresh-handoff";
import type { DashboardSession, Tenant, User } from "./types";
import { setWelcomeKeys } from "./welcome";

export type SessionState =
  | { status: "loading" }
  | { status: "offline"; message: string }
  | { status: "signed-out"; notice?: string }
  | { status: "signed-in"; user: User; tenant: Tenant };

let state: SessionState = { status: "loading" };
let accessToken: string | null = null;
let refreshTimer: ReturnType<typeof setTimeout> | undefined;
const listeners = new Set<() => void>();
// Signing out in one tab signs out the others (they would fail on their next refresh anyway).
const channel = typeof BroadcastChannel === "undefined" ? null : new BroadcastChannel("eb-session");

function set(next: SessionState) {
  state = next;
  for (const listener of listeners) listener();
}

export const getSession = () => state;

export function useSession(): SessionState {
  const [, rerender] = useState(0);
  const rendered = state;
  useEffect(() => {
    const listener = () => rerender((n) => n + 1);
    listeners.add(listener);
    // Effects run a frame after rendering: an answer that arrived in between (a quick 401 on
    // reload) changed the state with nobody listening, and the page would stay on "Loading".
    if (state !== rendered) listener();
    return () => {
      listeners.delete(listener);
    };
  }, []);
  return state;
}

function signedOutLocally(notice?: string) {
  accessToken = null;
  clearTimeout(refreshTimer);
  set(notice ? { status: "signed-out", notice } : { status: "signed-out" });
}

/** Takes a session answer: token to memory, user and tenant to the state, next refresh scheduled. */
function apply(session: DashboardSession) {
  accessToken = session.access_token;
  clearTimeout(refreshTimer);
  // Renew a minute before the access token expires, so requests rarely meet a 401.
  const wait = Math.max(10_000, new Date(session.expires_at).getTime() - Date.now() - 60_000);
  refreshTimer = setTimeout(() => void refresh().catch(() => undefined), wait);
  set({ status: "signed-in", user: session.user, tenant: session.tenant });
}

let inflight: Promise<boolean> | null = null;
const REFRESH_TIMEOUT_MS = 20_000;

/**
 * Runs the refresh under the cross-tab lock when the browser has Web Locks. The holder may wait
 * for a torn-down page's refresh to land and then send its own (`afterPreviousPageRefresh`), so the
 * lock is waited for that long; a lock another document never gives back is waited for no longer:
 * then this tab refreshes without it, at worst meeting the 401 of a token the other tab used.
 */
async function withRefreshLock<T>(call: () => Promise<T>): Promise<T> {
  if (!navigator.locks) return call();
  try {
    const signal = AbortSignal.timeout(2 * REFRESH_TIMEOUT_MS);
    return await navigator.locks.request("eb-session-refresh", { signal }, call);
  } catch (error) {
    if (error instanceof DOMException && (error.name === "TimeoutError" || error.name === "AbortError"))
      return call();
    throw error;
  }
}

/**
 * One refresh at a time in this tab, and (with Web Locks) across tabs: each refresh consumes the
 * cookie's token once, so two tabs refreshing with the same token would look like a replay.
 */
export function refresh(): Promise<boolean> {
  inflight ??= (async () => {
    // Bounded: a page that never hears back shows "cannot reach the API" instead of loading forever.
    const call = () =>
      api<DashboardSession>(`${DASHBOARD}/session/refresh`, {
        method: "POST",
        auth: false,
        body: {},
        signal: AbortSignal.timeout(REFRESH_TIMEOUT_MS),
        keepalive: true,
      });
    try {
      apply(await withRefreshLock(() => afterPreviousPageRefresh(call, REFRESH_TIMEOUT_MS)));
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        signedOutLocally(state.status === "signed-in" ? "Your session ended; sign in again." : undefined);
        return false;
      }
      throw error;
    } finally {
      inflight = null;
    }
  })();
  return inflight;
}

/** At start: resume the session from the cookie, if there is one. */
export async function restore(): Promise<void> {
  try {
    await refresh();
  } catch (error) {
    set({ status: "offline", message: error instanceof Error ? error.message : "The API is unreachable" });
  }
}

export async function login(email: string, password: string): Promise<void> {
  apply(await api<DashboardSession>(`${DASHBOARD}/session`, { body: { email, password }, auth: false }));
}

export interface RegisterInput {
  company_name: string;
  email: string;
  password: string;
  domain?: string;
  first_name?: string;
  last_name?: string;
}

/** Registers a tenant and signs in; its four API keys wait for the welcome page, shown once. */
export async function register(input: RegisterInput): Promise<void> {
  const session = await api<DashboardSession & { api_keys: Record<string, string> }>(
    `${DASHBOARD}/register`,
    {
      body: input,
      auth: false,
    },
  );
  setWelcomeKeys(session.api_keys);
  apply(session);
}

export async function acceptInvitation(token: string, password: string): Promise<void> {
  apply(await api<DashboardSession>(`${DASHBOARD}/setup`, { body: { token, password }, auth: false }));
}

/**
 * Ends the session on the server (which clears the HttpOnly cookie) and then here. When the server
 * cannot be reached the page still forgets its token, but says the session may resume on reload.
 */
export async function logout(): Promise<void> {
  let notice = "You are signed out.";
  try {
    await api(`${DASHBOARD}/session`, { method: "DELETE", auth: false });
  } catch (error) {
    const reason = error instanceof Error ? error.message : "the API did not answer";
    notice = `Signed out on this page only: the session could not be ended (${reason}). Sign in and out again to end it.`;
  }
  channel?.postMessage("signed-out");
  signedOutLocally(notice);
}

let staleCheck: Promise<void> | null = null;
/** Re-reads the user (role) and tenant (suspension) after the API hinted they changed. */
export function reloadIdentity(): Promise<void> {
  staleCheck ??= api<User & { tenant: Tenant }>(`${TENANTS}/me`)
    .then(({ tenant, ...user }) => {
      if (state.status === "signed-in") set({ status: "signed-in", user, tenant });
    })
    .catch(() => undefined)
    .finally(() => {
      staleCheck = null;
    });
  return staleCheck;
}

channel?.addEventListener("message", (event) => {
  if (event.data === "signed-out" && state.status === "signed-in")
    signedOutLocally("You signed out in another tab.");
});

setAuthHooks({
  token: () => accessToken,
  refresh: () => (state.status === "signed-in" ? refresh().catch(() => false) : Promise.resolve(false)),
  signedOut: () => {
    if (state.status === "signed-in") signedOutLocally("Your session ended; sign in again.");
  },
  stale: () => {
    if (state.status === "signed-in") void reloadIdentity();
  },
});
