import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, expectError } from "../harness";

async function get(path: string) {
  const res = await exports.default.fetch(`http://api.test${path}`);
  return { status: res.status, headers: res.headers, text: await res.text() };
}

const externalUrl = /(src|href)=["']?(https?:)?\/\//i;

describe("the dashboard's pages (static assets through the Worker)", () => {
  it("serves the single-page shell for every /dashboard path, with a strict CSP", async () => {
    for (const path of [
      "/dashboard",
      "/dashboard/",
      "/dashboard/plans/plan_123",
      "/dashboard/webhooks/deliveries",
    ]) {
      const page = await get(path);
      expect(page.status, path).toBe(200);
      expect(page.headers.get("Content-Type")).toMatch(/^text\/html/);
      const csp = page.headers.get("Content-Security-Policy") ?? "";
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("connect-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain("unsafe-inline");
      expect(page.headers.get("X-Frame-Options")).toBe("DENY");
      expect(page.headers.get("X-Request-Id")).toBeTruthy();
      expect(page.text).toContain('<div id="app">');
      expect(page.text).not.toMatch(externalUrl);
      expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    }
  });

  it("serves the shell's own script and stylesheet; an unknown file is the API's 404", async () => {
    const page = await get("/dashboard/");
    const script = /<script type="module" src="([^"]+)"/.exec(page.text)?.[1] ?? "";
    const style = /<link rel="stylesheet" href="([^"]+)"/.exec(page.text)?.[1] ?? "";
    expect(script).toMatch(/^\/dashboard\/assets\/app-\w+\.js$/);
    const js = await get(script);
    expect(js.status).toBe(200);
    expect(js.headers.get("Content-Type")).toMatch(/javascript/);
    expect((await get(style)).status).toBe(200);
    expectError(await call("/dashboard/assets/missing-123.js"), 404, "not_found");
  });

  it("never lets the dashboard fallback swallow an API path's 404", async () => {
    for (const path of [
      "/api/v1/nope",
      "/api/v1/auth/tenants/nope/",
      "/webhooks/nope",
      "/health/nope",
      "/openapi.json/nope",
      "/dashboards",
      "/nope",
    ]) {
      expectError(await call(path), 404, "not_found");
    }
  });
});

describe("/docs: the API reference from the Worker's own assets", () => {
  it("loads Swagger UI from /docs/assets and the document from /openapi.json, nothing from elsewhere", async () => {
    const page = await get("/docs");
    expect(page.status).toBe(200);
    expect(page.headers.get("Content-Security-Policy")).toContain("script-src 'self'");
    expect(page.headers.get("Content-Security-Policy")).toContain("connect-src 'self'");
    expect(page.text).toContain('data-url="/openapi.json"');
    expect(page.text).not.toMatch(externalUrl);
    const bundle = /<script src="(\/docs\/assets\/swagger-ui-bundle-\w+\.js)"/.exec(page.text)?.[1];
    expect(bundle).toBeDefined();
    const js = await get(bundle ?? "");
    expect(js.status).toBe(200);
    expect(js.text.length).toBeGreaterThan(100_000);
    expect((await get("/docs/")).status).toBe(200);
  });
});
