import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { processStripeEvents } from "../../src/modules/platform-billing/billing-runs";
import { connectStatus } from "../../src/modules/stripe-connect/stripe-connect.service";
import { ownerCaller, testContext } from "../context";
import { call, expectError, registerTeam, registerTenant, type TestTenant } from "../harness";
import { CONNECT_SECRET, nowSeconds, processed, sendSigned, stripeEvent } from "../platform-billing/helpers";
import {
  connectTenant,
  deauthorizeAtStripe,
  failNext,
  followToApi,
  onboardAccount,
  restrictAccount,
  stripeObject,
  stripeRequests,
  visit,
} from "../stripe-double";

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

async function oauthConnect(ownerToken: string, account?: string) {
  const started = await call(CONNECT, { token: ownerToken, body: { flow: "oauth" } });
  expect(started.status, JSON.stringify(started.body)).toBe(200);
  return followToApi(await visit(`${started.body.url}${account ? `&account=${account}` : ""}`));
}

const connectRow = (tenantId: string) =>
  env.DB.prepare(
    "SELECT stripe_connect_account_id AS account, stripe_connect_status AS status FROM tenants WHERE id = ?",
  )
    .bind(tenantId)
    .first<{ account: string | null; status: string }>();

const sendConnect = (event: Record<string, unknown>) =>
  sendSigned(event, { path: "/webhooks/stripe/connect", secret: CONNECT_SECRET });

async function deliver(event: { id: string }) {
  expect((await sendConnect(event)).status).toBe(200);
  return (await processed([event.id]))[event.id];
}

const RESTRICTED_SNAPSHOT = {
  object: "account",
  charges_enabled: false,
  payouts_enabled: false,
  details_submitted: true,
  requirements: { disabled_reason: "requirements.past_due" },
};
const ACTIVE_SNAPSHOT = {
  object: "account",
  charges_enabled: true,
  payouts_enabled: true,
  details_submitted: true,
};

describe("Connect events in any order: the account as Stripe has it now", () => {
  it("an older account.updated delivered after a newer one does not roll the status back", async () => {
    const tenant = await registerTenant();
    const account = await connectTenant(tenant.owner.access);
    const t = nowSeconds();
    const older = stripeEvent("account.updated", { id: account, ...RESTRICTED_SNAPSHOT }, t, { account });
    const newer = stripeEvent("account.updated", { id: account, ...ACTIVE_SNAPSHOT }, t + 30, { account });
    await deliver(newer);
    expect((await connectRow(tenant.tenantId))?.status).toBe("active");
    // Stripe retries the older event (its first delivery failed): it arrives last.
    await deliver(older);
    expect((await connectRow(tenant.tenantId))?.status, "after the older event arrived last").toBe("active");
  });

  it("a restriction at Stripe holds when an older account.updated saying active arrives after it", async () => {
    const tenant = await registerTenant();
    const account = await connectTenant(tenant.owner.access);
    const t = nowSeconds();
    const wasActive = stripeEvent("account.updated", { id: account, ...ACTIVE_SNAPSHOT }, t - 30, {
      account,
    });
    const now = await restrictAccount(account);
    await deliver(stripeEvent("account.updated", now, t, { account }));
    expect((await connectRow(tenant.tenantId))?.status).toBe("restricted");
    await deliver(wasActive);
    expect((await connectRow(tenant.tenantId))?.status).toBe("restricted");
  });

  it("a late deauthorization from before a reconnection of the same account leaves the new connection", async () => {
    const tenant = await registerTenant();
    const first = await oauthConnect(tenant.owner.access);
    expect(first.status).toBe(200);
    const account = first.body.account_id as string;
    // The owner disconnects (we deauthorize at Stripe, which sends account.application.deauthorized)
    // and connects the same account again before that event is processed.
    expect((await call(DISCONNECT, { token: tenant.owner.access, method: "POST" })).status).toBe(200);
    const deauthorizedAt = nowSeconds() - 5;
    expect((await oauthConnect(tenant.owner.access, account)).status).toBe(200);
    expect(await connectRow(tenant.tenantId)).toEqual({ account, status: "active" });

    const late = stripeEvent(
      "account.application.deauthorized",
      { id: "ca_test_client", object: "application" },
      deauthorizedAt,
      { account },
    );
    expect((await deliver(late))?.outcome).toMatch(/^ignored/);
    expect(await connectRow(tenant.tenantId)).toEqual({ account, status: "active" });
  });

  it("a deauthorization Stripe confirms (the account is out of reach) detaches the account", async () => {
    const tenant = await registerTenant();
    const account = (await oauthConnect(tenant.owner.access)).body.account_id as string;
    await deauthorizeAtStripe(account); // the owner disconnects us in their Stripe Dashboard
    const event = stripeEvent(
      "account.application.deauthorized",
      { id: "ca_test_client", object: "application" },
      nowSeconds(),
      { account },
    );
    expect(await deliver(event)).toEqual({ status: "processed", outcome: "deauthorized" });
    expect(await connectRow(tenant.tenantId)).toEqual({ account: null, status: "deauthorized" });
  });

  it("an account.updated processed while Stripe is unreachable fails, changes nothing, and its retry applies it", async () => {
    const tenant = await registerTenant();
    const account = await connectTenant(tenant.owner.access);
    const now = await restrictAccount(account);
    // The SDK tries three times.
    await failNext({ method: "GET", path: `/v1/accounts/${account}`, status: 500, times: 3 });
    const event = stripeEvent("account.updated", now, nowSeconds(), { account });
    expect(await deliver(event)).toMatchObject({
      status: "failed",
      outcome: expect.stringMatching(/will retry/),
    });
    expect((await connectRow(tenant.tenantId))?.status).toBe("active");

    expect(await processStripeEvents(testContext(), tenant.tenantId, [event.id])).toEqual({ retry: [] });
    expect((await connectRow(tenant.tenantId))?.status).toBe("restricted");
  });
});

