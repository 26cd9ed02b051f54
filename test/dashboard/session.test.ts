import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, PASSWORD, registerTenant, unique } from "../harness";
import {
  COOKIE_NAME,
  cookieValue,
  dashboardCall,
  MARK_NAME,
  REFRESH,
  REGISTER,
  SESSION,
  SETUP,
} from "./helpers";

async function signIn() {
  const tenant = await registerTenant();
  const res = await dashboardCall(SESSION, { body: { email: tenant.owner.email, password: PASSWORD } });
  expect(res.status, res.text).toBe(200);
  return { tenant, res, refresh: cookieValue(res.cookie) };
}

describe("dashboard sessions: the refresh token lives only in an HttpOnly cookie", () => {
  it("signs in: the cookie is __Host-, HttpOnly, Secure, SameSite=Strict, Path=/; the body has no refresh token", async () => {
    const { res, refresh } = await signIn();
    expect(res.cookie).toMatch(new RegExp(`^${COOKIE_NAME}=`));
    expect(res.cookie).toMatch(/;\s*HttpOnly/i);
    expect(res.cookie).toMatch(/;\s*Secure/i);
    expect(res.cookie).toMatch(/;\s*SameSite=Strict/i);
    expect(res.cookie).toMatch(/;\s*Path=\//);
    expect(res.cookie).not.toMatch(/Domain=/i);
    expect(res.cookie).toMatch(/Max-Age=86\d{3}/);
    expect(refresh.split(".")).toHaveLength(3);
    expect(res.text).not.toContain(refresh);
    expect(res.body).not.toHaveProperty("refresh");
    expect(res.body).not.toHaveProperty("tokens");
    expect(res.body).toMatchObject({
      access_token: expect.any(String),
      token_type: "Bearer",
      expires_at: expect.any(String),
      user: { role: "owner" },
      tenant: { status: "active" },
    });
    const me = await call("/api/v1/auth/tenants/me", { token: res.body.access_token });
    expect(me.status).toBe(200);
  });

  it("refreshes from the cookie, rotating it; replaying a used cookie ends the whole session", async () => {
    const { refresh } = await signIn();
    const first = await dashboardCall(REFRESH, { cookie: refresh });
    expect(first.status, first.text).toBe(200);
    const rotated = cookieValue(first.cookie);
    expect(rotated).not.toBe(refresh);
    expect(first.text).not.toContain(rotated);
    expect(first.body).toMatchObject({ access_token: expect.any(String), user: { role: "owner" } });

    const replay = await dashboardCall(REFRESH, { cookie: refresh });
    expect(replay.status).toBe(401);
    expect(replay.body).toMatchObject({ error: "unauthenticated", request_id: expect.any(String) });
    expect(replay.cookie).toMatch(/Max-Age=0/);
    // The replay revoked the family: the newest cookie is dead too.
    expect((await dashboardCall(REFRESH, { cookie: rotated })).status).toBe(401);
  });

  it("sets a readable session mark with the cookie, new on every rotation, cleared with it", async () => {
    const markOf = (res: { headers: Headers }) =>
      res.headers.getSetCookie().find((line) => line.startsWith(`${MARK_NAME}=`));
    const { res, refresh } = await signIn();
    const signedIn = markOf(res);
    expect(signedIn).toMatch(/;\s*Secure/i);
    expect(signedIn).toMatch(/;\s*SameSite=Strict/i);
    expect(signedIn).toMatch(/;\s*Path=\//);
    expect(signedIn).toMatch(/Max-Age=86\d{3}/);
    // The page reads it: not HttpOnly, and nothing of the token in it.
    expect(signedIn).not.toMatch(/HttpOnly/i);
    expect(cookieValue(signedIn)).toMatch(/^[0-9a-f-]{36}$/);
    expect(refresh).not.toContain(cookieValue(signedIn));

    const rotated = await dashboardCall(REFRESH, { cookie: refresh });
    expect(rotated.status).toBe(200);
    expect(cookieValue(markOf(rotated))).toMatch(/^[0-9a-f-]{36}$/);
    expect(cookieValue(markOf(rotated))).not.toBe(cookieValue(signedIn));

    // A failed refresh (here a replay) and a sign-out clear it with the refresh cookie.
    expect(markOf(await dashboardCall(REFRESH, { cookie: refresh }))).toMatch(/Max-Age=0/);
    expect(markOf(await dashboardCall(SESSION, { method: "DELETE" }))).toMatch(/Max-Age=0/);
  });

  it("answers 401 without a cookie or with a forged one", async () => {
    const none = await dashboardCall(REFRESH);
    expect(none.status).toBe(401);
    expect(none.body.error).toBe("unauthenticated");
    expect((await dashboardCall(REFRESH, { cookie: "not.a.jwt" })).status).toBe(401);
  });

  it("a refresh refused for its IP (429) keeps the cookie: the session is not dead, only throttled", async () => {
    const { refresh } = await signIn();
    const ip = "198.19.99.1";
    // Invalid refresh tokens from one IP lock its refreshes (30 a quarter hour): a shared address
    // (an office, a carrier's NAT) is locked by whoever sends them.
    for (let i = 0; i < 31; i++) {
      await call("/api/v1/auth/tenants/token/refresh/", {
        body: { refresh: "not.a.jwt" },
        headers: { "CF-Connecting-IP": ip },
      });
    }
    const throttled = await dashboardCall(REFRESH, { cookie: refresh, headers: { "CF-Connecting-IP": ip } });
    expect(throttled.status).toBe(429);
    expect(throttled.body.error).toBe("rate_limited");
    expect(throttled.headers.get("Retry-After")).toMatch(/^\d+$/);
    // The token was never consumed: clearing the cookie would sign the user out and leave their
    // live session out of reach of their own sign-out.
    expect(throttled.headers.getSetCookie()).toEqual([]);
    expect((await dashboardCall(REFRESH, { cookie: refresh })).status).toBe(200);
  });

  it("signs out: the session is revoked and the cookie cleared", async () => {
    const { refresh } = await signIn();
    const out = await dashboardCall(SESSION, { method: "DELETE", cookie: refresh });
    expect(out.status).toBe(200);
    expect(out.cookie).toMatch(/Max-Age=0/);
    expect((await dashboardCall(REFRESH, { cookie: refresh })).status).toBe(401);
    // Signing out without a session still succeeds.
    expect((await dashboardCall(SESSION, { method: "DELETE" })).status).toBe(200);
  });

  it("signing out is audited like the API's logout, once, and only when it ended a session", async () => {
    const { tenant, refresh } = await signIn();
    const outs = await Promise.all(
      Array.from({ length: 4 }, () => dashboardCall(SESSION, { method: "DELETE", cookie: refresh })),
    );
    expect(outs.map((out) => out.status)).toEqual([200, 200, 200, 200]);
    const records = await env.DB.prepare(
      "SELECT actor_id, target_id FROM audit_log WHERE tenant_id = ? AND action = 'user.logged_out'",
    )
      .bind(tenant.tenantId)
      .all<{ actor_id: string; target_id: string }>();
    expect(records.results).toEqual([{ actor_id: tenant.owner.id, target_id: tenant.owner.id }]);
  });

  it("signing in over a cookie ends the session it names, as its sign-out; the new one lives", async () => {
    const { tenant, refresh: old } = await signIn();
    const again = await dashboardCall(SESSION, {
      body: { email: tenant.owner.email, password: PASSWORD },
      cookie: old,
    });
    expect(again.status, again.text).toBe(200);
    const fresh = cookieValue(again.cookie);
    expect(fresh).not.toBe(old);
    // The overwritten cookie's session is over: its refresh token no longer works anywhere.
    expect((await dashboardCall(REFRESH, { cookie: old })).status).toBe(401);
    expect((await dashboardCall(REFRESH, { cookie: fresh })).status).toBe(200);
    const records = await env.DB.prepare(
      "SELECT count(*) AS n FROM audit_log WHERE tenant_id = ? AND action = 'user.logged_out'",
    )
      .bind(tenant.tenantId)
      .first<{ n: number }>();
    expect(records?.n).toBe(1);

    // Another user signing in on the same browser ends the first user's session too.
    const other = await registerTenant();
    const switched = await dashboardCall(SESSION, {
      body: { email: other.owner.email, password: PASSWORD },
      cookie: fresh,
    });
    expect(switched.status, switched.text).toBe(200);
    expect((await dashboardCall(REFRESH, { cookie: fresh })).status).toBe(401);
    // A forged or expired cookie is no obstacle to signing in.
    const forged = await dashboardCall(SESSION, {
      body: { email: other.owner.email, password: PASSWORD },
      cookie: "not.a.token",
    });
    expect(forged.status, forged.text).toBe(200);
  });

  it("a failure to end the cookie's earlier session does not fail the sign-in that replaced it", async () => {
    const { tenant, refresh: old } = await signIn();
    const claims = JSON.parse(atob((old.split(".")[1] ?? "").replaceAll("-", "+").replaceAll("_", "/")));
    const trigger = `keep_family_${String(claims.sid).replace(/\W/g, "")}`;
    await env.DB.exec(
      `CREATE TRIGGER ${trigger} BEFORE UPDATE ON refresh_tokens WHEN OLD.family_id = '${claims.sid}' BEGIN SELECT RAISE(ABORT, 'injected'); END`,
    );
    try {
      const again = await dashboardCall(SESSION, {
        body: { email: tenant.owner.email, password: PASSWORD },
        cookie: old,
      });
      expect(again.status, again.text).toBe(200);
      expect((await dashboardCall(REFRESH, { cookie: cookieValue(again.cookie) })).status).toBe(200);
    } finally {
      await env.DB.exec(`DROP TRIGGER ${trigger}`);
    }
  });

  it("registers a tenant: 201 with the four keys once, a cookie, no refresh token in the body", async () => {
    const res = await dashboardCall(REGISTER, {
      body: { company_name: "Dash Co", email: `${unique("dash")}@example.com`, password: PASSWORD },
    });
    expect(res.status, res.text).toBe(201);
    expect(Object.keys(res.body.api_keys).sort()).toEqual([
      "live_public",
      "live_secret",
      "test_public",
      "test_secret",
    ]);
    expect(res.text).not.toContain(cookieValue(res.cookie));
    expect(res.body).not.toHaveProperty("tokens");
    const conflict = await dashboardCall(REGISTER, {
      body: { company_name: "Dash Co", email: res.body.user.email, password: PASSWORD },
    });
    expect(conflict.status).toBe(409);
    expect(conflict.cookie).toBeUndefined();
  });

  it("accepts an invitation with its setup token and starts a session", async () => {
    const tenant = await registerTenant();
    const invited = await call("/api/v1/auth/tenants/users/", {
      token: tenant.owner.access,
      body: { email: `${unique("inv")}@example.com`, role: "developer" },
    });
    const res = await dashboardCall(SETUP, { body: { token: invited.body.setup_token, password: PASSWORD } });
    expect(res.status, res.text).toBe(200);
    expect(res.body.user.role).toBe("developer");
    expect(res.cookie).toMatch(/HttpOnly/);
    expect(
      (await dashboardCall(SETUP, { body: { token: invited.body.setup_token, password: PASSWORD } })).status,
    ).toBe(401);
  });

  it("answers a wrong password in the contract's shape, without a cookie", async () => {
    const tenant = await registerTenant();
    const res = await dashboardCall(SESSION, {
      body: { email: tenant.owner.email, password: "WrongPass123" },
    });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: "unauthenticated", message: "Invalid email or password" });
    expect(res.headers.get("X-Request-Id")).toBe(res.body.request_id);
    expect(res.cookie).toBeUndefined();
  });
});

