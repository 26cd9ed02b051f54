import { describe, expect, it } from "vitest";
import { EXEMPT, FIXTURES } from "./fixtures";
import { byKind, PUBLIC_ROUTES, PUBLISHABLE_KEY_ROUTES, ROUTES, type Route } from "./routes";

// What the shared security suite covers: every route of the app, read from the app. These tests
// fail when a route escapes the checks (no guard and not allowlisted, a parameter without a
// fixture) or when a list names a route that no longer exists.

const labels = (routes: readonly Route[]) => routes.map((route) => route.label);

describe("the route table is the app's", () => {
  it("has every route, each once", () => {
    expect(ROUTES.length).toBeGreaterThan(60);
    expect(new Set(labels(ROUTES)).size).toBe(ROUTES.length);
  });

  it("reads each route's guards from its chain", () => {
    const find = (label: string) => ROUTES.find((route) => route.label === label);
    expect(find("POST /api/v1/auth/tenants/register")).toMatchObject({ kind: "public", guards: [] });
    expect(find("GET /api/v1/auth/tenants/me")).toMatchObject({
      kind: "tenant",
      users: true,
      roles: ["owner", "admin", "developer", "billing"],
      apiKeyKinds: [],
    });
    expect(find("POST /api/v1/auth/plans/{id}/duplicate")).toMatchObject({
      kind: "tenant",
      users: true,
      roles: ["owner", "admin"],
      params: ["id"],
      path: "/api/v1/auth/plans/:id/duplicate",
    });
    expect(find("GET /api/v1/auth/plans/{id}")).toMatchObject({
      users: true,
      apiKeyKinds: ["secret", "publishable"],
    });
    expect(find("GET /api/v1/auth/tenants/verify")).toMatchObject({ users: false, roles: [] });
    expect(find("GET /api/v1/admin/tenants/{id}")).toMatchObject({ kind: "operator", users: false });
  });

  it("has routes of every kind the suite checks", () => {
    for (const kind of ["public", "operator", "tenant"] as const)
      expect(byKind(kind).length).toBeGreaterThan(5);
  });
});

describe("public routes", () => {
  it.each(labels(byKind("public")))("%s has no guard, so it must be allowlisted as public", (label) => {
    expect(
      PUBLIC_ROUTES[label],
      `${label} has no guard: add one (requireUser/requireRole/requireApiKey/requireAdmin, or guard() from src/lib/access.ts) or allowlist it in PUBLIC_ROUTES of test/security/routes.ts with the reason`,
    ).toBeDefined();
  });

  it.each(Object.keys(PUBLIC_ROUTES))("allowlisted %s exists and has no guard", (label) => {
    const route = ROUTES.find((r) => r.label === label);
    expect(route, `${label} is not a route of the app: remove it from PUBLIC_ROUTES`).toBeDefined();
    expect(route?.guards, `${label} has guards: remove it from PUBLIC_ROUTES`).toEqual([]);
  });
});

describe("publishable keys", () => {
  const publishable = ROUTES.filter((route) => route.apiKeyKinds.includes("publishable"));

  it.each(labels(publishable))("%s lets publishable keys through, so it must be listed", (label) => {
    expect(
      PUBLISHABLE_KEY_ROUTES[label],
      `${label} accepts publishable keys, which only read public plans and start checkouts: use requireApiKey(["secret"]) or list it in PUBLISHABLE_KEY_ROUTES`,
    ).toBeDefined();
  });

  it.each(Object.keys(PUBLISHABLE_KEY_ROUTES))("listed %s exists and takes publishable keys", (label) => {
    expect(ROUTES.find((r) => r.label === label)?.apiKeyKinds).toContain("publishable");
  });
});

describe("cross-tenant fixtures", () => {
  const parameterized = ROUTES.filter((route) => route.params.length > 0 && route.kind !== "public");

  it.each(labels(parameterized))("%s has a fixture or an exemption", (label) => {
    const route = parameterized.find((r) => r.label === label) as Route;
    const fixture = FIXTURES[route.pattern];
    const exempt = EXEMPT[route.pattern];
    expect(
      fixture ?? exempt,
      `${route.pattern} names a resource by its id: register a fixture in FIXTURES of test/security/fixtures.ts (see the top of that file), or an exemption in EXEMPT with the reason`,
    ).toBeDefined();
    expect(fixture && exempt, `${route.pattern} has both a fixture and an exemption`).toBeFalsy();
    if (exempt) expect(exempt.length).toBeGreaterThan(10);
  });

  it.each([...Object.keys(FIXTURES), ...Object.keys(EXEMPT)])("%s names a parameterized route", (pattern) => {
    expect(
      parameterized.some((route) => route.pattern === pattern),
      `${pattern} is no parameterized route of the app: remove it`,
    ).toBe(true);
  });
});