describe("the status read", () => {
  const ownerContext = (tenant: TestTenant, at: number) => {
    const caller = ownerCaller(tenant);
    return testContext({ caller, clock: { now: () => new Date(at) } });
  };

  async function onboardingTenant() {
    const tenant = await registerTenant();
    expect((await call(CONNECT, { token: tenant.owner.access, method: "POST" })).status).toBe(200);
    const account = (await call(STATUS, { token: tenant.owner.access })).body.account_id as string;
    expect(await connectRow(tenant.tenantId)).toEqual({ account, status: "onboarding" });
    return { tenant, account };
  }

  it("answers the status an account.updated stored, not the copy it cached before", async () => {
    const { tenant, account } = await onboardingTenant();
    // The owner finishes onboarding at Stripe but never comes back through our return URL.
    await onboardAccount(account);
    await deliver(
      stripeEvent("account.updated", await stripeObject(`/v1/accounts/${account}`), nowSeconds(), {
        account,
      }),
    );
    expect((await connectRow(tenant.tenantId))?.status).toBe("active");

    const read = await call(STATUS, { token: tenant.owner.access });
    expect({ answered: read.body.status, stored: (await connectRow(tenant.tenantId))?.status }).toEqual({
      answered: "active",
      stored: "active",
    });
  });

  it("never writes its cached copy over the stored status", async () => {
    const { tenant } = await onboardingTenant();
    // An account.updated committed while the read was caching its copy (the race a dropped cache
    // entry leaves open).
    await env.DB.prepare("UPDATE tenants SET stripe_connect_status = 'active' WHERE id = ?")
      .bind(tenant.tenantId)
      .run();
    expect((await call(STATUS, { token: tenant.owner.access })).status).toBe(200);
    expect((await connectRow(tenant.tenantId))?.status).toBe("active");
  });

  it("keeps Stripe's answer 30 s, then asks again", async () => {
    const { tenant, account } = await onboardingTenant();
    const t0 = Date.now();
    expect((await connectStatus(ownerContext(tenant, t0)))?.status).toBe("onboarding");
    await onboardAccount(account);
    expect((await connectStatus(ownerContext(tenant, t0 + 29_000)))?.status, "within 30 s").toBe(
      "onboarding",
    );
    expect((await connectStatus(ownerContext(tenant, t0 + 31_000)))?.status, "after 30 s").toBe("active");
    expect((await connectRow(tenant.tenantId))?.status).toBe("active");
  });
});
