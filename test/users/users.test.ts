import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  ALL_ROLES,
  call,
  expectError,
  freshIp,
  PASSWORD,
  registerTeam,
  registerTenant,
  unique,
} from "../harness";
import { platformPlan, subscribed } from "../platform-billing/helpers";

const USERS = "/api/v1/auth/tenants/users/";

describe("tenant users", () => {
  it("lists users to every role of the tenant, and only that tenant's", async () => {
    const team = await registerTeam();
    await registerTeam();
    for (const role of ALL_ROLES) {
      const res = await call(USERS, { token: team.tokens[role] });
      expect(res.status).toBe(200);
      expect(res.body.count).toBe(4);
      expect(res.body.users.map((u: { role: string }) => u.role).sort()).toEqual([...ALL_ROLES].sort());
    }
  });

  it("only the owner invites, changes roles and removes users", async () => {
    const team = await registerTeam();
    for (const role of ["admin", "developer", "billing"] as const) {
      const token = team.tokens[role];
      expectError(
        await call(USERS, {
          token,
          body: { email: `${unique()}@example.com`, role: "developer", password: PASSWORD },
        }),
        403,
        "forbidden",
      );
      expectError(
        await call(`${USERS}${team.userIds.billing}/`, { token, method: "PATCH", body: { role: "admin" } }),
        403,
        "forbidden",
      );
      expectError(
        await call(`${USERS}${team.userIds.billing}/`, { token, method: "DELETE" }),
        403,
        "forbidden",
      );
    }
  });

  it("changing a role takes effect on the user's next request", async () => {
    const team = await registerTeam();
    const promoted = await call(`${USERS}${team.userIds.developer}/`, {
      token: team.tokens.owner,
      method: "PATCH",
      body: { role: "owner" },
    });
    expect(promoted.status).toBe(200);
    expect(promoted.body.user.role).toBe("owner");
    const audit = await env.DB.prepare(
      "SELECT action, actor_id, metadata FROM audit_log WHERE target_id = ? AND action = 'user.role_changed'",
    )
      .bind(team.userIds.developer)
      .all<{ action: string; actor_id: string; metadata: string }>();
    expect(audit.results).toHaveLength(1);
    expect(audit.results[0]?.actor_id).toBe(team.userIds.owner);
    expect(JSON.parse(audit.results[0]?.metadata ?? "{}")).toEqual({
      from_role: "developer",
      to_role: "owner",
    });
    // The developer's existing access token now acts as an owner.
    const invite = await call(USERS, {
      token: team.tokens.developer,
      body: { email: `${unique()}@example.com`, role: "billing", password: PASSWORD },
    });
    expect(invite.status).toBe(201);
  });

  it("the last owner can be neither demoted nor removed", async () => {
    const tenant = await registerTenant();
    const url = `${USERS}${tenant.owner.id}/`;
    expectError(
      await call(url, { token: tenant.owner.access, method: "PATCH", body: { role: "admin" } }),
      409,
      "conflict",
    );
    expectError(await call(url, { token: tenant.owner.access, method: "DELETE" }), 409, "conflict");
    const audit = await env.DB.prepare("SELECT count(*) AS n FROM audit_log WHERE target_id = ?")
      .bind(tenant.owner.id)
      .first<{ n: number }>();
    expect(audit?.n).toBe(0);
  });

  it("an owner invited but not signed up yet is not the other owner the last one needs", async () => {
    const tenant = await registerTenant();
    const url = `${USERS}${tenant.owner.id}/`;
    const invited = await call(USERS, {
      token: tenant.owner.access,
      body: { email: `${unique("co-owner")}@example.com`, role: "owner" },
    });
    expect(invited.status).toBe(201);
    expect(invited.body.user.has_password).toBe(false);
    // Until the invitee sets a password nobody else can sign in as an owner (and there is no
    // password reset): demoting or removing the one who can would leave the tenant without one.
    expectError(
      await call(url, { token: tenant.owner.access, method: "PATCH", body: { role: "admin" } }),
      409,
      "conflict",
    );
    expectError(await call(url, { token: tenant.owner.access, method: "DELETE" }), 409, "conflict");
    const me = await call("/api/v1/auth/tenants/me/", { token: tenant.owner.access });
    expect(me.body.role).toBe("owner");

    const setup = await call(`${USERS}setup/`, {
      body: { token: invited.body.setup_token, password: PASSWORD },
      headers: { "CF-Connecting-IP": freshIp() },
    });
    expect(setup.status).toBe(200);
    const demoted = await call(url, { token: tenant.owner.access, method: "PATCH", body: { role: "admin" } });
    expect(demoted.status, JSON.stringify(demoted.body)).toBe(200);
    expect(demoted.body.user.role).toBe("admin");
  });

  it("two owners demoting each other at once leave one owner", async () => {
    const team = await registerTeam();
    await call(`${USERS}${team.userIds.admin}/`, {
      token: team.tokens.owner,
      method: "PATCH",
      body: { role: "owner" },
    });
    const results = await Promise.all([
      call(`${USERS}${team.userIds.owner}/`, {
        token: team.tokens.admin,
        method: "PATCH",
        body: { role: "admin" },
      }),
      call(`${USERS}${team.userIds.admin}/`, {
        token: team.tokens.owner,
        method: "PATCH",
        body: { role: "admin" },
      }),
    ]);
    const owners = await env.DB.prepare(
      "SELECT count(*) AS n FROM users WHERE tenant_id = ? AND role = 'owner'",
    )
      .bind(team.tenantId)
      .first<{ n: number }>();
    expect(owners?.n).toBe(1);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
  });

  it("a user read as a non-owner but promoted meanwhile is moved off owner or removed only if another owner remains", async () => {
    // At once: the admin is promoted to owner, the first owner steps down to admin (allowed: the
    // admin is an owner by then), and the admin, read as an admin by the third request, is made a
    // developer or removed. The third must not leave the tenant without an owner. The removal starts
    // after 0 to 2 round trips to /health, which moves its reads and its delete among the others'.
    const thirds = [["demote", 0] as const, ...[0, 1, 2].map((trips) => ["remove", trips] as const)];
    for (const [third, trips] of thirds) {
      const team = await registerTeam();
      const url = (id: string) => `${USERS}${id}/`;
      const token = team.tokens.owner;
      const results = await Promise.all([
        call(url(team.userIds.admin), { token, method: "PATCH", body: { role: "owner" } }),
        call(url(team.userIds.owner), { token, method: "PATCH", body: { role: "admin" } }),
        (async () => {
          if (third === "demote") {
            return call(url(team.userIds.admin), { token, method: "PATCH", body: { role: "developer" } });
          }
          for (let i = 0; i < trips; i++) await call("/health");
          return call(url(team.userIds.admin), { token, method: "DELETE" });
        })(),
      ]);
      const owners = await env.DB.prepare(
        "SELECT count(*) AS n FROM users WHERE tenant_id = ? AND role = 'owner'",
      )
        .bind(team.tenantId)
        .first<{ n: number }>();
      const statuses = results.map((r) => r.status);
      expect(owners?.n, `${third} after ${trips}: ${JSON.stringify(statuses)}`).toBe(1);
    }
  });

  it("role changes at once: each audit record's from_role is the role it replaced, and a removal names the role removed", async () => {
    const team = await registerTeam();
    const url = `${USERS}${team.userIds.developer}/`;
    const token = team.tokens.owner;
    const roles = ["billing", "admin", "developer", "billing", "admin", "developer", "billing", "admin"];
    const changes = await Promise.all(
      roles.map((role) => call(url, { token, method: "PATCH", body: { role } })),
    );
    expect(changes.map((r) => r.status)).toEqual(roles.map(() => 200));
    const [removal, late] = await Promise.all([
      call(url, { token, method: "DELETE" }),
      call(url, { token, method: "PATCH", body: { role: "billing" } }),
    ]);
    expect(removal.status).toBe(200);
    expect([200, 404]).toContain(late.status);

    const { results } = await env.DB.prepare(
      "SELECT action, metadata FROM audit_log WHERE target_id = ? AND action != 'user.invited' ORDER BY rowid",
    )
      .bind(team.userIds.developer)
      .all<{ action: string; metadata: string }>();
    const records = results.map((r) => ({ action: r.action, ...JSON.parse(r.metadata) }));
    const removed = records.pop();
    let role = "developer";
    for (const record of records) {
      expect(record, JSON.stringify(records)).toMatchObject({ from_role: role });
      expect(record.action).toBe(record.to_role === role ? "user.updated" : "user.role_changed");
      role = record.to_role;
    }
    expect(records.length).toBe(roles.length + (late.status === 200 ? 1 : 0));
    expect(removed).toEqual({ action: "user.removed", role });
  });

  it("a user removed by a concurrent request is not found (404), not a last-owner conflict", async () => {
    const team = await registerTeam();
    const url = `${USERS}${team.userIds.developer}/`;
    const token = team.tokens.owner;
    const removals = await Promise.all([
      call(url, { token, method: "DELETE" }),
      call(url, { token, method: "DELETE" }),
    ]);
    expect(removals.map((r) => r.status).sort()).toEqual([200, 404]);
    expectError(removals.find((r) => r.status === 404) ?? removals[0], 404, "not_found");
    // A change racing a removal finds the user or answers 404, never 409.
    const other = `${USERS}${team.userIds.billing}/`;
    const [removed, changed] = await Promise.all([
      call(other, { token, method: "DELETE" }),
      call(other, { token, method: "PATCH", body: { role: "admin" } }),
    ]);
    expect(removed.status).toBe(200);
    expect([200, 404]).toContain(changed.status);
  });

  it("a removed user's tokens stop working at once", async () => {
    const team = await registerTeam();
    const removed = await call(`${USERS}${team.userIds.billing}/`, {
      token: team.tokens.owner,
      method: "DELETE",
    });
    expect(removed.status).toBe(200);
    expectError(
      await call("/api/v1/auth/tenants/me/", { token: team.tokens.billing }),
      401,
      "unauthenticated",
    );
  });

  it("another tenant's user is not found (404), never revealed", async () => {
    const mine = await registerTeam();
    const other = await registerTeam();
    const url = `${USERS}${other.userIds.developer}/`;
    expectError(
      await call(url, { token: mine.tokens.owner, method: "PATCH", body: { role: "admin" } }),
      404,
      "not_found",
    );
    expectError(await call(url, { token: mine.tokens.owner, method: "DELETE" }), 404, "not_found");
  });

  it("an invite without a password hands out a one-time setup token", async () => {
    const tenant = await registerTenant();
    const email = `${unique("invitee")}@example.com`;
    const invited = await call(USERS, { token: tenant.owner.access, body: { email, role: "developer" } });
    expect(invited.status).toBe(201);
    expect(invited.body.setup_token).toMatch(/^ust_[0-9A-Za-z]{40}$/);
    expect(invited.body.user.has_password).toBe(false);

    const cannotLogin = await call("/api/v1/auth/tenants/login/", {
      body: { email, password: PASSWORD },
      headers: { "CF-Connecting-IP": freshIp() },
    });
    expect(cannotLogin.status).toBe(401);

    const setup = await call(`${USERS}setup/`, {
      body: { token: invited.body.setup_token, password: PASSWORD },
    });
    expect(setup.status).toBe(200);
    expect(setup.body.user).toMatchObject({ email, role: "developer", has_password: true });
    expect((await call("/api/v1/auth/tenants/me/", { token: setup.body.tokens.access })).status).toBe(200);

    const reused = await call(`${USERS}setup/`, {
      body: { token: invited.body.setup_token, password: "OtherPass1234" },
    });
    expectError(reused, 401, "unauthenticated");
    const stored = await env.DB.prepare("SELECT setup_token_hash FROM users WHERE email = ?")
      .bind(email)
      .first<{ setup_token_hash: string | null }>();
    expect(stored?.setup_token_hash).toBeNull();
    // Accepting the invitation is on the tenant's record, once: the reuse wrote nothing.
    const records = await env.DB.prepare(
      "SELECT actor_id, target_id, metadata FROM audit_log WHERE tenant_id = ? AND action = 'user.setup_completed'",
    )
      .bind(tenant.tenantId)
      .all<{ actor_id: string; target_id: string; metadata: string }>();
    expect(records.results).toEqual([
      { actor_id: invited.body.user.id, target_id: invited.body.user.id, metadata: '{"role":"developer"}' },
    ]);
  });

  it("refuses a duplicate email, a bad role and a weak password", async () => {
    const tenant = await registerTenant();
    const token = tenant.owner.access;
    expectError(
      await call(USERS, { token, body: { email: tenant.owner.email, role: "admin", password: PASSWORD } }),
      409,
      "conflict",
    );
    expectError(
      await call(USERS, { token, body: { email: `${unique()}@x.io`, role: "superuser" } }),
      400,
      "validation_error",
    );
    expectError(
      await call(USERS, { token, body: { email: `${unique()}@x.io`, role: "admin", password: "weak" } }),
      400,
      "validation_error",
    );
  });
});

