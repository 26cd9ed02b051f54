import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { billingTenant } from "./billing";
import { eventually } from "./eventually";
import { call, expectError, registerTenant } from "./harness";
import { failNext, stripeRequests } from "./stripe-double";

const REGISTER = "/api/v1/auth/tenants/register/";

describe("the app's contract for every route", () => {
  it("answers an unknown route with 404 in the error shape", async () => {
    expectError(await call("/nope"), 404, "not_found");
    expectError(await call("/api/v1/auth/tenants/unknown/", { method: "POST", body: {} }), 404, "not_found");
  });

  it("treats the trailing slash as optional", async () => {
    const tenant = await registerTenant();
    for (const path of ["/api/v1/auth/tenants/me", "/api/v1/auth/tenants/me/"]) {
      expect((await call(path, { token: tenant.owner.access })).status).toBe(200);
    }
    expect((await call("/health/")).status).toBe(200);
  });

  it("answers malformed JSON with 400 validation_error, its details naming the body", async () => {
    const res = await call(REGISTER, { rawBody: '{"company_name": "x",' });
    expectError(res, 400, "validation_error");
    expect(res.body.details).toEqual([{ field: "body", message: expect.any(String) }]);
  });

  it("answers a body that is not JSON at all with 415 in the error shape", async () => {
    const res = await call(REGISTER, {
      rawBody: "company_name=x",
      headers: { "Content-Type": "text/plain" },
    });
    expectError(res, 415, "unsupported_media_type");
  });

  it("answers a body over 1 MB with 413 and writes nothing", async () => {
    const before = await env.DB.prepare("SELECT count(*) AS n FROM tenants").first<{ n: number }>();
    const res = await call(REGISTER, {
      body: {
        company_name: "x".repeat(1024 * 1024 + 10),
        email: "big@example.com",
        password: "BigPassword123",
      },
    });
    expectError(res, 413, "payload_too_large");
    const after = await env.DB.prepare("SELECT count(*) AS n FROM tenants").first<{ n: number }>();
    expect(after?.n).toBe(before?.n);
  });

  it("runs a write to its end when its client goes away halfway", async () => {
    // The runtime cancels what a request has not finished when its client disconnects: here the
    // customer was made at Stripe and its row never written.
    const tenant = await billingTenant();
    await failNext({ method: "POST", path: "/v1/customers", account: tenant.account, delay_ms: 500 });
    const email = `gone${Date.now()}@example.com`;
    const client = new AbortController();
    const answer = exports.default
      .fetch("http://api.test/api/v1/auth/customers/", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-API-Key": tenant.keys.test_secret },
        body: JSON.stringify({ email, name: "Gone Away" }),
        signal: client.signal,
      })
      .catch((error: unknown) => error);
    await eventually(async () =>
      expect(await stripeRequests({ path: "/v1/customers", account: tenant.account })).toContainEqual(
        expect.objectContaining({ method: "POST", params: expect.objectContaining({ email }) }),
      ),
    );
    client.abort();
    expect(await answer).toMatchObject({ name: "AbortError" });
    const row = await eventually(async () => {
      const found = await env.DB.prepare("SELECT stripe_customer_id FROM customers WHERE email = ?")
        .bind(email)
        .first<{ stripe_customer_id: string }>();
      expect(found).not.toBeNull();
      return found;
    });
    expect(row?.stripe_customer_id).toMatch(/^cus_/);
  });

  it("sets security headers and a request id on every response", async () => {
    const res = await call("/health");
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(res.headers.get("Strict-Transport-Security")).toBeTruthy();
    expect(res.headers.get("X-Frame-Options")).toBeTruthy();
    expect(res.headers.get("X-Request-Id")).toMatch(/.+/);
  });

  it("echoes a caller's X-Request-Id", async () => {
    const res = await call("/nope", { headers: { "X-Request-Id": "req-from-caller-123" } });
    expect(res.body.request_id).toBe("req-from-caller-123");
  });

  it("allows CORS only from configured origins", async () => {
    const allowed = await call("/health", {
      method: "OPTIONS",
      headers: { Origin: "http://localhost:3000", "Access-Control-Request-Method": "POST" },
    });
    expect(allowed.headers.get("Access-Control-Allow-Origin")).toBe("http://localhost:3000");
    const denied = await call("/health", { headers: { Origin: "https://evil.example" } });
    expect(denied.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });

  it("serves the OpenAPI document generated from the schemas, and the docs page", async () => {
    const doc = await call("/openapi.json");
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe("3.1.0");
    const paths = Object.keys(doc.body.paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        "/api/v1/auth/tenants/register",
        "/api/v1/auth/tenants/login",
        "/api/v1/auth/tenants/token/refresh",
        "/api/v1/auth/tenants/me",
        "/api/v1/auth/tenants/users/{id}",
        "/api/v1/auth/tenants/api-keys",
        "/api/v1/auth/tenants/api-keys/regenerate",
        "/api/v1/auth/tenants/api-keys/revoke",
        "/api/v1/auth/tenants/verify",
        "/api/v1/auth/tenants/audit-log",
        "/api/v1/auth/tenants/stripe/connect",
        "/api/v1/auth/tenants/stripe/callback",
        "/api/v1/auth/tenants/stripe/status",
        "/api/v1/auth/tenants/stripe/disconnect",
        "/api/v1/auth/plans",
        "/api/v1/auth/plans/{id}",
        "/api/v1/auth/plans/{id}/duplicate",
        "/api/v1/auth/tenants/webhooks/config",
        "/api/v1/auth/tenants/webhooks/test",
        "/api/v1/auth/tenants/webhooks/deliveries",
        "/api/v1/auth/tenants/webhooks/deliveries/{event_id}",
        "/api/v1/auth/tenants/webhooks/deliveries/{event_id}/resend",
        "/api/v1/auth/tenants/webhooks/recover",
        "/webhooks/stripe",
        "/webhooks/stripe/connect",
        "/api/v1/auth/tenants/subscription",
        "/api/v1/admin/plans",
        "/api/v1/admin/plans/sync",
        "/api/v1/admin/stripe-events",
        "/api/v1/admin/tenants",
      ]),
    );
    expect(doc.body.components.schemas.Error).toBeDefined();
    expect(Object.keys(doc.body.paths["/api/v1/auth/tenants/api-keys/revoke"]).sort()).toEqual([
      "delete",
      "post",
    ]);
    expect(doc.body.components.securitySchemes).toHaveProperty("apiKeyHeader");
    expect(doc.body.paths["/api/v1/auth/tenants/me"].get.responses["401"]).toBeDefined();

    const page = await call("/docs");
    expect(page.status).toBe(200);
    expect(page.body.raw).toContain("/openapi.json");
  });
});
