import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { call, expectError } from "../harness";
import { byKind, concretePath, emptyBody, KEY_ROUTES, labelled, type Route, USER_ROUTES } from "./routes";
import {
  forgeToken,
  PUBLISHABLE_KEYS,
  SECRET_KEYS,
  type SecurityTenant,
  securityTenant,
  serverSecret,
} from "./tenants";

// Who gets past authentication, for every guarded route of the app (test/security/routes.ts):
// no credentials, a forged token, the wrong kind of credential. Each check asserts the exact
// status and error code.

let tenant: SecurityTenant;
let forged: string;

beforeAll(async () => {
  tenant = await securityTenant();
  forged = await forgeToken(tenant.tokens.owner);
});

const send = (
  route: Route,
  options: { token?: string; headers?: Record<string, string>; slash?: boolean } = {},
) =>
  call(`${concretePath(route)}${options.slash ? "/" : ""}`, {
    method: route.method,
    body: emptyBody(route),
    ...(options.token ? { token: options.token } : {}),
    ...(options.headers ? { headers: options.headers } : {}),
  });

const USER_ONLY = USER_ROUTES.filter((route) => route.apiKeyKinds.length === 0);
const KEY_ONLY = KEY_ROUTES.filter((route) => !route.users);
const OPERATOR = byKind("operator");
const GUARDED = [...byKind("tenant"), ...OPERATOR];

describe("the checks below can fail", () => {
  it("a token with the forged one's claims, signed with the server's key, is accepted", async () => {
    const genuine = await forgeToken(tenant.tokens.owner, serverSecret());
    const res = await call("/api/v1/auth/tenants/me/", { token: genuine });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expectError(await call("/api/v1/auth/tenants/me/", { token: forged }), 401, "unauthenticated");
  });

  it("the tenant's keys and the operator's token are accepted where they belong", async () => {
    for (const key of [...SECRET_KEYS, ...PUBLISHABLE_KEYS]) {
      expect(
        (await call("/api/v1/auth/tenants/verify/", { headers: { "X-API-Key": tenant.keys[key] } })).status,
      ).toBe(200);
    }
    expect((await call("/api/v1/admin/tenants/", { token: env.PLATFORM_ADMIN_TOKEN })).status).toBe(200);
  });
});

describe.each(labelled(GUARDED))("%s", (_, route) => {
  it("refuses a request without credentials (401)", async () => {
    expectError(await send(route), 401, "unauthenticated");
  });

  it("refuses a request without credentials with a trailing slash too (401)", async () => {
    expectError(await send(route, { slash: true }), 401, "unauthenticated");
  });

  it("refuses a malformed Authorization header (401)", async () => {
    expectError(await send(route, { headers: { Authorization: "Bearer" } }), 401, "unauthenticated");
  });
});

describe.each(labelled(USER_ROUTES))("%s (user tokens)", (_, route) => {
  it("refuses a token signed with another key (401)", async () => {
    expectError(await send(route, { token: forged }), 401, "unauthenticated");
  });

  it("refuses the operator's token (401)", async () => {
    expectError(await send(route, { token: env.PLATFORM_ADMIN_TOKEN }), 401, "unauthenticated");
  });

  it("refuses a refresh token used as an access token (401)", async () => {
    expectError(await send(route, { token: tenant.owner.refresh }), 401, "unauthenticated");
  });
});

describe.each(labelled(USER_ONLY))("%s (user tokens only)", (_, route) => {
  it.each([...SECRET_KEYS, ...PUBLISHABLE_KEYS])(
    "refuses the tenant's %s key as a bearer token (401)",
    async (key) => {
      expectError(await send(route, { token: tenant.keys[key] }), 401, "unauthenticated");
    },
  );

  it("refuses a secret key in X-API-Key (401)", async () => {
    expectError(
      await send(route, { headers: { "X-API-Key": tenant.keys.live_secret } }),
      401,
      "unauthenticated",
    );
  });
});

describe.each(labelled(KEY_ONLY))("%s (API keys only)", (_, route) => {
  it("refuses a user's access token (401)", async () => {
    expectError(await send(route, { token: tenant.tokens.owner }), 401, "unauthenticated");
  });

  it("refuses a well-formed key that does not exist (401)", async () => {
    const unknown = `sk_test_${"A".repeat(32)}`;
    expectError(await send(route, { headers: { "X-API-Key": unknown } }), 401, "unauthenticated");
  });
});

describe.each(labelled(OPERATOR))("%s (operator)", (_, route) => {
  it("refuses a tenant owner's access token (401)", async () => {
    expectError(await send(route, { token: tenant.tokens.owner }), 401, "unauthenticated");
  });

  it("refuses a tenant's secret key, as bearer or in X-API-Key (401)", async () => {
    expectError(await send(route, { token: tenant.keys.live_secret }), 401, "unauthenticated");
    expectError(
      await send(route, { headers: { "X-API-Key": tenant.keys.live_secret } }),
      401,
      "unauthenticated",
    );
  });

  it("refuses a near miss of the operator's token (401)", async () => {
    expectError(await send(route, { token: `${env.PLATFORM_ADMIN_TOKEN}x` }), 401, "unauthenticated");
  });
});