describe("dashboard sessions refuse cross-site requests (CSRF)", () => {
  const cases: [string, Record<string, string | null>, number, string][] = [
    ["no Origin", { Origin: null }, 403, "forbidden"],
    ["a foreign Origin", { Origin: "https://evil.example" }, 403, "forbidden"],
    ["another origin of the same site", { Origin: "http://api.test:3000" }, 403, "forbidden"],
    ["Sec-Fetch-Site: cross-site", { "Sec-Fetch-Site": "cross-site" }, 403, "forbidden"],
    ["Sec-Fetch-Site: same-site", { "Sec-Fetch-Site": "same-site" }, 403, "forbidden"],
    [
      "a form post (urlencoded)",
      { "Content-Type": "application/x-www-form-urlencoded" },
      415,
      "unsupported_media_type",
    ],
    ["a text/plain post", { "Content-Type": "text/plain" }, 415, "unsupported_media_type"],
    ["no Content-Type", { "Content-Type": null }, 415, "unsupported_media_type"],
  ];

  for (const [label, headers, status, code] of cases) {
    it(`refuses ${label} on sign-in, refresh and sign-out`, async () => {
      const { tenant, refresh } = await signIn();
      const login = await dashboardCall(SESSION, {
        body: { email: tenant.owner.email, password: PASSWORD },
        headers,
      });
      expect(login.status, login.text).toBe(status);
      expect(login.body.error).toBe(code);
      expect(login.cookie).toBeUndefined();
      const rotated = await dashboardCall(REFRESH, { cookie: refresh, headers });
      expect(rotated.status).toBe(status);
      expect(rotated.cookie).toBeUndefined();
      const out = await dashboardCall(SESSION, { method: "DELETE", cookie: refresh, headers });
      expect(out.status).toBe(status);
      // Nothing was consumed or revoked: the cookie still works from the right origin.
      expect((await dashboardCall(REFRESH, { cookie: refresh })).status).toBe(200);
    });
  }

  it("accepts the PUBLIC_BASE_URL origin", async () => {
    const { tenant } = await signIn();
    const res = await dashboardCall(SESSION, {
      body: { email: tenant.owner.email, password: PASSWORD },
      headers: { Origin: "http://localhost:8787" },
    });
    expect(res.status).toBe(200);
  });
});

describe("the dashboard session routes in /openapi.json", () => {
  it("documents every route and the cookie scheme", async () => {
    const doc = await call("/openapi.json");
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining([SESSION, REFRESH, REGISTER, SETUP]));
    expect(Object.keys(doc.body.paths[SESSION]).sort()).toEqual(["delete", "post"]);
    expect(doc.body.components.securitySchemes.dashboardSession).toMatchObject({
      in: "cookie",
      name: COOKIE_NAME,
    });
    expect(doc.body.components.schemas.DashboardSession).toBeDefined();
  });
});
