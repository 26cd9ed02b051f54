// A reload tears down the page's refresh in flight. The request itself goes on (it is sent with
// `keepalive`) and its answer still rotates the HttpOnly refresh cookie, but no page may present
// the old cookie before that answer lands: the server would take it for a replay and end the
// session. So each refresh, sent under the cross-tab lock, leaves a note in localStorage with the
// session mark it started from (a cookie the page can read, whose random value changes with every
// rotation: src/modules/dashboard/dashboard.service.ts), and the next refresh in any tab that finds
// the note waits until the mark changes (the answer landed, or a failure cleared it), for at most
// as long as a refresh may take. That bound is reached only when the request never reached the
// server, which left the old cookie live, or when its answer came later still.

const PENDING_KEY = "eb-refresh-pending";
const LANDING_POLL_MS = 25;

interface Pending {
  mark: string;
  at: number;
}

const sessionMark = () => /(?:^|;\s*)__Host-eb_session_mark=([^;]*)/.exec(document.cookie)?.[1] ?? null;

/**
 * Runs `refresh` once the refresh a torn-down page left in flight, if any, has landed (waiting at
 * most `waitMs`). Call it under the cross-tab refresh lock, which orders the notes.
 */
export async function afterPreviousPageRefresh<T>(refresh: () => Promise<T>, waitMs: number): Promise<T> {
  await previousRefreshLanded(waitMs);
  const mark = sessionMark();
  // Without a mark there is no session cookie to rotate (signed out), so nothing to wait for later.
  // Without localStorage (a locked-down browser) a reload mid-refresh can still end the session.
  if (mark !== null) {
    const note: Pending = { mark, at: Date.now() };
    withLocalStorage((storage) => storage.setItem(PENDING_KEY, JSON.stringify(note)));
  }
  try {
    return await refresh();
  } finally {
    // Not reached when the page is torn down first: the note stays for the next refresh.
    withLocalStorage((storage) => storage.removeItem(PENDING_KEY));
  }
}

async function previousRefreshLanded(waitMs: number): Promise<void> {
  const pending = withLocalStorage(
    (storage) => JSON.parse(storage.getItem(PENDING_KEY) ?? "null") as Pending | null,
  );
  if (!pending) return;
  // min: a clock set back since the note must not stretch the wait.
  const deadline = Math.min(pending.at, Date.now()) + waitMs;
  while (sessionMark() === pending.mark && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, LANDING_POLL_MS));
  }
}

/** `use(localStorage)`, or null where storage is unavailable or the note unreadable. */
function withLocalStorage<T>(use: (storage: Storage) => T): T | null {
  try {
    return use(window.localStorage);
  } catch {
    return null;
  }
}