describe("invitations refused for a taken email", () => {
  // An email is one login across tenants: a refused invite tells that the email has an account
  // somewhere, so refusals are counted like failed registrations (10 an hour, per tenant).
  it("another tenant's user email probed by invite: 409 ten times, then 429; invitations that succeed do not count", async () => {
    const victim = await registerTenant();
    const tenant = await registerTenant();
    const invite = (email: string) =>
      call(USERS, {
        token: tenant.owner.access,
        body: { email, role: "developer" },
        headers: { "CF-Connecting-IP": freshIp() },
      });
    expect((await invite(`${unique("new")}@example.com`)).status).toBe(201);
    for (let i = 0; i < 10; i++) expectError(await invite(victim.owner.email), 409, "conflict");
    const locked = await invite(victim.owner.email);
    expectError(locked, 429, "rate_limited");
    expect(Number(locked.headers.get("Retry-After"))).toBeGreaterThan(0);
    // Locked for a free email too: the answer no longer tells the two apart.
    expectError(await invite(`${unique("free")}@example.com`), 429, "rate_limited");
  });

  it("a team invited at once is not throttled: eleven invitations of free addresses together all succeed", async () => {
    const tenant = await registerTenant();
    await subscribed(tenant.owner.access, (await platformPlan("pro", { users: null })).id);
    const invite = () =>
      call(USERS, {
        token: tenant.owner.access,
        body: { email: `${unique("team")}@example.com`, role: "developer" },
      });
    const answers = await Promise.all(Array.from({ length: 11 }, invite));
    expect(answers.map((res) => res.status)).toEqual(Array(11).fill(201));
    expect((await invite()).status).toBe(201);
  });
});

describe("the users limit of the tenant's platform tier", () => {
  it("refuses the user past the tier's limit with 402 naming it", async () => {
    const team = await registerTeam();
    const fifth = await call(USERS, {
      token: team.tokens.owner,
      body: { email: `${unique()}@example.com`, role: "billing", password: PASSWORD },
    });
    expect(fifth.status).toBe(201);
    const sixth = await call(USERS, {
      token: team.tokens.owner,
      body: { email: `${unique()}@example.com`, role: "billing", password: PASSWORD },
    });
    expect(expectError(sixth, 402, "plan_limit_reached").message).toContain("limit: users");
  });
});
