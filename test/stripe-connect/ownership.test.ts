import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, expectError, registerTenant } from "../harness";
import { connectTenant, deauthorizeAtStripe, followToApi, stripeRequests, visit } from "../stripe-double";

const CONNECT = "/api/v1/auth/tenants/stripe/connect/";

/** Runs the legacy OAuth flow for a tenant, connecting `account` when given. */
async function oauthConnect(ownerToken: string, account?: string) {
  const started = await call(CONNECT, { token: ownerToken, body: { flow: "oauth" } });
  expect(started.status, JSON.stringify(started.body)).toBe(200);
  return followToApi(await visit(`${started.body.url}${account ? `&account=${account}` : ""}`));
}

describe("a Stripe account belongs to at most one tenant", () => {
  it("connecting an account another tenant holds is 409 account_already_connected (OAuth)", async () => {
    const first = await registerTenant();
    const connected = await oauthConnect(first.owner.access);
    expect(connected.status).toBe(200);
    const account = connected.body.account_id as string;

    const second = await registerTenant();
    const taken = await oauthConnect(second.owner.access, account);
    const body = expectError(taken, 409, "account_already_connected");
    expect(body.description).toBe(body.message);
    const row = await env.DB.prepare("SELECT stripe_connect_account_id AS a FROM tenants WHERE id = ?")
      .bind(second.tenantId)
      .first<{ a: string | null }>();
    expect(row?.a).toBeNull();
  });

  it("two tenants connecting one account at once: exactly one holds it", async () => {
    const owner = await registerTenant();
    const account = (await oauthConnect(owner.owner.access)).body.account_id as string;
    await call("/api/v1/auth/tenants/stripe/disconnect/", { token: owner.owner.access, method: "POST" });
    const tenants = await Promise.all([registerTenant(), registerTenant(), registerTenant()]);
    const answers = await Promise.all(tenants.map((t) => oauthConnect(t.owner.access, account)));
    expect(answers.filter((res) => res.status === 200)).toHaveLength(1);
    for (const res of answers.filter((r) => r.status !== 200))
      expectError(res, 409, "account_already_connected");
    const holders = await env.DB.prepare(
      "SELECT count(*) AS n FROM tenants WHERE stripe_connect_account_id = ?",
    )
      .bind(account)
      .first<{ n: number }>();
    expect(holders?.n).toBe(1);
  });

  it("an Account Links refresh for an account the tenant no longer holds is refused", async () => {
    const tenant = await registerTenant();
    const started = await call(CONNECT, { token: tenant.owner.access, method: "POST" });
    await call("/api/v1/auth/tenants/stripe/disconnect/", { token: tenant.owner.access, method: "POST" });
    const back = await call(`/api/v1/auth/tenants/stripe/callback/?state=${started.body.state}&refresh=1`);
    expect(expectError(back, 400, "invalid_state").description).toMatch(/no longer holds/);
  });
});

describe("STRIPE_CONNECT_BASE is the OAuth host", () => {
  it("sends oauth.token and oauth.deauthorize there, and API calls to STRIPE_API_BASE", async () => {
    const connectHost = new URL(env.STRIPE_CONNECT_BASE ?? "").host;
    const apiHost = new URL(env.STRIPE_API_BASE ?? "").host;
    expect(connectHost).not.toBe(apiHost);
    const tenant = await registerTenant();
    const connected = await oauthConnect(tenant.owner.access);
    expect(connected.status).toBe(200);
    const account = connected.body.account_id as string;
    await call("/api/v1/auth/tenants/stripe/disconnect/", { token: tenant.owner.access, method: "POST" });

    const token = (await stripeRequests({ path: "/oauth/token" })).filter((r) => r.method === "POST");
    const deauth = (await stripeRequests({ path: "/oauth/deauthorize" })).filter(
      (r) => r.params.stripe_user_id === account,
    );
    expect(deauth).toHaveLength(1);
    expect(deauth[0]?.headers.host).toBe(connectHost);
    expect(token.length).toBeGreaterThan(0);
    expect(token.every((r) => r.headers.host === connectHost)).toBe(true);
    const retrieve = (await stripeRequests({ path: `/v1/accounts/${account}` })).filter(
      (r) => r.method === "GET",
    );
    expect(retrieve[0]?.headers.host).toBe(apiHost);
  });

  it("the Account Links flow still connects (API host only)", async () => {
    const tenant = await registerTenant();
    expect(await connectTenant(tenant.owner.access)).toMatch(/^acct_/);
  });
});

describe("an OAuth-connected account that is not active", () => {
  it("is not dropped by starting Account Links unseen (it would stay authorized at Stripe): 409 until disconnected", async () => {
    const tenant = await registerTenant();
    const account = (await oauthConnect(tenant.owner.access)).body.account_id as string;
    // Its requirements fell past due at Stripe, as the mirror records it.
    await env.DB.prepare("UPDATE tenants SET stripe_connect_status = 'restricted' WHERE id = ?")
      .bind(tenant.tenantId)
      .run();
    const accountsBefore = (await stripeRequests({ path: "/v1/accounts" })).length;

    const started = await call(CONNECT, { token: tenant.owner.access, body: { flow: "account_links" } });
    expectError(started, 409, "conflict");
    expect((await stripeRequests({ path: "/v1/accounts" })).length).toBe(accountsBefore);
    const row = await env.DB.prepare(
      "SELECT stripe_connect_account_id AS account, stripe_connect_flow AS flow FROM tenants WHERE id = ?",
    )
      .bind(tenant.tenantId)
      .first();
    expect(row).toEqual({ account, flow: "oauth" });

    // Disconnecting deauthorizes it; then Account Links start.
    const disconnected = await call("/api/v1/auth/tenants/stripe/disconnect/", {
      token: tenant.owner.access,
      method: "POST",
    });
    expect(disconnected.status, JSON.stringify(disconnected.body)).toBe(200);
    const deauthorized = (await stripeRequests({ path: "/oauth/deauthorize" })).filter(
      (r) => r.params.stripe_user_id === account,
    );
    expect(deauthorized).toHaveLength(1);
    const again = await call(CONNECT, { token: tenant.owner.access, body: { flow: "account_links" } });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
  });
});

describe("an OAuth account its owner disconnected at Stripe, the event not here yet", () => {
  it("is detached by a disconnect (Stripe's deauthorize answers it is not connected), and a new start works", async () => {
    const tenant = await registerTenant();
    const account = (await oauthConnect(tenant.owner.access)).body.account_id as string;
    await deauthorizeAtStripe(account);
    const disconnected = await call("/api/v1/auth/tenants/stripe/disconnect/", {
      token: tenant.owner.access,
      method: "POST",
    });
    expect(disconnected.status, JSON.stringify(disconnected.body)).toBe(200);
    expect(disconnected.body.tenant).toMatchObject({ stripe_connect_account_id: null });
    const again = await call(CONNECT, { token: tenant.owner.access, body: { flow: "account_links" } });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
  });
});
