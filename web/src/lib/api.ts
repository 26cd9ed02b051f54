// The dashboard's one way to call the API: the same public routes as every other client, with the
// access token from memory, the contract's error body turned into an ApiError, and one silent
// session refresh when an access token has expired.

export const TENANTS = "/api/v1/auth/tenants";
export const PLANS = "/api/v1/auth/plans";
export const CUSTOMERS = "/api/v1/auth/customers";
export const SUBSCRIPTIONS = "/api/v1/auth/subscriptions";
export const INVOICES = "/api/v1/auth/invoices";
export const REFUNDS = "/api/v1/auth/refunds";
export const DUNNING_STEPS = "/api/v1/auth/tenants/dunning/steps";
export const ANALYTICS = "/api/v1/auth/analytics";
export const DASHBOARD = "/api/v1/dashboard";

export interface FieldError {
  field: string;
  message: string;
}

/** The contract's error body: `{error, message, request_id, details?}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId: string | null = null,
    readonly details: FieldError[] = [],
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** The message of the field's validation error, if the API named that field. */
  field(name: string): string | undefined {
    return this.details.find((detail) => detail.field === name)?.message;
  }
}

/** What the API client needs from the session, wired by session.ts (kept apart to avoid a cycle). */
export interface AuthHooks {
  token(): string | null;
  /** Gets a new access token from the session cookie; false when the session is gone. */
  refresh(): Promise<boolean>;
  /** The session is gone (refresh failed): back to the sign-in page. */
  signedOut(): void;
  /** The API said the tenant is suspended or the role changed: re-read who we are. */
  stale(): void;
}

let hooks: AuthHooks | null = null;
export const setAuthHooks = (value: AuthHooks) => {
  hooks = value;
};

export type Query = Record<string, string | number | boolean | null | undefined>;

export interface RequestOptions {
  method?: "GET" | "POST" | "PATCH" | "PUT" | "DELETE";
  body?: unknown;
  query?: Query;
  /** Send the access token (default true). */
  auth?: boolean;
  signal?: AbortSignal;
  /** Let the request finish when the page goes away (a reload); its Set-Cookie still applies. */
  keepalive?: boolean;
}

export { segment } from "./path";

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

async function send(path: string, options: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = { Accept: "application/json" };
  // The dashboard session routes insist on a JSON Content-Type (CSRF defence), even without a body.
  if (options.body !== undefined || path.startsWith(DASHBOARD)) {
    headers["Content-Type"] = "application/json";
  }
  const token = options.auth === false ? null : hooks?.token();
  if (token) headers.Authorization = `Bearer ${token}`;
  try {
    return await fetch(withQuery(path, options.query), {
      method: options.method ?? (options.body === undefined ? "GET" : "POST"),
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: "same-origin",
      signal: options.signal,
      keepalive: options.keepalive ?? false,
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new ApiError(0, "network_error", "Could not reach the API. Check your connection and try again.");
  }
}

async function parse<T>(res: Response): Promise<T> {
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (res.ok) return body as T;
  const error = (body ?? {}) as Partial<{
    error: string;
    message: string;
    request_id: string;
    details: FieldError[];
  }>;
  throw new ApiError(
    res.status,
    error.error ?? "http_error",
    error.message ?? `The API answered ${res.status} ${res.statusText}`.trim(),
    error.request_id ?? res.headers.get("X-Request-Id"),
    Array.isArray(error.details) ? error.details : [],
  );
}

/** Sends with one silent refresh on 401; tells the session about 402/403 answers. */
async function sendAuthed(path: string, options: RequestOptions): Promise<Response> {
  let res = await send(path, options);
  if (res.status === 401 && options.auth !== false && hooks) {
    if (await hooks.refresh()) res = await send(path, options);
    if (res.status === 401) {
      hooks.signedOut();
    }
  }
  if ((res.status === 402 || res.status === 403) && options.auth !== false) hooks?.stale();
  return res;
}

/** Calls the API; throws ApiError with the API's own message when it answers an error. */
export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  return parse<T>(await sendAuthed(path, options));
}

/**
 * A GET whose answer is a file (CSV exports): the body as a Blob. A plain link would not carry
 * the access token, which lives in memory only; errors still come back as ApiError.
 */
export async function apiBlob(path: string, query?: Query): Promise<Blob> {
  const res = await sendAuthed(path, { query });
  if (!res.ok) return parse<never>(res);
  return res.blob();
}

/** A page of any list: `{data, has_more, next_cursor}`. */
export interface Page<T> {
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}
