import { env } from "cloudflare:workers";
import { SignJWT, UnsecuredJWT } from "jose";
import { describe, expect, it } from "vitest";
import { login } from "../../src/modules/auth/auth.service";
import { testContext } from "../context";
import { call, expectError, freshIp, PASSWORD, registerTenant } from "../harness";

const ME = "/api/v1/auth/tenants/me/";
const REFRESH = "/api/v1/auth/tenants/token/refresh/";
const secret = new TextEncoder().encode(env.JWT_SECRET);

function payloadOf(token: string): Record<string, unknown> {
  const part = token.split(".")[1] ?? "";
  return JSON.parse(atob(part.replaceAll("-", "+").replaceAll("_", "/")));
}

describe("access tokens", () => {
  it("carry iss, aud, sub, tenant, role, jti and exp from the configured lifetime", async () => {
    const tenant = await registerTenant();
    const claims = payloadOf(tenant.owner.access);
    expect(claims).toMatchObject({
      iss: "edge-billing",
      aud: "edge-billing-api",
      sub: tenant.owner.id,
      tid: tenant.tenantId,
      role: "owner",
      typ: "access",
      jti: expect.any(String),
    });
    expect((claims.exp as number) - (claims.iat as number)).toBe(60 * 60);
  });

  it("/me answers the user and tenant", async () => {
    const tenant = await registerTenant();
    const res = await call(ME, { token: tenant.owner.access });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: tenant.owner.id, role: "owner", tenant: { id: tenant.tenantId } });
  });

  it("/me without a token is 401, never 403", async () => {
    expectError(await call(ME), 401, "unauthenticated");
    expectError(await call(ME, { headers: { Authorization: "Basic abc" } }), 401, "unauthenticated");
  });

  it("refuses an expired token", async () => {
    const tenant = await registerTenant();
    const claims = payloadOf(tenant.owner.access);
    const expired = await new SignJWT({ ...claims, exp: Math.floor(Date.now() / 1000) - 10 })
      .setProtectedHeader({ alg: "HS256" })
      .sign(secret);
    const res = expectError(await call(ME, { token: expired }), 401, "unauthenticated");
    expect(res.message).toMatch(/expired/i);
  });

  it("refuses alg none, other algorithms and other signing keys", async () => {
    const tenant = await registerTenant();
    const claims = payloadOf(tenant.owner.access);
    const none = new UnsecuredJWT(claims).encode();
    const hs512 = await new SignJWT(claims).setProtectedHeader({ alg: "HS512" }).sign(secret);
    const otherKey = await new SignJWT(claims)
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode("another-secret-another-secret-another-secret"));
    for (const token of [none, hs512, otherKey, "garbage", `${tenant.owner.access}x`]) {
      expectError(await call(ME, { token }), 401, "unauthenticated");
    }
  });

  it("refuses a token whose tenant claim was switched to another tenant", async () => {
    const mine = await registerTenant();
    const other = await registerTenant();
    const forged = await new SignJWT({ ...payloadOf(mine.owner.access), tid: other.tenantId })
      .setProtectedHeader({ alg: "HS256" })
      .sign(secret);
    expectError(await call(ME, { token: forged }), 401, "unauthenticated");
  });

  it("refuses a refresh token used as an access token", async () => {
    const tenant = await registerTenant();
    expectError(await call(ME, { token: tenant.owner.refresh }), 401, "unauthenticated");
  });
});

describe("refresh token rotation", () => {
  it("returns a new pair and the old refresh token stops working", async () => {
    const tenant = await registerTenant();
    const first = await call(REFRESH, { body: { refresh: tenant.owner.refresh } });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ access: expect.any(String), refresh: expect.any(String) });
    expect(first.body.refresh).not.toBe(tenant.owner.refresh);
    expect((await call(ME, { token: first.body.access })).status).toBe(200);

    const second = await call(REFRESH, { body: { refresh: first.body.refresh } });
    expect(second.status).toBe(200);
  });

  it("a reused refresh token is rejected and revokes its whole family", async () => {
    const tenant = await registerTenant();
    const rotated = await call(REFRESH, { body: { refresh: tenant.owner.refresh } });
    expect(rotated.status).toBe(200);

    expectError(await call(REFRESH, { body: { refresh: tenant.owner.refresh } }), 401, "unauthenticated");
    // The legitimate holder's newer token died with the family.
    expectError(await call(REFRESH, { body: { refresh: rotated.body.refresh } }), 401, "unauthenticated");
    // Another login (another family) is unaffected.
    const login = await call("/api/v1/auth/tenants/login/", {
      body: { email: tenant.owner.email, password: PASSWORD },
      headers: { "CF-Connecting-IP": freshIp() },
    });
    expect((await call(REFRESH, { body: { refresh: login.body.tokens.refresh } })).status).toBe(200);
  });

  it("concurrent refreshes of one token: exactly one wins", async () => {
    const tenant = await registerTenant();
    const results = await Promise.all(
      Array.from({ length: 5 }, () => call(REFRESH, { body: { refresh: tenant.owner.refresh } })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
  });

  it("refuses an access token in place of a refresh token", async () => {
    const tenant = await registerTenant();
    expectError(await call(REFRESH, { body: { refresh: tenant.owner.access } }), 401, "unauthenticated");
  });
});

