import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, expectError, freshIp, PASSWORD, registerTenant, unique } from "../harness";

const REGISTER = "/api/v1/auth/tenants/register/";
const LOGIN = "/api/v1/auth/tenants/login/";

async function countRows(table: string): Promise<number> {
  const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${table}`).first<{ n: number }>();
  return row?.n ?? 0;
}

describe("POST /register", () => {
  it("creates the tenant, its owner and a session", async () => {
    const email = `${unique("reg")}@Example.com`;
    const res = await call(REGISTER, {
      body: { company_name: "My SaaS", email, password: "SecurePass123!", domain: "MySaaS.com" },
    });
    expect(res.status).toBe(201);
    expect(res.body.tenant).toMatchObject({
      id: expect.stringMatching(/^ten_/),
      company_name: "My SaaS",
      slug: expect.stringMatching(/^my-saas(-\d+)?$/),
      domain: "mysaas.com",
      status: "active",
      subscription_tier: "free",
      stripe_connect_status: "not_connected",
    });
    expect(res.body.user).toMatchObject({ role: "owner", email: email.toLowerCase(), has_password: true });
    expect(res.body.user).not.toHaveProperty("password_hash");
    expect(res.body.tokens).toEqual({ access: expect.any(String), refresh: expect.any(String) });

    const stored = await env.DB.prepare("SELECT password_hash FROM users WHERE email = ?")
      .bind(email.toLowerCase())
      .first<{ password_hash: string }>();
    expect(stored?.password_hash).toMatch(/^pbkdf2_sha256\$/);
    expect(stored?.password_hash).not.toContain("SecurePass123!");
  });

  it("derives unique slugs from the company name", async () => {
    const name = `Slug Test ${unique()}`;
    const first = await registerTenant({ company_name: name });
    const second = await registerTenant({ company_name: name });
    expect(second.slug).toBe(`${first.slug}-2`);
  });

  it("refuses an email that is already registered (409) and writes nothing", async () => {
    const tenant = await registerTenant();
    const before = await countRows("tenants");
    const res = await call(REGISTER, {
      body: { company_name: "Other", email: tenant.owner.email.toUpperCase(), password: PASSWORD },
    });
    expectError(res, 409, "conflict");
    expect(await countRows("tenants")).toBe(before);
  });

  it.each([
    [{}, "company_name"],
    [{ company_name: "X Co", email: "not-an-email", password: PASSWORD }, "email"],
    [{ company_name: "X Co", email: "a@b.co", password: "short" }, "password"],
    [{ company_name: 42, email: "a@b.co", password: PASSWORD }, "company_name"],
    [{ company_name: "X Co", email: "a@b.co", password: PASSWORD, domain: "not a domain" }, "domain"],
  ])("answers 400 validation_error for %j", async (body, field) => {
    const before = await countRows("users");
    const res = await call(REGISTER, { body });
    const error = expectError(res, 400, "validation_error");
    expect(error.details).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
    expect(await countRows("users")).toBe(before);
  });
});

describe("POST /login", () => {
  it("logs in with email and password, case-insensitively on the email", async () => {
    const tenant = await registerTenant();
    const res = await call(LOGIN, {
      body: { email: tenant.owner.email.toUpperCase(), password: PASSWORD },
      headers: { "CF-Connecting-IP": freshIp() },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      tenant: { id: tenant.tenantId },
      user: { id: tenant.owner.id, role: "owner", last_login_at: expect.any(String) },
      tokens: { access: expect.any(String), refresh: expect.any(String) },
    });
  });

  it("gives the same answer for a wrong password and an unknown email", async () => {
    const tenant = await registerTenant();
    const ip = freshIp();
    const wrong = await call(LOGIN, {
      body: { email: tenant.owner.email, password: "WrongPassword99" },
      headers: { "CF-Connecting-IP": ip },
    });
    const unknown = await call(LOGIN, {
      body: { email: `${unique("nobody")}@example.com`, password: "WrongPassword99" },
      headers: { "CF-Connecting-IP": ip },
    });
    expectError(wrong, 401, "unauthenticated");
    expectError(unknown, 401, "unauthenticated");
    expect(wrong.body.message).toBe(unknown.body.message);
  });

  it("throttles an email after 5 failures, even with the right password, with Retry-After", async () => {
    const tenant = await registerTenant();
    for (let i = 0; i < 5; i++) {
      const res = await call(LOGIN, {
        body: { email: tenant.owner.email, password: `Wrong${i}Password` },
        headers: { "CF-Connecting-IP": freshIp() },
      });
      expectError(res, 401, "unauthenticated");
    }
    const locked = await call(LOGIN, {
      body: { email: tenant.owner.email, password: PASSWORD },
      headers: { "CF-Connecting-IP": freshIp() },
    });
    expectError(locked, 429, "rate_limited");
    expect(Number(locked.headers.get("Retry-After"))).toBeGreaterThan(800);
  });

  it("throttles a client IP that fails across many emails, without revealing which exist", async () => {
    const ip = freshIp();
    for (let i = 0; i < 30; i++) {
      const res = await call(LOGIN, {
        body: { email: `${unique("spray")}@example.com`, password: "Whatever123" },
        headers: { "CF-Connecting-IP": ip },
      });
      expect(res.status).toBe(401);
    }
    const tenant = await registerTenant();
    const locked = await call(LOGIN, {
      body: { email: tenant.owner.email, password: PASSWORD },
      headers: { "CF-Connecting-IP": ip },
    });
    expectError(locked, 429, "rate_limited");
    const elsewhere = await call(LOGIN, {
      body: { email: tenant.owner.email, password: PASSWORD },
      headers: { "CF-Connecting-IP": freshIp() },
    });
    expect(elsewhere.status).toBe(200);
  });

  it("answers 400 for a missing password", async () => {
    expectError(await call(LOGIN, { body: { email: "a@b.co" } }), 400, "validation_error");
  });
});
