import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { call, expectError, registerTeam, type TeamTenant } from "../harness";
import { connectTenant, failNext, stripeObject, stripeRequests } from "../stripe-double";

const PLANS = "/api/v1/auth/plans/";

const pro = (overrides: Record<string, unknown> = {}) => ({
  name: "Pro",
  description: "For growing teams",
  price_cents: 2999,
  currency: "usd",
  billing_interval: "month",
  trial_days: 14,
  features: ["10 projects", "Email support"],
  metadata: { tier: "pro" },
  ...overrides,
});

async function planCount(tenantId: string) {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM plans WHERE tenant_id = ?")
    .bind(tenantId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

let team: TeamTenant;
let account: string;
let keys: Record<string, string>;

beforeAll(async () => {
  team = await registerTeam();
  // These tests make many plans: put the tenant on the unlimited tier (limits are tested below).
  await env.DB.prepare("UPDATE tenants SET subscription_tier = 'pro' WHERE id = ?").bind(team.tenantId).run();
  account = await connectTenant(team.tokens.owner);
  const regenerated = await call("/api/v1/auth/tenants/api-keys/regenerate/", {
    token: team.tokens.owner,
    body: { key_type: "all", confirm: true },
  });
  keys = regenerated.body.keys;
});

describe("POST /plans/", () => {
  it("creates the Product and Price on the connected account, then the plan", async () => {
    const res = await call(PLANS, { token: team.tokens.admin, body: pro() });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({
      id: expect.stringMatching(/^plan_/),
      name: "Pro",
      price_cents: 2999,
      currency: "usd",
      billing_interval: "month",
      trial_days: 14,
      has_trial: true,
      price_display: "$29.99/month",
      features: ["10 projects", "Email support"],
      metadata: { tier: "pro" },
      is_active: true,
      is_visible: true,
      livemode: false,
      stripe_product_id: expect.stringMatching(/^prod_/),
      stripe_price_id: expect.stringMatching(/^price_/),
    });
    const product = await stripeObject(`/v1/products/${res.body.stripe_product_id}`, account);
    expect(product).toMatchObject({
      name: "Pro",
      active: true,
      metadata: { tenant_id: team.tenantId, plan_id: res.body.id },
    });
    const price = await stripeObject(`/v1/prices/${res.body.stripe_price_id}`, account);
    expect(price).toMatchObject({ unit_amount: 2999, currency: "usd", recurring: { interval: "month" } });
    const creates = (await stripeRequests({ account })).filter(
      (r) => r.method === "POST" && r.headers.idempotency_key?.includes(res.body.id),
    );
    expect(creates.map((r) => r.headers.idempotency_key)).toEqual([
      `plan:${res.body.id}:product`,
      `plan:${res.body.id}:price`,
    ]);
  });

  it("formats zero-decimal currencies and validates ISO 4217", async () => {
    const yen = await call(PLANS, {
      token: team.tokens.owner,
      body: pro({ name: "Yen", currency: "JPY", price_cents: 500, billing_interval: "year", trial_days: 0 }),
    });
    expect(yen.body).toMatchObject({ currency: "jpy", price_display: "¥500/year", has_trial: false });
    expectError(
      await call(PLANS, { token: team.tokens.owner, body: pro({ name: "Bad", currency: "usdx" }) }),
      400,
      "validation_error",
    );
    expectError(
      await call(PLANS, { token: team.tokens.owner, body: pro({ name: "Bad", price_cents: 19.99 }) }),
      400,
      "validation_error",
    );
    expectError(
      await call(PLANS, { token: team.tokens.owner, body: pro({ name: "Bad", billing_interval: "week" }) }),
      400,
      "validation_error",
    );
  });

  it("refuses a duplicate name with 409 before calling Stripe", async () => {
    await call(PLANS, { token: team.tokens.owner, body: pro({ name: "Unique" }) });
    const before = (await stripeRequests({ account })).length;
    expectError(
      await call(PLANS, { token: team.tokens.owner, body: pro({ name: "Unique" }) }),
      409,
      "conflict",
    );
    expect((await stripeRequests({ account })).length).toBe(before);
  });

  it("stores nothing when Stripe fails at the product or at the price (the product is archived again)", async () => {
    const count = await planCount(team.tenantId);
    await failNext({ path: "/v1/products", account, method: "POST", status: 500, times: 3 });
    expectError(
      await call(PLANS, { token: team.tokens.owner, body: pro({ name: "Fails at product" }) }),
      502,
      "stripe_error",
    );
    await failNext({
      path: "/v1/prices",
      account,
      method: "POST",
      status: 400,
      error: { type: "invalid_request_error", message: "Invalid currency" },
    });
    const res = await call(PLANS, { token: team.tokens.owner, body: pro({ name: "Fails at price" }) });
    expectError(res, 502, "stripe_error");
    expect(res.body.message).toContain("Invalid currency");
    expect(await planCount(team.tenantId)).toBe(count);
    const products = (await stripeRequests({ account, path: "/v1/products" })).filter(
      (r) => r.params.name === "Fails at price",
    );
    const productUpdates = await stripeRequests({ account });
    expect(products).toHaveLength(1);
    expect(
      productUpdates.some(
        (r) => r.method === "POST" && r.path.startsWith("/v1/products/prod_") && r.params.active === "false",
      ),
    ).toBe(true);
  });

  it("when two creates race on one name, the loser's Stripe objects are archived and it gets 409", async () => {
    const results = await Promise.all(
      [0, 1].map(() => call(PLANS, { token: team.tokens.owner, body: pro({ name: "Raced" }) })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    const products = (await stripeRequests({ account, path: "/v1/products" })).filter(
      (r) => r.method === "POST" && r.params.name === "Raced",
    );
    expect(products.length).toBeGreaterThanOrEqual(1);
  });

  it("needs a connected account and an owner or admin", async () => {
    const other = await registerTeam();
    expectError(await call(PLANS, { token: other.tokens.owner, body: pro() }), 409, "stripe_not_connected");
    for (const role of ["developer", "billing"] as const) {
      expectError(
        await call(PLANS, { token: team.tokens[role], body: pro({ name: role }) }),
        403,
        "forbidden",
      );
    }
    expectError(await call(PLANS, { body: pro() }), 401, "unauthenticated");
  });
});

describe("reading plans", () => {
  it("lists newest first with filters, search and cursor pagination, to every role", async () => {
    for (const [name, interval] of [
      ["List A", "month"],
      ["List B", "year"],
      ["List C", "month"],
    ] as const) {
      expect(
        (await call(PLANS, { token: team.tokens.owner, body: pro({ name, billing_interval: interval }) }))
          .status,
      ).toBe(201);
    }
    const page1 = await call(`${PLANS}?search=List&limit=2`, { token: team.tokens.billing });
    expect(page1.body.data.map((p: { name: string }) => p.name)).toEqual(["List C", "List B"]);
    expect(page1.body.has_more).toBe(true);
    const page2 = await call(`${PLANS}?search=List&limit=2&cursor=${page1.body.next_cursor}`, {
      token: team.tokens.billing,
    });
    expect(page2.body.data.map((p: { name: string }) => p.name)).toEqual(["List A"]);
    const yearly = await call(`${PLANS}?search=List&billing_interval=year`, { token: team.tokens.developer });
    expect(yearly.body.data.map((p: { name: string }) => p.name)).toEqual(["List B"]);
    expectError(
      await call(`${PLANS}?is_active=maybe`, { token: team.tokens.owner }),
      400,
      "validation_error",
    );
  });

  it("publishable keys see only visible, active plans of their mode; live keys see no test plans", async () => {
    const hidden = await call(PLANS, {
      token: team.tokens.owner,
      body: pro({ name: "Hidden", is_visible: false }),
    });
    const gone = await call(PLANS, { token: team.tokens.owner, body: pro({ name: "Gone" }) });
    await call(`${PLANS}${gone.body.id}/`, { token: team.tokens.owner, method: "DELETE" });

    const publicList = await call(`${PLANS}?limit=100`, {
      headers: { "X-API-Key": keys.test_public as string },
    });
    expect(publicList.status).toBe(200);
    const names = publicList.body.data.map((p: { name: string }) => p.name);
    expect(names).toContain("Pro");
    expect(names).not.toContain("Hidden");
    expect(names).not.toContain("Gone");
    expectError(
      await call(`${PLANS}${hidden.body.id}/`, { headers: { "X-API-Key": keys.test_public as string } }),
      404,
      "not_found",
    );

    const secretList = await call(`${PLANS}?limit=100`, {
      headers: { "X-API-Key": keys.test_secret as string },
    });
    expect(secretList.body.data.map((p: { name: string }) => p.name)).toContain("Hidden");
    const live = await call(`${PLANS}?limit=100`, {
      headers: { Authorization: `Bearer ${keys.live_secret}` },
    });
    expect(live.body.data).toEqual([]);
    expectError(
      await call(PLANS, {
        headers: { "X-API-Key": keys.test_public as string },
        body: pro({ name: "Via key" }),
      }),
      401,
      "unauthenticated",
    );
  });

  it("another tenant's plan is not found", async () => {
    const mine = await call(PLANS, { token: team.tokens.owner, body: pro({ name: "Mine" }) });
    const other = await registerTeam();
    expectError(await call(`${PLANS}${mine.body.id}/`, { token: other.tokens.owner }), 404, "not_found");
    expectError(
      await call(`${PLANS}${mine.body.id}/`, {
        token: other.tokens.owner,
        method: "PATCH",
        body: { name: "x" },
      }),
      404,
      "not_found",
    );
    expectError(
      await call(`${PLANS}${mine.body.id}/`, { token: other.tokens.owner, method: "DELETE" }),
      404,
      "not_found",
    );
    expectError(
      await call(`${PLANS}${mine.body.id}/duplicate/`, {
        token: other.tokens.owner,
        body: { name: "y", price_cents: 1 },
      }),
      404,
      "not_found",
    );
  });
});

describe("changing plans", () => {
  it("PATCH syncs name, description and metadata to Stripe; price, currency and interval are immutable", async () => {
    const plan = await call(PLANS, {
      token: team.tokens.owner,
      body: pro({ name: "Patchable", metadata: { a: "1", b: "2" } }),
    });
    const res = await call(`${PLANS}${plan.body.id}/`, {
      token: team.tokens.admin,
      method: "PATCH",
      body: { name: "Patched", features: ["More"], metadata: { a: "9" }, is_visible: false },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      name: "Patched",
      features: ["More"],
      metadata: { a: "9" },
      is_visible: false,
      price_cents: 2999,
    });
    const product = await stripeObject(`/v1/products/${plan.body.stripe_product_id}`, account);
    expect(product).toMatchObject({ name: "Patched", metadata: { a: "9", tenant_id: team.tenantId } });
    expect((product.metadata as Record<string, string>).b).toBeUndefined();

    for (const field of [{ price_cents: 1 }, { currency: "eur" }, { billing_interval: "year" }]) {
      const bad = await call(`${PLANS}${plan.body.id}/`, {
        token: team.tokens.owner,
        method: "PATCH",
        body: field,
      });
      expect(expectError(bad, 400, "validation_error").details[0].field).toBe(Object.keys(field)[0]);
    }
  });

  it("a change Stripe rejects leaves the plan unchanged and says so", async () => {
    const plan = await call(PLANS, { token: team.tokens.owner, body: pro({ name: "Stable" }) });
    await failNext({
      path: `/v1/products/${plan.body.stripe_product_id}`,
      account,
      status: 400,
      error: { type: "invalid_request_error", message: "Name too long" },
    });
    const res = await call(`${PLANS}${plan.body.id}/`, {
      token: team.tokens.owner,
      method: "PATCH",
      body: { name: "Renamed" },
    });
    expectError(res, 502, "stripe_error");
    expect(res.body.message).toContain("Name too long");
    expect((await call(`${PLANS}${plan.body.id}/`, { token: team.tokens.owner })).body.name).toBe("Stable");
  });

  it("DELETE deactivates softly and archives the Stripe product", async () => {
    const plan = await call(PLANS, { token: team.tokens.owner, body: pro({ name: "Retiring" }) });
    const res = await call(`${PLANS}${plan.body.id}/`, { token: team.tokens.owner, method: "DELETE" });
    expect(res.body).toMatchObject({ id: plan.body.id, is_active: false });
    expect((await stripeObject(`/v1/products/${plan.body.stripe_product_id}`, account)).active).toBe(false);
    const inactive = await call(`${PLANS}?is_active=false&limit=100`, { token: team.tokens.owner });
    expect(inactive.body.data.map((p: { id: string }) => p.id)).toContain(plan.body.id);
  });

  it("the same DELETE five times at once deactivates once: one plan.deactivated event, one audit record", async () => {
    const plan = await call(PLANS, { token: team.tokens.owner, body: pro({ name: "Retiring twice" }) });
    const answers = await Promise.all(
      Array.from({ length: 5 }, () =>
        call(`${PLANS}${plan.body.id}/`, { token: team.tokens.owner, method: "DELETE" }),
      ),
    );
    for (const answer of answers) expect(answer.body).toMatchObject({ id: plan.body.id, is_active: false });
    const reported = await env.DB.prepare(
      `SELECT (SELECT count(*) FROM webhook_events WHERE tenant_id = ?1 AND type = 'plan.deactivated'
                 AND json_extract(payload, '$.data.object.id') = ?2) AS events,
              (SELECT count(*) FROM audit_log WHERE action = 'plan.deactivated' AND target_id = ?2) AS audits`,
    )
      .bind(team.tenantId, plan.body.id)
      .first();
    expect(reported).toEqual({ events: 1, audits: 1 });
  });

  it("duplicate copies features, metadata and trial with a new name and price, recording the origin", async () => {
    const origin = await call(PLANS, { token: team.tokens.owner, body: pro({ name: "Origin" }) });
    const copy = await call(`${PLANS}${origin.body.id}/duplicate/`, {
      token: team.tokens.owner,
      body: { name: "Origin Annual", price_cents: 29_990, billing_interval: "year" },
    });
    expect(copy.status).toBe(201);
    expect(copy.body).toMatchObject({
      name: "Origin Annual",
      price_cents: 29_990,
      billing_interval: "year",
      trial_days: 14,
      features: origin.body.features,
      metadata: { tier: "pro", duplicated_from: origin.body.id },
    });
    expect(copy.body.stripe_product_id).not.toBe(origin.body.stripe_product_id);
    expectError(
      await call(`${PLANS}${origin.body.id}/duplicate/`, {
        token: team.tokens.owner,
        body: { name: "Origin", price_cents: 1 },
      }),
      409,
      "conflict",
    );
  });
});

describe("plan limits of the tenant's platform tier", () => {
  it("refuses the plan past the tier's limit with 402 naming it; a deactivated plan frees a place", async () => {
    const small = await registerTeam();
    await connectTenant(small.tokens.owner);
    const made = [];
    for (const name of ["One", "Two", "Three"]) {
      const res = await call(PLANS, { token: small.tokens.owner, body: pro({ name }) });
      expect(res.status).toBe(201);
      made.push(res.body.id);
    }
    const fourth = await call(PLANS, { token: small.tokens.owner, body: pro({ name: "Four" }) });
    expect(expectError(fourth, 402, "plan_limit_reached").message).toContain("limit: plans");
    await call(`${PLANS}${made[0]}/`, { token: small.tokens.owner, method: "DELETE" });
    expect((await call(PLANS, { token: small.tokens.owner, body: pro({ name: "Four" }) })).status).toBe(201);
  });
});
