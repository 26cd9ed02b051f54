import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, expectError, registerTeam, registerTenant } from "../harness";
import { connectTenant, failNext, followToApi, stripeRequests, visit } from "../stripe-double";

const CONNECT = "/api/v1/auth/tenants/stripe/connect/";
const STATUS = "/api/v1/auth/tenants/stripe/status/";
const DISCONNECT = "/api/v1/auth/tenants/stripe/disconnect/";
const CALLBACK = "/api/v1/auth/tenants/stripe/callback/";

describe("Account Links onboarding (default)", () => {
  it("creates a platform-controlled account, links to onboarding, and the return syncs it", async () => {
    const tenant = await registerTenant();
    const before = await call(STATUS, { token: tenant.owner.access });
    expect(before.body).toEqual({
      connected: false,
      status: "not_connected",
      message: "No Stripe account connected",
    });

    const started = await call(CONNECT, { token: tenant.owner.access, method: "POST" });
    expect(started.status).toBe(200);
    expect(started.body).toMatchObject({
      url: expect.stringContaining("/connect/onboarding/acct_"),
      state: expect.stringMatching(/^[0-9A-Za-z]{32}$/),
      redirect_uri: `http://localhost:8787${CALLBACK}`,
      flow: "account_links",
    });
    const [created] = await stripeRequests({ path: "/v1/accounts" }).then((all) =>
      all.filter(
        (r) =>
          r.method === "POST" && r.headers.idempotency_key?.startsWith(`connect-account:${tenant.tenantId}:`),
      ),
    );
    expect(created?.params).toMatchObject({
      controller: { stripe_dashboard: { type: "express" } },
      metadata: { tenant_id: tenant.tenantId },
    });

    const location = await visit(started.body.url);
    expect(location.searchParams.get("state")).toBe(started.body.state);
    const back = await followToApi(location);
    expect(back.status).toBe(200);
    expect(back.body).toMatchObject({
      message: "Stripe account connected successfully",
      account_id: expect.stringMatching(/^acct_/),
      tenant: {
        id: tenant.tenantId,
        stripe_connect_account_id: back.body.account_id,
        stripe_connect_status: "active",
      },
    });

    const status = await call(STATUS, { token: tenant.owner.access });
    expect(status.body).toMatchObject({
      connected: true,
      account_id: back.body.account_id,
      status: "active",
      charges_enabled: true,
      payouts_enabled: true,
      requirements: { currently_due: [], past_due: [] },
      account_details: { details_submitted: true, country: expect.any(String) },
    });
  });

  it("refuses a reused, forged, missing or expired state with 400 invalid_state", async () => {
    const tenant = await registerTenant();
    const started = await call(CONNECT, { token: tenant.owner.access, method: "POST" });
    const location = await visit(started.body.url);
    expect((await followToApi(location)).status).toBe(200);
    const reused = await followToApi(location);
    expect(reused.status).toBe(400);
    expect(reused.body).toMatchObject({
      error: "invalid_state",
      description: expect.stringMatching(/used|expired/),
    });

    for (const query of ["?state=forged0000000000000000000000000", "", "?code=ac_123"]) {
      const res = await call(`${CALLBACK}${query}`);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe("invalid_state");
    }

    const late = await registerTenant();
    const again = await call(CONNECT, { token: late.owner.access, method: "POST" });
    await env.KV.delete(`connect_state:${again.body.state}`); // what the 10-minute TTL does
    const expired = await followToApi(await visit(again.body.url));
    expect(expired.body.error).toBe("invalid_state");
  });

  it("an expired onboarding link (refresh) redirects to a fresh one without spending the state", async () => {
    const tenant = await registerTenant();
    const started = await call(CONNECT, { token: tenant.owner.access, method: "POST" });
    const res = await call(`${CALLBACK}?state=${started.body.state}&refresh=1`);
    expect(res.status).toBe(302);
    expect(res.headers.get("Location")).toContain("/connect/onboarding/acct_");
    expect((await followToApi(await visit(started.body.url))).status).toBe(200);
  });

  it("leaves the tenant untouched when Stripe fails to create the account", async () => {
    const tenant = await registerTenant();
    await failNext({
      path: "/v1/accounts",
      idempotency_key_prefix: `connect-account:${tenant.tenantId}`,
      status: 500,
      times: 3,
    });
    const res = await call(CONNECT, { token: tenant.owner.access, method: "POST" });
    expectError(res, 502, "stripe_error");
    const row = await env.DB.prepare("SELECT stripe_connect_account_id FROM tenants WHERE id = ?")
      .bind(tenant.tenantId)
      .first<{ stripe_connect_account_id: string | null }>();
    expect(row?.stripe_connect_account_id).toBeNull();
  });

  it("is for owners only; every role reads the status", async () => {
    const team = await registerTeam();
    for (const role of ["admin", "developer", "billing"] as const) {
      expectError(await call(CONNECT, { token: team.tokens[role], method: "POST" }), 403, "forbidden");
      expectError(await call(DISCONNECT, { token: team.tokens[role], method: "POST" }), 403, "forbidden");
      expect((await call(STATUS, { token: team.tokens[role] })).status).toBe(200);
    }
    expectError(await call(STATUS), 401, "unauthenticated");
  });
});

