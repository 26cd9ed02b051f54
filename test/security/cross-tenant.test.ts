import { beforeAll, describe, expect, it } from "vitest";
import { call, expectError } from "../harness";
import { EXEMPT, FIXTURES } from "./fixtures";
import { concretePath, labelled, ROUTES, type Route } from "./routes";
import { type KeyName, type SecurityTenant, securityTenant } from "./tenants";

// Another tenant's resource is never found (404 `not_found`, never 403: its existence is not
// revealed), on every route whose path names a resource. The resources come from the fixture
// registry (test/security/fixtures.ts), made in tenant A and asked for by tenant B.

let a: SecurityTenant;
let b: SecurityTenant;

beforeAll(async () => {
  [a, b] = await Promise.all([securityTenant(), securityTenant()]);
});

const CASES = labelled(ROUTES.filter((route) => route.params.length > 0 && FIXTURES[route.pattern]));

/** The key names of a tenant's keys this route lets through. */
const keysFor = (route: Route): KeyName[] =>
  [
    ...(route.apiKeyKinds.includes("secret") ? (["live_secret", "test_secret"] as const) : []),
    ...(route.apiKeyKinds.includes("publishable") ? (["live_public", "test_public"] as const) : []),
  ] satisfies KeyName[];

function send(
  route: Route,
  id: string | Record<string, string>,
  credentials: { token?: string; key?: string },
) {
  const [first] = route.params;
  const values = typeof id === "string" ? { [first as string]: id } : id;
  const fixture = FIXTURES[route.pattern];
  const body = ["GET", "HEAD"].includes(route.method)
    ? undefined
    : (fixture?.body?.[route.method as "POST" | "PATCH" | "PUT" | "DELETE"] ?? {});
  return call(concretePath(route, values), {
    method: route.method,
    body,
    ...(credentials.token ? { token: credentials.token } : {}),
    ...(credentials.key ? { headers: { "X-API-Key": credentials.key } } : {}),
  });
}

describe("the checks below can fail", () => {
  it("there are routes to check, and every one has a fixture or an exemption", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(5);
    const parameterized = ROUTES.filter((route) => route.params.length > 0 && route.kind !== "public");
    for (const route of parameterized) expect(FIXTURES[route.pattern] ?? EXEMPT[route.pattern]).toBeDefined();
  });
});

describe.each(CASES)("%s", (_, route) => {
  it("answers 404 to another tenant, and 2xx to the resource's own tenant", async () => {
    const fixture = FIXTURES[route.pattern];
    if (!fixture) throw new Error(`no fixture for ${route.pattern}`);
    const id = await fixture.create(a);
    const role = route.roles[0];

    // Tenant B: its user of an admitted role, and each of its keys the route takes.
    if (role) expectError(await send(route, id, { token: b.tokens[role] }), 404, "not_found");
    for (const key of keysFor(route)) {
      const res = await send(route, id, { key: b.keys[key] });
      expectError(res, 404, "not_found");
    }

    // Tenant A, the same way: the id was real, so B's 404 came from the tenant check. A write
    // may use the resource up (a delete), so each further write gets a resource of its own.
    let used = false;
    const next = async () => {
      if (used && route.method !== "GET") return fixture.create(a);
      used = true;
      return id;
    };
    if (role) {
      const res = await send(route, await next(), { token: a.tokens[role] });
      expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
    }
    const byKey: number[] = [];
    for (const key of keysFor(route))
      byKey.push((await send(route, await next(), { key: a.keys[key] })).status);
    if (byKey.length)
      expect(
        byKey.some((status) => status >= 200 && status < 300),
        `A's keys: ${byKey}`,
      ).toBe(true);
  });
});
