import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, expectError, freshIp, PASSWORD, registerTenant, type TestTenant } from "../harness";

const ME = "/api/v1/auth/tenants/me/";
const REFRESH = "/api/v1/auth/tenants/token/refresh/";
const LOGOUT = "/api/v1/auth/tenants/logout/";

/** A second session of the tenant's owner (another login). */
async function secondSession(tenant: TestTenant) {
  const res = await call("/api/v1/auth/tenants/login/", {
    body: { email: tenant.owner.email, password: PASSWORD },
    headers: { "CF-Connecting-IP": freshIp() },
  });
  expect(res.status).toBe(200);
  return { access: res.body.tokens.access as string, refresh: res.body.tokens.refresh as string };
}

const me = (access: string) => call(ME, { token: access });

describe("an access token dies with its session", () => {
  it("after a password change, the other sessions' access tokens answer 401 at once", async () => {
    const tenant = await registerTenant();
    const other = await secondSession(tenant);
    expect((await me(other.access)).status).toBe(200);

    const changed = await call("/api/v1/auth/tenants/change-password/", {
      token: tenant.owner.access,
      body: { current_password: PASSWORD, new_password: "AnotherHorse77battery" },
    });
    expect(changed.status).toBe(200);
    const refused = expectError(await me(other.access), 401, "unauthenticated");
    expect(refused.message).toMatch(/session has ended/);
    expect((await me(tenant.owner.access)).status).toBe(200);
  });

  it("after refresh-token reuse revokes the family, that family's access tokens answer 401", async () => {
    const tenant = await registerTenant();
    const rotated = await call(REFRESH, { body: { refresh: tenant.owner.refresh } });
    expect(rotated.status).toBe(200);
    expect((await me(rotated.body.access)).status).toBe(200);

    expectError(await call(REFRESH, { body: { refresh: tenant.owner.refresh } }), 401, "unauthenticated");
    expectError(await me(rotated.body.access), 401, "unauthenticated");
    expectError(await me(tenant.owner.access), 401, "unauthenticated");
  });

  it("logout ends this session only; its refresh token is dead too", async () => {
    const tenant = await registerTenant();
    const other = await secondSession(tenant);
    const out = await call(LOGOUT, { token: tenant.owner.access, method: "POST" });
    expect(out.status).toBe(200);
    expectError(await me(tenant.owner.access), 401, "unauthenticated");
    expectError(await call(REFRESH, { body: { refresh: tenant.owner.refresh } }), 401, "unauthenticated");
    expect((await me(other.access)).status).toBe(200);
    expect((await call(REFRESH, { body: { refresh: other.refresh } })).status).toBe(200);
  });

  it('logout with {"all": true} ends every session of the user', async () => {
    const tenant = await registerTenant();
    const other = await secondSession(tenant);
    const out = await call(LOGOUT, { token: other.access, body: { all: true } });
    expect(out.status).toBe(200);
    expectError(await me(tenant.owner.access), 401, "unauthenticated");
    expectError(await me(other.access), 401, "unauthenticated");
    expectError(await call(REFRESH, { body: { refresh: other.refresh } }), 401, "unauthenticated");
  });

  it("logouts of one session at once end it once: one 200 and one audit record, the others 401 as after it", async () => {
    const tenant = await registerTenant();
    const outs = await Promise.all(
      Array.from({ length: 6 }, () => call(LOGOUT, { token: tenant.owner.access, method: "POST" })),
    );
    expect(outs.map((out) => out.status).sort()).toEqual([200, 401, 401, 401, 401, 401]);
    for (const out of outs.filter((res) => res.status !== 200)) expectError(out, 401, "unauthenticated");
    const records = await env.DB.prepare(
      "SELECT count(*) AS n FROM audit_log WHERE tenant_id = ? AND action = 'user.logged_out'",
    )
      .bind(tenant.tenantId)
      .first<{ n: number }>();
    expect(records?.n).toBe(1);
    expectError(await me(tenant.owner.access), 401, "unauthenticated");
  });

  it("logout needs an access token and refuses a bad body", async () => {
    expectError(await call(LOGOUT, { method: "POST" }), 401, "unauthenticated");
    const tenant = await registerTenant();
    expectError(
      await call(LOGOUT, { token: tenant.owner.access, body: { all: "yes" } }),
      400,
      "validation_error",
    );
    expect((await me(tenant.owner.access)).status).toBe(200);
  });

  it("a removed user's access token answers 401", async () => {
    const tenant = await registerTenant();
    const email = `removed-${Date.now()}@example.com`;
    const invited = await call("/api/v1/auth/tenants/users/", {
      token: tenant.owner.access,
      body: { email, role: "developer", password: PASSWORD },
    });
    const login = await call("/api/v1/auth/tenants/login/", {
      body: { email, password: PASSWORD },
      headers: { "CF-Connecting-IP": freshIp() },
    });
    expect((await me(login.body.tokens.access)).status).toBe(200);
    await call(`/api/v1/auth/tenants/users/${invited.body.user.id}/`, {
      token: tenant.owner.access,
      method: "DELETE",
    });
    expectError(await me(login.body.tokens.access), 401, "unauthenticated");
  });
});

describe("refresh rotation is one atomic step", () => {
  it("a token replayed in parallel leaves no live child in its family", async () => {
    const tenant = await registerTenant();
    const headers = { "CF-Connecting-IP": freshIp() };
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => call(REFRESH, { body: { refresh: tenant.owner.refresh }, headers })),
    );
    const winners = answers.filter((res) => res.status === 200);
    expect(winners).toHaveLength(1);
    for (const loser of answers.filter((res) => res.status !== 200))
      expectError(loser, 401, "unauthenticated");
    // The replays revoked the family, including the child the winner got.
    const child = winners[0]?.body as { access: string; refresh: string };
    expectError(await call(REFRESH, { body: { refresh: child.refresh } }), 401, "unauthenticated");
    expectError(await me(child.access), 401, "unauthenticated");
  });
});
