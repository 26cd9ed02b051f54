// A reload tears down the page's refresh in flight. The request itself goes on (it is sent with
// `keepalive`) and its answer still rotates the HttpOnly refresh cookie, but the next page must
// not present the old cookie before that answer lands: the server would take it for a replay and
// end the session. So each refresh leaves a note in this tab's sessionStorage with the session
// mark it started from (a cookie the page can read, whose random value changes with every rotation:
// src/modules/dashboard/dashboard.service.ts), and a page that finds the note waits until the mark
// changes (the answer landed, or a failure cleared it), at most `LANDING_WAIT_MS` (the request
// never reached the server, or failed on the way, and the old cookie is still the live one).

const PENDING_KEY = "eb-refresh-pending";
const LANDING_WAIT_MS = 5_000;
const LANDING_POLL_MS = 25;

interface Pending {
  mark: string | null;
  at: number;
}

const sessionMark = () => /(?:^|;\s*)__Host-eb_session_mark=([^;]*)/.exec(document.cookie)?.[1] ?? null;

/** Runs `refresh` once the previous page's refresh, if a reload cut it off, has landed. */
export async function afterPreviousPageRefresh<T>(refresh: () => Promise<T>): Promise<T> {
  await previousRefreshLanded();
  // Without sessionStorage (a locked-down browser) a reload mid-refresh can still end the session.
  const note: Pending = { mark: sessionMark(), at: Date.now() };
  withSessionStorage((storage) => storage.setItem(PENDING_KEY, JSON.stringify(note)));
  try {
    return await refresh();
  } finally {
    // Not reached when the page is torn down first: the note stays for the next one.
    withSessionStorage((storage) => storage.removeItem(PENDING_KEY));
  }
}

async function previousRefreshLanded(): Promise<void> {
  const pending = withSessionStorage(
    (storage) => JSON.parse(storage.getItem(PENDING_KEY) ?? "null") as Pending,
  );
  if (!pending) return;
  const deadline = pending.at + LANDING_WAIT_MS;
  while (sessionMark() === pending.mark && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, LANDING_POLL_MS));
  }
}

/** `use(sessionStorage)`, or null where storage is unavailable or its note unreadable. */
function withSessionStorage<T>(use: (storage: Storage) => T): T | null {
  try {
    return use(window.sessionStorage);
  } catch {
    return null;
  }
}
