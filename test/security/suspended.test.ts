import { beforeAll, describe, expect, it } from "vitest";
import { refreshTenantKeyRecords } from "../../src/modules/api-keys/api-keys.service";
import { testContext } from "../context";
import { ALL_ROLES, call, expectError, freshIp, PASSWORD, type TestRole } from "../harness";
import {
  ALLOWED_WHILE_SUSPENDED,
  allowedWhileSuspended,
  concretePath,
  emptyBody,
  KEY_ROUTES,
  labelled,
  type Route,
  USER_ROUTES,
} from "./routes";
import { type SecurityTenant, securityTenant, suspend } from "./tenants";

// A suspended tenant (platform billing): its users can still sign in, read and fix billing; every
// other write of theirs is 402 `tenant_suspended`, and so is every call with its API keys.

let tenant: SecurityTenant;
/** A second session of the owner, for the allowed writes that end a session (logout). */
let spareSession: string;

beforeAll(async () => {
  tenant = await securityTenant();
  await suspend(tenant.tenantId);
  // Platform billing re-publishes the keys' edge records when it suspends; so does the test.
  await refreshTenantKeyRecords(testContext(), tenant.tenantId);
  const login = await call("/api/v1/auth/tenants/login/", {
    body: { email: tenant.owner.email, password: PASSWORD },
    headers: { "CF-Connecting-IP": freshIp() },
  });
  expect(login.status, "a suspended tenant's users can still sign in").toBe(200);
  spareSession = login.body.tokens.access;
});

const send = (
  route: Route,
  credentials: { token?: string; headers?: Record<string, string> },
  slash = false,
) =>
  call(`${concretePath(route)}${slash ? "/" : ""}`, {
    method: route.method,
    body: emptyBody(route),
    ...credentials,
  });

const BLOCKED = USER_ROUTES.filter((route) => !allowedWhileSuspended(route));
const ALLOWED_WRITES = USER_ROUTES.filter((route) => route.method !== "GET" && allowedWhileSuspended(route));
/** GET forms that write, refused like writes (the seeds' alias of POST stripe/connect). */
const WRITING_GETS = ["GET /api/v1/auth/tenants/stripe/connect"];
const READS = USER_ROUTES.filter((route) => route.method === "GET" && !WRITING_GETS.includes(route.label));

describe("the checks below can fail", () => {
  it("there are writes on both sides of the line, and reads", () => {
    expect(BLOCKED.length).toBeGreaterThan(10);
    expect(ALLOWED_WRITES.length).toBeGreaterThan(3);
    expect(READS.length).toBeGreaterThan(5);
    for (const prefix of ALLOWED_WHILE_SUSPENDED) {
      expect(
        ALLOWED_WRITES.some((route) => concretePath(route).startsWith(prefix)),
        prefix,
      ).toBe(true);
    }
  });

  it("the tenant is suspended, and its users still read", async () => {
    const me = await call("/api/v1/auth/tenants/details/", { token: tenant.tokens.owner });
    expect(me.status).toBe(200);
    expect(JSON.stringify(me.body)).toContain("suspended");
  });
});

describe("writes", () => {
  it.each(labelled(BLOCKED))(
    "%s answers 402 to the owner, with or without a trailing slash",
    async (_, route) => {
      expectError(await send(route, { token: tenant.tokens.owner }), 402, "tenant_suspended");
      expectError(await send(route, { token: tenant.tokens.owner }, true), 402, "tenant_suspended");
    },
  );

  it.each(labelled(ALLOWED_WRITES))(
    "%s (fixing billing, keeping the account safe) gets past the suspension",
    async (_, route) => {
      // A role the route refuses proves the request passed the suspension check (403 comes after
      // it) without changing anything; routes every role may call get a body that fails validation.
      const refused = ALL_ROLES.find((role: TestRole) => !route.roles.includes(role));
      if (refused) {
        expectError(await send(route, { token: tenant.tokens[refused] }), 403, "forbidden");
      } else {
        const res = await call(concretePath(route), {
          method: route.method,
          token: spareSession,
          rawBody: "{",
        });
        expect(res.status, JSON.stringify(res.body)).not.toBe(402);
        expect(res.status).toBeLessThan(500);
      }
    },
  );
});

describe("writes by GET", () => {
  // GET /api/v1/auth/tenants/stripe/connect is the seeds' alias of POST and writes (it creates the
  // Stripe account and a single-use onboarding state): found by this suite letting a suspended
  // tenant start onboarding; now refused like the POST.
  it("GET /api/v1/auth/tenants/stripe/connect answers 402 like its POST", async () => {
    const path = "/api/v1/auth/tenants/stripe/connect/";
    expectError(await call(path, { token: tenant.tokens.owner, method: "POST" }), 402, "tenant_suspended");
    expectError(await call(path, { token: tenant.tokens.owner }), 402, "tenant_suspended");
  });
});

describe("reads", () => {
  it.each(labelled(READS))("%s is not refused for the suspension", async (_, route) => {
    const res = await send(route, { token: tenant.tokens[route.roles[0] ?? "owner"] });
    expect(res.status, JSON.stringify(res.body)).not.toBe(402);
    expect(res.status).toBeLessThan(500);
  });
});

describe("API keys", () => {
  const cases = KEY_ROUTES.flatMap((route) =>
    (["live_secret", "test_secret", "live_public", "test_public"] as const)
      .filter((key) => route.apiKeyKinds.includes(key.endsWith("secret") ? "secret" : "publishable"))
      .map((key) => [route.label, key, route] as const),
  );

  it.each(cases)("%s answers 402 to the %s key", async (_, key, route) => {
    expectError(await send(route, { headers: { "X-API-Key": tenant.keys[key] } }), 402, "tenant_suspended");
  });
});
