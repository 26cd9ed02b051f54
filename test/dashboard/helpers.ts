import { exports } from "cloudflare:workers";

export const ORIGIN = "http://api.test";
export const SESSION = "/api/v1/dashboard/session";
export const REFRESH = "/api/v1/dashboard/session/refresh";
export const REGISTER = "/api/v1/dashboard/register";
export const SETUP = "/api/v1/dashboard/setup";
export const COOKIE_NAME = "__Host-eb_refresh";
export const MARK_NAME = "__Host-eb_session_mark";

export interface Raw {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies
  body: Record<string, any>;
  /** The refresh cookie's Set-Cookie line, if the answer set or cleared it. */
  cookie: string | undefined;
}

let ip = 0;

/** A request as the dashboard's page sends it (same origin, JSON), with any header overridden. */
export async function dashboardCall(
  path: string,
  options: { method?: string; body?: unknown; cookie?: string; headers?: Record<string, string | null> } = {},
): Promise<Raw> {
  const headers = new Headers({
    Origin: ORIGIN,
    "Sec-Fetch-Site": "same-origin",
    "Content-Type": "application/json",
    "CF-Connecting-IP": `198.19.7.${(++ip % 250) + 1}`,
  });
  if (options.cookie) headers.set("Cookie", `${COOKIE_NAME}=${options.cookie}`);
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (value === null) headers.delete(name);
    else headers.set(name, value);
  }
  const res = await exports.default.fetch(`${ORIGIN}${path}`, {
    method: options.method ?? "POST",
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  let body = {};
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    body = { raw: text };
  }
  const cookie = res.headers.getSetCookie().find((line) => line.startsWith(`${COOKIE_NAME}=`));
  return { status: res.status, headers: res.headers, text, body, cookie };
}

/** The cookie's value from a Set-Cookie line. */
export const cookieValue = (line: string | undefined) =>
  line?.split(";")[0]?.split("=").slice(1).join("=") ?? "";
