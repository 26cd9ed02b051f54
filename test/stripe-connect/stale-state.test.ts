import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, expectError, registerTenant } from "../harness";
import { connectTenant, followToApi, stripeRequests, visit } from "../stripe-double";

const CONNECT = "/api/v1/auth/tenants/stripe/connect/";
const DISCONNECT = "/api/v1/auth/tenants/stripe/disconnect/";

const connectRow = (tenantId: string) =>
  env.DB.prepare(
    "SELECT stripe_connect_account_id AS account, stripe_connect_flow AS flow FROM tenants WHERE id = ?",
  )
    .bind(tenantId)
    .first<{ account: string | null; flow: string | null }>();

describe("an Account Links return for an account the tenant no longer holds", () => {
  it("after a disconnect: refused, the tenant stays disconnected", async () => {
    const tenant = await registerTenant();
    const started = await call(CONNECT, { token: tenant.owner.access, method: "POST" });
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    const location = await visit(started.body.url);
    expect((await call(DISCONNECT, { token: tenant.owner.access, method: "POST" })).status).toBe(200);
    const back = await followToApi(location);
    expect(expectError(back, 400, "invalid_state").description).toMatch(/no longer holds/);
    expect(await connectRow(tenant.tenantId)).toEqual({ account: null, flow: null });
  });

  it("after another account was connected by OAuth: refused, the OAuth account stays connected", async () => {
    const tenant = await registerTenant();
    const started = await call(CONNECT, { token: tenant.owner.access, method: "POST" });
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    const location = await visit(started.body.url);
    const oauth = await call(CONNECT, { token: tenant.owner.access, body: { flow: "oauth" } });
    expect(oauth.status, JSON.stringify(oauth.body)).toBe(200);
    const connected = await followToApi(await visit(oauth.body.url));
    expect(connected.status, JSON.stringify(connected.body)).toBe(200);
    const back = await followToApi(location);
    expectError(back, 400, "invalid_state");
    expect(await connectRow(tenant.tenantId)).toEqual({ account: connected.body.account_id, flow: "oauth" });
  });
});

describe("a disconnect sent several times at once", () => {
  it("one disconnects (200), the others find nothing connected (409), one audit record", async () => {
    const tenant = await registerTenant();
    const accountId = await connectTenant(tenant.owner.access);
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => call(DISCONNECT, { token: tenant.owner.access, method: "POST" })),
    );
    expect(answers.map((res) => res.status).sort()).toEqual([200, 409, 409, 409, 409, 409]);
    for (const res of answers.filter((r) => r.status === 409)) expectError(res, 409, "stripe_not_connected");
    const audits = await env.DB.prepare(
      "SELECT count(*) AS n FROM audit_log WHERE tenant_id = ? AND action = 'stripe.disconnected' AND target_id = ?",
    )
      .bind(tenant.tenantId, accountId)
      .first<{ n: number }>();
    expect(audits?.n).toBe(1);
  });
});

describe("a connect start sent several times at once", () => {
  it("makes one account, stores it, and one audit record tells it", async () => {
    const tenant = await registerTenant();
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => call(CONNECT, { token: tenant.owner.access, method: "POST" })),
    );
    expect(answers.map((res) => res.status)).toEqual(Array(6).fill(200));
    const accounts = new Set(answers.map((res) => new URL(res.body.url).pathname.split("/").at(-1)));
    expect(accounts.size).toBe(1);
    const [accountId] = [...accounts];
    expect(await connectRow(tenant.tenantId)).toEqual({ account: accountId, flow: "account_links" });
    const audits = await env.DB.prepare(
      "SELECT count(*) AS n FROM audit_log WHERE tenant_id = ? AND action = 'stripe.account_created'",
    )
      .bind(tenant.tenantId)
      .first<{ n: number }>();
    expect(audits?.n).toBe(1);
    expect((await followToApi(await visit(answers[5]?.body.url))).status).toBe(200);
  });
});

describe("an OAuth return with a code Stripe does not accept", () => {
  it("answers 400 with the seed's {error, description}, not 502, and the tenant stays unconnected", async () => {
    const tenant = await registerTenant();
    const started = await call(CONNECT, { token: tenant.owner.access, body: { flow: "oauth" } });
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    const back = await call(
      `/api/v1/auth/tenants/stripe/callback/?state=${started.body.state}&code=ac_forged`,
    );
    const body = expectError(back, 400, "oauth_error");
    expect(body).toMatchObject({
      stripe_error: "invalid_grant",
      description: expect.stringContaining("ac_forged"),
    });
    expect(await connectRow(tenant.tenantId)).toEqual({ account: null, flow: null });
  });
});

describe("an OAuth return once the tenant holds an active account", () => {
  it("is 409 and does not exchange its code: the active account stays, nothing is authorized unseen", async () => {
    const tenant = await registerTenant();
    const starts = await Promise.all(
      [0, 1].map(() => call(CONNECT, { token: tenant.owner.access, body: { flow: "oauth" } })),
    );
    const [first, second] = await Promise.all(starts.map((start) => visit(start.body.url)));
    if (!first || !second) throw new Error("no redirect");
    const connected = await followToApi(first);
    expect(connected.status, JSON.stringify(connected.body)).toBe(200);
    const before = (await stripeRequests({ path: "/oauth/token" })).length;
    const late = await followToApi(second);
    expect(expectError(late, 409, "conflict").description).toMatch(/disconnect it first/);
    expect((await stripeRequests({ path: "/oauth/token" })).length).toBe(before);
    expect(await connectRow(tenant.tenantId)).toEqual({ account: connected.body.account_id, flow: "oauth" });
  });
});
