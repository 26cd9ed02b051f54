import { exports } from "cloudflare:workers";
import { expect } from "vitest";

/** Roles in the order the harness creates users for them. */
export const ALL_ROLES = ["owner", "admin", "developer", "billing"] as const;
export type TestRole = (typeof ALL_ROLES)[number];

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies
  body: T & Record<string, any>;
}

export interface CallOptions {
  method?: string;
  body?: unknown;
  /** A raw body sent as is (for malformed-JSON tests). */
  rawBody?: string;
  token?: string;
  headers?: Record<string, string>;
}

let ipCounter = 0;
/** A distinct client IP per harness call site, so login throttling of one test never hits another. */
export const freshIp = () => `198.18.${Math.floor(++ipCounter / 250) % 250}.${ipCounter % 250}`;

let uniqueCounter = 0;
export const unique = (label = "t") => `${label}${Date.now().toString(36)}${(++uniqueCounter).toString(36)}`;

export async function call<T = Record<string, unknown>>(
  path: string,
  options: CallOptions = {},
): Promise<ApiResponse<T>> {
  const headers = new Headers(options.headers);
  if (options.token) headers.set("Authorization", `Bearer ${options.token}`);
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined && !headers.has("Content-Type")) headers.set("Content-Type", "application/json");
  if (!headers.has("CF-Connecting-IP")) headers.set("CF-Connecting-IP", "198.51.100.7");
  const res = await exports.default.fetch(`http://api.test${path}`, {
    method: options.method ?? (body === undefined ? "GET" : "POST"),
    headers,
    body,
    redirect: "manual",
  });
  const text = await res.text();
  let parsed: unknown = {};
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    parsed = { raw: text };
  }
  return { status: res.status, headers: res.headers, body: parsed as ApiResponse<T>["body"] };
}

/** Asserts the contract's error shape and returns the body. */
export function expectError(res: ApiResponse, status: number, code: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body).toMatchObject({
    error: code,
    message: expect.any(String),
    request_id: expect.any(String),
  });
  expect(res.headers.get("X-Request-Id")).toBe(res.body.request_id);
  expect(JSON.stringify(res.body)).not.toMatch(/\bat .*\.(ts|js):\d+/);
  return res.body;
}

export const PASSWORD = "CorrectHorse42battery";

export interface TestTenant {
  tenantId: string;
  slug: string;
  owner: { id: string; email: string; access: string; refresh: string };
  /** The four API keys in full, as registration shows them once. */
  keys: { live_public: string; live_secret: string; test_public: string; test_secret: string };
}

export async function registerTenant(overrides: Record<string, unknown> = {}): Promise<TestTenant> {
  const email = `${unique("owner")}@example.com`;
  const res = await call("/api/v1/auth/tenants/register/", {
    body: { company_name: `Acme ${unique()}`, email, password: PASSWORD, ...overrides },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return {
    tenantId: res.body.tenant.id,
    slug: res.body.tenant.slug,
    owner: {
      id: res.body.user.id,
      email: res.body.user.email,
      access: res.body.tokens.access,
      refresh: res.body.tokens.refresh,
    },
    keys: res.body.api_keys,
  };
}

export interface TeamTenant extends TestTenant {
  tokens: Record<TestRole, string>;
  userIds: Record<TestRole, string>;
}

/** A tenant with one user of every role, each logged in. */
export async function registerTeam(): Promise<TeamTenant> {
  const tenant = await registerTenant();
  const tokens = { owner: tenant.owner.access } as Record<TestRole, string>;
  const userIds = { owner: tenant.owner.id } as Record<TestRole, string>;
  for (const role of ALL_ROLES.slice(1)) {
    const email = `${unique(role)}@example.com`;
    const invited = await call("/api/v1/auth/tenants/users/", {
      token: tenant.owner.access,
      body: { email, role, password: PASSWORD },
    });
    expect(invited.status, JSON.stringify(invited.body)).toBe(201);
    const login = await call("/api/v1/auth/tenants/login/", {
      body: { email, password: PASSWORD },
      headers: { "CF-Connecting-IP": freshIp() },
    });
    expect(login.status).toBe(200);
    tokens[role] = login.body.tokens.access;
    userIds[role] = invited.body.user.id;
  }
  return { ...tenant, tokens, userIds };
}
