import { describe, expect, it } from "vitest";
import { type ApiResponse, call, expectError, freshIp, PASSWORD, registerTenant } from "../harness";

const AUTH = "/api/v1/auth/tenants";

function expectLocked(res: ApiResponse) {
  expectError(res, 429, "rate_limited");
  expect(Number(res.headers.get("Retry-After"))).toBeGreaterThan(0);
}

const statuses = (answers: ApiResponse[]) =>
  answers.reduce<Record<number, number>>((counts, res) => {
    counts[res.status] = (counts[res.status] ?? 0) + 1;
    return counts;
  }, {});

describe("throttles hold under parallel attempts", () => {
  it("40 parallel wrong passwords for one email: 5 are checked, the rest are 429, and the right one is locked out", async () => {
    const tenant = await registerTenant();
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        call(`${AUTH}/login/`, {
          body: { email: tenant.owner.email, password: `Wrong${i}Password` },
          headers: { "CF-Connecting-IP": freshIp() },
        }),
      ),
    );
    expect(statuses(answers)).toEqual({ 401: 5, 429: 35 });
    for (const res of answers.filter((r) => r.status === 429)) expectLocked(res);
    expectLocked(
      await call(`${AUTH}/login/`, {
        body: { email: tenant.owner.email, password: PASSWORD },
        headers: { "CF-Connecting-IP": freshIp() },
      }),
    );
  });

  it("a correct password clears the email's count", async () => {
    const tenant = await registerTenant();
    const ip = { "CF-Connecting-IP": freshIp() };
    const wrong = { email: tenant.owner.email, password: "Wrong1Password" };
    for (let i = 0; i < 4; i++)
      expectError(await call(`${AUTH}/login/`, { body: wrong, headers: ip }), 401, "unauthenticated");
    const ok = await call(`${AUTH}/login/`, {
      body: { email: tenant.owner.email, password: PASSWORD },
      headers: ip,
    });
    expect(ok.status).toBe(200);
    for (let i = 0; i < 5; i++)
      expectError(await call(`${AUTH}/login/`, { body: wrong, headers: ip }), 401, "unauthenticated");
    expectLocked(await call(`${AUTH}/login/`, { body: wrong, headers: ip }));
  });

  it("registrations that fail (a taken email) are throttled per IP; successes are not counted", async () => {
    const tenant = await registerTenant();
    const headers = { "CF-Connecting-IP": freshIp() };
    for (let i = 0; i < 3; i++) {
      const ok = await call(`${AUTH}/register/`, {
        body: { company_name: `Fine ${i}`, email: `fine${i}-${Date.now()}@example.com`, password: PASSWORD },
        headers,
      });
      expect(ok.status).toBe(201);
    }
    const taken = { company_name: "Probe", email: tenant.owner.email, password: PASSWORD };
    const answers = await Promise.all(
      Array.from({ length: 15 }, () => call(`${AUTH}/register/`, { body: taken, headers })),
    );
    expect(statuses(answers)).toEqual({ 409: 10, 429: 5 });
    expectLocked(
      await call(`${AUTH}/register/`, {
        body: { company_name: "Late", email: `late-${Date.now()}@example.com`, password: PASSWORD },
        headers,
      }),
    );
  });

  it("invalid refresh tokens are throttled per IP", async () => {
    const headers = { "CF-Connecting-IP": freshIp() };
    const answers = await Promise.all(
      Array.from({ length: 35 }, () =>
        call(`${AUTH}/token/refresh/`, { body: { refresh: "not.a.jwt" }, headers }),
      ),
    );
    expect(statuses(answers)).toEqual({ 401: 30, 429: 5 });
    const tenant = await registerTenant();
    expectLocked(await call(`${AUTH}/token/refresh/`, { body: { refresh: tenant.owner.refresh }, headers }));
  });

  it("wrong current passwords at change-password are throttled per user", async () => {
    const tenant = await registerTenant();
    const attempt = (current: string) =>
      call(`${AUTH}/change-password/`, {
        token: tenant.owner.access,
        body: { current_password: current, new_password: "AnotherHorse77battery" },
      });
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => attempt(`Wrong${i}Password`)));
    expect(statuses(answers)).toEqual({ 400: 5, 429: 3 });
    expectLocked(await attempt(PASSWORD));
  });

  it("invalid setup tokens are throttled per IP", async () => {
    const headers = { "CF-Connecting-IP": freshIp() };
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        call(`${AUTH}/users/setup/`, {
          body: { token: `ust_${"x".repeat(39)}${i}`, password: PASSWORD },
          headers,
        }),
      ),
    );
    expect(statuses(answers)).toEqual({ 401: 10, 429: 2 });
  });
});