describe("POST /change-password", () => {
  const CHANGE = "/api/v1/auth/tenants/change-password/";

  it("verifies the current password and signs out other sessions only", async () => {
    const tenant = await registerTenant();
    const other = await call("/api/v1/auth/tenants/login/", {
      body: { email: tenant.owner.email, password: PASSWORD },
      headers: { "CF-Connecting-IP": freshIp() },
    });

    expectError(
      await call(CHANGE, {
        token: tenant.owner.access,
        body: { current_password: "NotMyPassword1", new_password: "BrandNewPass77" },
      }),
      400,
      "validation_error",
    );

    const ok = await call(CHANGE, {
      token: tenant.owner.access,
      body: { current_password: PASSWORD, new_password: "BrandNewPass77" },
    });
    expect(ok.status).toBe(200);

    expectError(
      await call(REFRESH, { body: { refresh: other.body.tokens.refresh } }),
      401,
      "unauthenticated",
    );
    expect((await call(REFRESH, { body: { refresh: tenant.owner.refresh } })).status).toBe(200);

    const oldLogin = await call("/api/v1/auth/tenants/login/", {
      body: { email: tenant.owner.email, password: PASSWORD },
      headers: { "CF-Connecting-IP": freshIp() },
    });
    expect(oldLogin.status).toBe(401);
    const newLogin = await call("/api/v1/auth/tenants/login/", {
      body: { email: tenant.owner.email, password: "BrandNewPass77" },
      headers: { "CF-Connecting-IP": freshIp() },
    });
    expect(newLogin.status).toBe(200);
  });

  it("two changes at once from two sessions: one wins and signs the other out; the other is 400 and ends nothing", async () => {
    const tenant = await registerTenant();
    const other = await call("/api/v1/auth/tenants/login/", {
      body: { email: tenant.owner.email, password: PASSWORD },
      headers: { "CF-Connecting-IP": freshIp() },
    });
    const sessions = [
      { access: tenant.owner.access, refresh: tenant.owner.refresh as string, password: "FirstNewPass77" },
      {
        access: other.body.tokens.access,
        refresh: other.body.tokens.refresh as string,
        password: "SecondNewPass77",
      },
    ];
    const answers = await Promise.all(
      sessions.map((session) =>
        call(CHANGE, {
          token: session.access,
          body: { current_password: PASSWORD, new_password: session.password },
        }),
      ),
    );
    const statuses = answers.map((answer) => answer.status);
    expect(
      statuses.filter((status) => status === 200),
      JSON.stringify(statuses),
    ).toHaveLength(1);
    const winner = statuses[0] === 200 ? 0 : 1;
    const loser = 1 - winner;
    // 400 when both passed their checks together; 401 if the winner had already ended its session.
    expect([400, 401]).toContain(statuses[loser]);
    const [won, lost] = [sessions[winner], sessions[loser]] as [(typeof sessions)[0], (typeof sessions)[0]];
    expect((await call(REFRESH, { body: { refresh: won.refresh } })).status).toBe(200);
    expectError(await call(REFRESH, { body: { refresh: lost.refresh } }), 401, "unauthenticated");
    for (const [password, status] of [
      [won.password, 200],
      [lost.password, 401],
    ] as const) {
      const login = await call("/api/v1/auth/tenants/login/", {
        body: { email: tenant.owner.email, password },
        headers: { "CF-Connecting-IP": freshIp() },
      });
      expect(login.status).toBe(status);
    }
    const audits = await env.DB.prepare(
      "SELECT count(*) AS n FROM audit_log WHERE tenant_id = ? AND action = 'user.password_changed'",
    )
      .bind(tenant.tenantId)
      .first<{ n: number }>();
    expect(audits?.n).toBe(1);
  });

  it("a sign-in whose password check overlapped a change that committed first is refused and starts no session", async () => {
    const tenant = await registerTenant();
    const sessions = () =>
      env.DB.prepare("SELECT count(*) AS n FROM refresh_tokens WHERE user_id = ?")
        .bind(tenant.owner.id)
        .first<{ n: number }>();
    const before = await sessions();
    // The change commits between the sign-in's read of the user (its first batch) and its write.
    const base = testContext();
    let batches = 0;
    const db = new Proxy(base.db, {
      get(target, name) {
        const value = Reflect.get(target, name, target);
        if (name !== "batch") return typeof value === "function" ? value.bind(target) : value;
        return async (statements: Parameters<typeof target.batch>[0]) => {
          if (++batches === 2) {
            await env.DB.prepare("UPDATE users SET password_hash = ? WHERE id = ?")
              .bind("pbkdf2_sha256$100000$changed$meanwhile", tenant.owner.id)
              .run();
          }
          return target.batch(statements);
        };
      },
    });
    await expect(
      login(testContext({ db, clientIp: freshIp() }), { email: tenant.owner.email, password: PASSWORD }),
    ).rejects.toMatchObject({ code: "unauthenticated" });
    expect(await sessions()).toEqual(before);
  });

  it("applies the password policy", async () => {
    const tenant = await registerTenant();
    const res = await call(CHANGE, {
      token: tenant.owner.access,
      body: { current_password: PASSWORD, new_password: "short" },
    });
    expectError(res, 400, "validation_error");
  });
});

describe("GET /details", () => {
  it("shows tier, usage limits, Stripe Connect status and user count", async () => {
    const tenant = await registerTenant();
    const res = await call("/api/v1/auth/tenants/details/", { token: tenant.owner.access });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: tenant.tenantId,
      subscription_tier: "free",
      usage_limits: { api_requests_per_minute: expect.any(Number), users: expect.any(Number) },
      stripe_connect: { connected: false, account_id: null, status: "not_connected" },
      user_count: 1,
    });
  });
});