describe("legacy OAuth onboarding", () => {
  it("exchanges the code, connects, and disconnect deauthorizes at Stripe", async () => {
    const tenant = await registerTenant();
    const started = await call(`${CONNECT}?flow=oauth`, { token: tenant.owner.access });
    expect(started.status).toBe(200);
    const url = new URL(started.body.url);
    expect(url.pathname).toBe("/oauth/authorize");
    expect(url.searchParams.get("client_id")).toBe("ca_test_client");
    expect(url.searchParams.get("state")).toBe(started.body.state);

    const back = await followToApi(await visit(started.body.url));
    expect(back.status).toBe(200);
    const accountId = back.body.account_id;
    expect(back.body.tenant.stripe_connect_status).toBe("active");

    const off = await call(DISCONNECT, { token: tenant.owner.access, method: "DELETE" });
    expect(off.body).toEqual({
      message: "Stripe account disconnected successfully",
      tenant: { id: tenant.tenantId, stripe_connect_account_id: null, stripe_connect_status: "disconnected" },
    });
    const deauth = await stripeRequests({ path: "/oauth/deauthorize" });
    expect(deauth.some((r) => r.params.stripe_user_id === accountId)).toBe(true);
    expect((await call(STATUS, { token: tenant.owner.access })).body.connected).toBe(false);
    expectError(
      await call(DISCONNECT, { token: tenant.owner.access, method: "POST" }),
      409,
      "stripe_not_connected",
    );
  });

  it("answers the seed's {error, description} body when the user denies access", async () => {
    const tenant = await registerTenant();
    const started = await call(CONNECT, { token: tenant.owner.access, body: { flow: "oauth" } });
    const back = await followToApi(await visit(`${started.body.url}&deny=1`));
    expect(back.status).toBe(400);
    expect(back.body).toMatchObject({ error: "access_denied", description: expect.any(String) });
    const row = await env.DB.prepare("SELECT stripe_connect_account_id FROM tenants WHERE id = ?")
      .bind(tenant.tenantId)
      .first<{ stripe_connect_account_id: string | null }>();
    expect(row?.stripe_connect_account_id).toBeNull();
  });
});

describe("disconnect of a platform-controlled account", () => {
  it("detaches without deauthorizing, and a new connect starts over", async () => {
    const tenant = await registerTenant();
    const accountId = await connectTenant(tenant.owner.access);
    const off = await call(DISCONNECT, { token: tenant.owner.access, method: "POST" });
    expect(off.status).toBe(200);
    const deauth = await stripeRequests({ path: "/oauth/deauthorize" });
    expect(deauth.some((r) => r.params.stripe_user_id === accountId)).toBe(false);
    expect((await call(CONNECT, { token: tenant.owner.access, method: "POST" })).status).toBe(200);
  });
});
