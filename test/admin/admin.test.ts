import { createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { type ApiResponse, call, expectError, registerTenant, unique } from "../harness";
import { failNext, stripeObject, stripeRequests } from "../stripe-double";

const TOKEN = "test-platform-admin-token";
const ADMIN = "/api/v1/admin";

type Fetcher = (request: Request) => Promise<Response>;

/** The Worker's app with other bindings (a broken queue, a missing setting). */
function appWith(bindings: Env): Fetcher {
  const app = createApp();
  return async (request) => app.fetch(request, bindings, createExecutionContext());
}

const fetcher: Fetcher = (request) => exports.default.fetch(request);

interface AdminCallOptions {
  method?: string;
  body?: unknown;
  /** The bearer token; `null` sends no Authorization header. Defaults to the admin token. */
  token?: string | null;
  headers?: Record<string, string>;
  via?: Fetcher;
}

async function admin(path: string, options: AdminCallOptions = {}): Promise<ApiResponse> {
  const headers = new Headers(options.headers);
  const token = options.token === undefined ? TOKEN : options.token;
  if (token !== null && !headers.has("Authorization")) headers.set("Authorization", `Bearer ${token}`);
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  if (body !== undefined) headers.set("Content-Type", "application/json");
  headers.set("CF-Connecting-IP", "198.51.100.77");
  const res = await (options.via ?? fetcher)(
    new Request(`http://api.test${ADMIN}${path}`, {
      method: options.method ?? (body === undefined ? "GET" : "POST"),
      headers,
      body,
    }),
  );
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : {} };
}

const limits = (overrides: Record<string, unknown> = {}) => ({
  api_requests_per_minute: 600,
  api_requests_per_month: 250_000,
  plans: 20,
  webhook_endpoints: 3,
  users: 10,
  ...overrides,
});

const planBody = (id: string, overrides: Record<string, unknown> = {}) => ({
  id,
  name: `Starter ${id}`,
  description: "For small teams",
  tier: "starter",
  price_cents: 2900,
  billing_interval: "month",
  limits: limits(),
  ...overrides,
});

async function createPlan(id: string, overrides: Record<string, unknown> = {}) {
  const res = await admin("/plans", { body: planBody(id, overrides) });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

const sync = (dryRun?: boolean) =>
  admin("/plans/sync", { body: dryRun === undefined ? {} : { dry_run: dryRun } });

type Action = {
  plan_id: string;
  action: string;
  detail: string;
  stripe_product_id?: string;
  stripe_price_id?: string;
};
const actionsOf = (res: ApiResponse, planId: string): Action[] =>
  (res.body.actions as Action[]).filter((a) => a.plan_id === planId);

async function storedPlan(id: string) {
  return env.DB.prepare(
    "SELECT stripe_product_id, stripe_price_id, is_active FROM platform_plans WHERE id = ?",
  )
    .bind(id)
    .first<{ stripe_product_id: string | null; stripe_price_id: string | null }>();
}

async function auditOf(targetId: string) {
  const { results } = await env.DB.prepare(
    "SELECT tenant_id, actor_type, action, metadata FROM audit_log WHERE target_id = ? ORDER BY created_at, rowid",
  )
    .bind(targetId)
    .all<{ tenant_id: string; actor_type: string; action: string; metadata: string | null }>();
  return results;
}

/** Platform-account (no Stripe-Account header) POSTs whose idempotency key belongs to the plan. */
async function platformCreates(planId: string, path: "/v1/products" | "/v1/prices") {
  return (await stripeRequests({ path })).filter(
    (r) =>
      r.method === "POST" &&
      r.path === path &&
      (r.headers.idempotency_key?.startsWith(`platform-plan:${planId}:`) ||
        (r.params.metadata as Record<string, string> | undefined)?.platform_plan_id === planId),
  );
}

describe("authentication", () => {
  const routes: [string, string][] = [
    ["GET", "/plans"],
    ["POST", "/plans"],
    ["GET", "/plans/starter"],
    ["PATCH", "/plans/starter"],
    ["POST", "/plans/sync"],
    ["GET", "/tenants"],
    ["GET", "/tenants/ten_x"],
    ["GET", "/stripe-events"],
    ["GET", "/stripe-events/evt_x"],
    ["POST", "/stripe-events/evt_x/retry"],
  ];

  it("answers 401 without a token on every route, before validating the body", async () => {
    for (const [method, path] of routes) {
      const res = await admin(path, { method, token: null, body: method === "GET" ? undefined : { bad: 1 } });
      expectError(res, 401, "unauthenticated");
    }
  });

  it("answers 401 for a wrong token, whatever its length", async () => {
    for (const token of ["nope", `${TOKEN}x`, TOKEN.replace(/.$/, "X"), TOKEN.toUpperCase()]) {
      expectError(await admin("/plans", { token }), 401, "unauthenticated");
    }
    expectError(
      await admin("/plans", { headers: { Authorization: `Basic ${btoa(`${TOKEN}:`)}` } }),
      401,
      "unauthenticated",
    );
    expectError(
      await admin("/plans", { token: null, headers: { "X-API-Key": TOKEN } }),
      401,
      "unauthenticated",
    );
  });

  it("refuses a tenant user's JWT and a tenant API key with 401", async () => {
    const tenant = await registerTenant();
    expectError(await admin("/tenants", { token: tenant.owner.access }), 401, "unauthenticated");
    const keys = await call("/api/v1/auth/tenants/api-keys/regenerate/", {
      token: tenant.owner.access,
      body: { key_type: "all", confirm: true },
    });
    expect(keys.status).toBe(200);
    expectError(await admin("/tenants", { token: keys.body.keys.live_secret }), 401, "unauthenticated");
    expectError(
      await admin("/tenants", { token: null, headers: { "X-API-Key": keys.body.keys.test_secret } }),
      401,
      "unauthenticated",
    );
  });

  it("fails closed with 503 not_configured when PLATFORM_ADMIN_TOKEN is not set", async () => {
    for (const value of [undefined, "", "  "]) {
      const res = await admin("/plans", { via: appWith({ ...env, PLATFORM_ADMIN_TOKEN: value as string }) });
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({
        error: "not_configured",
        message: "Server configuration error: PLATFORM_ADMIN_TOKEN is not set",
      });
    }
  });

  it("documents every route in /openapi.json with the adminBearer scheme", async () => {
    const res = await fetcher(new Request("http://api.test/openapi.json"));
    const doc = (await res.json()) as {
      paths: Record<
        string,
        Record<string, { tags: string[]; security: unknown; responses: Record<string, unknown> }>
      >;
      components: { securitySchemes: Record<string, unknown> };
    };
    const expected = {
      "/api/v1/admin/plans": ["get", "post"],
      "/api/v1/admin/plans/{id}": ["get", "patch"],
      "/api/v1/admin/plans/sync": ["post"],
      "/api/v1/admin/tenants": ["get"],
      "/api/v1/admin/tenants/{id}": ["get"],
      "/api/v1/admin/stripe-events": ["get"],
      "/api/v1/admin/stripe-events/{id}": ["get"],
      "/api/v1/admin/stripe-events/{id}/retry": ["post"],
    };
    for (const [path, methods] of Object.entries(expected)) {
      expect(Object.keys(doc.paths[path] ?? {}).sort(), path).toEqual(methods);
      for (const method of methods) {
        const op = doc.paths[path]?.[method];
        expect(op?.tags).toEqual(["Platform admin"]);
        expect(op?.security).toEqual([{ adminBearer: [] }]);
        expect(op?.responses["401"]).toBeDefined();
      }
    }
    expect(doc.paths["/api/v1/admin/plans/sync"]?.post?.responses["502"]).toBeDefined();
    expect(doc.components.securitySchemes.adminBearer).toMatchObject({ type: "http", scheme: "bearer" });
  });
});

describe("platform plans", () => {
  it("creates a plan in D1 only, with defaults, and audits it", async () => {
    const id = unique("crt");
    const res = await admin("/plans", {
      body: planBody(id, { currency: " EUR ", limits: limits({ plans: null, users: null }) }),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toEqual({
      id,
      name: `Starter ${id}`,
      description: "For small teams",
      tier: "starter",
      price_cents: 2900,
      currency: "eur",
      billing_interval: "month",
      price_display: "€29.00/month",
      trial_days: 0,
      limits: limits({ plans: null, users: null }),
      is_active: true,
      stripe_product_id: null,
      stripe_price_id: null,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    expect(await platformCreates(id, "/v1/products")).toEqual([]);
    expect(await auditOf(id)).toEqual([
      expect.objectContaining({
        tenant_id: "platform",
        actor_type: "platform_admin",
        action: "platform_plan.created",
      }),
    ]);

    const usd = await createPlan(unique("usd"), { description: undefined, is_active: false });
    expect(usd).toMatchObject({ currency: "usd", description: null, is_active: false });
  });

  it("gets and lists plans, inactive ones included, with an is_active filter", async () => {
    const on = await createPlan(unique("lon"));
    const off = await createPlan(unique("loff"), { is_active: false });
    expect((await admin(`/plans/${on.id}`)).body).toEqual(on);
    expect((await admin(`/plans/${on.id}/`)).status).toBe(200);

    const all = await admin("/plans");
    expect(all.status).toBe(200);
    const ids = all.body.data.map((p: { id: string }) => p.id);
    expect(ids).toEqual(expect.arrayContaining([on.id, off.id]));
    expect(ids).toEqual([...ids].sort());

    const active = (await admin("/plans?is_active=true")).body.data.map((p: { id: string }) => p.id);
    expect(active).toContain(on.id);
    expect(active).not.toContain(off.id);
    const inactive = (await admin("/plans?is_active=false")).body.data.map((p: { id: string }) => p.id);
    expect(inactive).toContain(off.id);
    expect(inactive).not.toContain(on.id);
    expectError(await admin("/plans?is_active=maybe"), 400, "validation_error");
    expectError(await admin("/plans/no-such-plan"), 404, "not_found");
  });

  it("validates the body field by field", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ id: "Starter" }, "id"],
      [{ id: "-starter" }, "id"],
      [{ id: "s" }, "id"],
      [{ id: "x".repeat(41) }, "id"],
      [{ name: " " }, "name"],
      [{ tier: "Pro Tier" }, "tier"],
      [{ price_cents: -1 }, "price_cents"],
      [{ price_cents: 9.5 }, "price_cents"],
      [{ price_cents: "2900" }, "price_cents"],
      [{ currency: "xyz" }, "currency"],
      [{ billing_interval: "week" }, "billing_interval"],
      [{ limits: limits({ api_requests_per_minute: 0 }) }, "limits.api_requests_per_minute"],
      [{ limits: limits({ webhook_endpoints: null }) }, "limits.webhook_endpoints"],
      [{ limits: limits({ users: 2.5 }) }, "limits.users"],
      [{ limits: { api_requests_per_minute: 60 } }, "limits.api_requests_per_month"],
      [{ limits: undefined }, "limits"],
      [{ is_active: "yes" }, "is_active"],
    ];
    for (const [overrides, field] of cases) {
      const body = expectError(
        await admin("/plans", { body: planBody(unique("val"), overrides) }),
        400,
        "validation_error",
      );
      expect(
        body.details.map((d: { field: string }) => d.field),
        JSON.stringify(overrides),
      ).toContain(field);
    }
    expectError(
      await admin("/plans", {
        headers: { "Content-Type": "application/json" },
        body: undefined,
        method: "POST",
      }),
      400,
      "validation_error",
    );
  });

  it("answers 409 for an id that exists", async () => {
    const id = unique("dup");
    await createPlan(id);
    const res = expectError(
      await admin("/plans", { body: planBody(id, { name: "Other" }) }),
      409,
      "conflict",
    );
    expect(res.message).toContain(id);
    expect((await admin(`/plans/${id}`)).body.name).toBe(`Starter ${id}`);
  });

  it("patches name, description, merged limits, price and activity; id and tier are immutable", async () => {
    const id = unique("pat");
    await createPlan(id);
    const res = await admin(`/plans/${id}`, {
      method: "PATCH",
      body: {
        name: "Starter+",
        description: null,
        limits: { users: null, api_requests_per_minute: 1200 },
        price_cents: 3900,
        currency: "GBP",
        billing_interval: "year",
        is_active: false,
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({
      name: "Starter+",
      description: null,
      limits: limits({ users: null, api_requests_per_minute: 1200 }),
      price_cents: 3900,
      currency: "gbp",
      billing_interval: "year",
      price_display: "£39.00/year",
      is_active: false,
      tier: "starter",
    });
    expect((await admin(`/plans/${id}`)).body).toEqual(res.body);
    const audit = await auditOf(id);
    expect(audit.map((a) => a.action)).toEqual(["platform_plan.created", "platform_plan.updated"]);
    expect(JSON.parse(audit[1]?.metadata ?? "{}")).toMatchObject({
      fields: expect.arrayContaining(["name", "limits", "price_cents", "is_active"]),
      previous_price: { price_cents: 2900, currency: "usd", billing_interval: "month" },
    });

    for (const body of [
      { tier: "pro" },
      { id: "other" },
      {},
      { price_cents: -5 },
      { limits: { users: 0 } },
    ]) {
      expectError(await admin(`/plans/${id}`, { method: "PATCH", body }), 400, "validation_error");
    }
    expectError(
      await admin("/plans/no-such-plan", { method: "PATCH", body: { name: "x" } }),
      404,
      "not_found",
    );
    // Nothing to change: no new audit record.
    expect((await admin(`/plans/${id}`, { method: "PATCH", body: { name: "Starter+" } })).status).toBe(200);
    expect(await auditOf(id)).toHaveLength(2);
  });
});

describe("POST /plans/sync", () => {
  const id = unique("sync");
  let productId: string;
  let priceId: string;

  it("dry run: reports what it would create and writes nothing, at Stripe or in D1", async () => {
    await createPlan(id);
    const res = await sync(true);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.dry_run).toBe(true);
    expect(actionsOf(res, id)).toEqual([
      { plan_id: id, action: "create_product", detail: expect.stringContaining(`Starter ${id}`) },
      { plan_id: id, action: "create_price", detail: "$29.00/month" },
    ]);
    expect(await platformCreates(id, "/v1/products")).toEqual([]);
    expect(await platformCreates(id, "/v1/prices")).toEqual([]);
    expect(await storedPlan(id)).toMatchObject({ stripe_product_id: null, stripe_price_id: null });
  });

  it("creates the Product and Price on the platform account and stores their ids", async () => {
    const res = await sync();
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.dry_run).toBe(false);
    const actions = actionsOf(res, id);
    expect(actions).toEqual([
      expect.objectContaining({
        action: "create_product",
        stripe_product_id: expect.stringMatching(/^prod_/),
      }),
      expect.objectContaining({
        action: "create_price",
        stripe_product_id: expect.stringMatching(/^prod_/),
        stripe_price_id: expect.stringMatching(/^price_/),
      }),
    ]);
    productId = actions[0]?.stripe_product_id as string;
    priceId = actions[1]?.stripe_price_id as string;
    const summary = res.body.summary;
    expect(summary.created + summary.updated + summary.archived + summary.unchanged).toBe(
      res.body.actions.length,
    );
    expect(summary.created).toBeGreaterThanOrEqual(2);

    expect(await stripeObject(`/v1/products/${productId}`)).toMatchObject({
      name: `Starter ${id}`,
      description: "For small teams",
      active: true,
      metadata: { platform_plan_id: id, tier: "starter" },
    });
    expect(await stripeObject(`/v1/prices/${priceId}`)).toMatchObject({
      product: productId,
      unit_amount: 2900,
      currency: "usd",
      active: true,
      recurring: { interval: "month" },
      metadata: { platform_plan_id: id },
    });
    const products = await platformCreates(id, "/v1/products");
    const prices = await platformCreates(id, "/v1/prices");
    expect(products.map((r) => r.headers)).toEqual([
      expect.objectContaining({ stripe_account: null, idempotency_key: `platform-plan:${id}:product` }),
    ]);
    expect(prices).toHaveLength(1);
    expect(prices[0]?.headers.stripe_account).toBeNull();
    expect(prices[0]?.headers.idempotency_key).toMatch(
      new RegExp(`^platform-plan:${id}:price:2900:usd:month`),
    );

    expect(await admin(`/plans/${id}`)).toMatchObject({
      body: { stripe_product_id: productId, stripe_price_id: priceId },
    });
  });

  it("a second sync (and a dry run) find the plan unchanged and create nothing", async () => {
    for (const dryRun of [false, true]) {
      const res = await sync(dryRun);
      expect(res.status).toBe(200);
      expect(actionsOf(res, id)).toEqual([
        {
          plan_id: id,
          action: "unchanged",
          detail: "in sync: $29.00/month",
          stripe_product_id: productId,
          stripe_price_id: priceId,
        },
      ]);
    }
    expect(await platformCreates(id, "/v1/products")).toHaveLength(1);
    expect(await platformCreates(id, "/v1/prices")).toHaveLength(1);
  });

  it("a price change replaces the Price and archives the old one; a rename updates the Product", async () => {
    const patched = await admin(`/plans/${id}`, {
      method: "PATCH",
      body: { price_cents: 3900, name: `Starter ${id} v2`, limits: { users: 25 } },
    });
    expect(patched.status).toBe(200);

    const preview = await sync(true);
    expect(actionsOf(preview, id).map((a) => a.action)).toEqual(["update_product", "replace_price"]);
    expect(await platformCreates(id, "/v1/prices")).toHaveLength(1);
    expect(await stripeObject(`/v1/products/${productId}`)).toMatchObject({ name: `Starter ${id}` });

    const res = await sync();
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const [update, replace] = actionsOf(res, id);
    expect(update).toMatchObject({ action: "update_product", stripe_product_id: productId });
    expect(update?.detail).toContain(`"Starter ${id} v2"`);
    expect(replace).toMatchObject({
      action: "replace_price",
      detail: expect.stringContaining("$29.00/month → $39.00/month"),
      stripe_product_id: productId,
      stripe_price_id: expect.stringMatching(/^price_/),
    });
    const newPrice = replace?.stripe_price_id as string;
    expect(newPrice).not.toBe(priceId);

    expect(await stripeObject(`/v1/prices/${priceId}`)).toMatchObject({ active: false, unit_amount: 2900 });
    expect(await stripeObject(`/v1/prices/${newPrice}`)).toMatchObject({
      active: true,
      unit_amount: 3900,
      product: productId,
      recurring: { interval: "month" },
    });
    expect(await stripeObject(`/v1/products/${productId}`)).toMatchObject({ name: `Starter ${id} v2` });
    const keys = (await platformCreates(id, "/v1/prices")).map((r) => r.headers.idempotency_key);
    expect(keys[1]).toMatch(new RegExp(`^platform-plan:${id}:price:3900:usd:month:.*replaces:${priceId}$`));
    expect(await storedPlan(id)).toMatchObject({ stripe_product_id: productId, stripe_price_id: newPrice });
    priceId = newPrice;

    // Limits alone never touch Stripe.
    await admin(`/plans/${id}`, { method: "PATCH", body: { limits: { users: 30 } } });
    expect(actionsOf(await sync(), id).map((a) => a.action)).toEqual(["unchanged"]);
  });

  it("archives the product of a deactivated plan, once, and reactivates it with the plan", async () => {
    await admin(`/plans/${id}`, { method: "PATCH", body: { is_active: false } });
    const res = await sync();
    expect(actionsOf(res, id)).toEqual([
      expect.objectContaining({ action: "archive_product", stripe_product_id: productId }),
    ]);
    expect(res.body.summary.archived).toBeGreaterThanOrEqual(1);
    expect(await stripeObject(`/v1/products/${productId}`)).toMatchObject({ active: false });

    expect(actionsOf(await sync(), id)).toEqual([
      expect.objectContaining({ action: "unchanged", detail: "inactive; product already archived" }),
    ]);

    await admin(`/plans/${id}`, { method: "PATCH", body: { is_active: true } });
    expect(actionsOf(await sync(), id)).toEqual([
      expect.objectContaining({ action: "update_product", detail: expect.stringContaining("reactivated") }),
    ]);
    expect(await stripeObject(`/v1/products/${productId}`)).toMatchObject({ active: true });
    expect(await storedPlan(id)).toMatchObject({ stripe_product_id: productId, stripe_price_id: priceId });
  });

  it("a Stripe failure part-way answers 502, keeps what was done, and a rerun completes", async () => {
    const base = unique("fail");
    const [first, second] = [`${base}-a`, `${base}-b`];
    await createPlan(first);
    await createPlan(second);
    await failNext({
      path: "/v1/prices",
      method: "POST",
      idempotency_key_prefix: `platform-plan:${second}:`,
      times: 3,
    });

    expectError(await sync(), 502, "stripe_error");
    const firstIds = await storedPlan(first);
    expect(firstIds).toMatchObject({
      stripe_product_id: expect.stringMatching(/^prod_/),
      stripe_price_id: expect.stringMatching(/^price_/),
    });
    const secondIds = await storedPlan(second);
    expect(secondIds).toMatchObject({
      stripe_product_id: expect.stringMatching(/^prod_/),
      stripe_price_id: null,
    });

    const rerun = await sync();
    expect(rerun.status, JSON.stringify(rerun.body)).toBe(200);
    expect(actionsOf(rerun, first).map((a) => a.action)).toEqual(["unchanged"]);
    expect(actionsOf(rerun, second)).toEqual([
      expect.objectContaining({
        action: "create_price",
        stripe_product_id: secondIds?.stripe_product_id,
        stripe_price_id: expect.stringMatching(/^price_/),
      }),
    ]);
    expect(await storedPlan(second)).toMatchObject({
      stripe_product_id: secondIds?.stripe_product_id,
      stripe_price_id: expect.stringMatching(/^price_/),
    });
    // One product per plan: the rerun did not make another.
    expect(await platformCreates(second, "/v1/products")).toHaveLength(1);
    const audit = await env.DB.prepare(
      "SELECT metadata FROM audit_log WHERE tenant_id = 'platform' AND action = 'platform_plans.synced' AND metadata LIKE ?",
    )
      .bind(`%${second}%`)
      .all<{ metadata: string }>();
    expect(audit.results.some((r) => JSON.parse(r.metadata).stopped_by)).toBe(true);
  });

  it("recreates a product that Stripe does not know (another key or mode)", async () => {
    const lost = unique("lost");
    await createPlan(lost);
    await env.DB.prepare("UPDATE platform_plans SET stripe_product_id = ?, stripe_price_id = ? WHERE id = ?")
      .bind(`prod_gone${lost}`, `price_gone${lost}`, lost)
      .run();
    const res = await sync();
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const [product, price] = actionsOf(res, lost);
    expect(product).toMatchObject({
      action: "create_product",
      detail: expect.stringContaining(`prod_gone${lost} is not found at Stripe`),
    });
    expect(price).toMatchObject({
      action: "create_price",
      stripe_price_id: expect.stringMatching(/^price_/),
    });
    expect(await storedPlan(lost)).toMatchObject({
      stripe_product_id: product?.stripe_product_id,
      stripe_price_id: price?.stripe_price_id,
    });
  });

  it("takes an empty body as a real sync", async () => {
    const res = await admin("/plans/sync", { method: "POST" });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.dry_run).toBe(false);
    expectError(await admin("/plans/sync", { body: { dry_run: "yes" } }), 400, "validation_error");
  });
});

describe("GET /tenants", () => {
  const tag = unique("adm");
  let older: Awaited<ReturnType<typeof registerTenant>>;
  let newer: Awaited<ReturnType<typeof registerTenant>>;

  beforeAll(async () => {
    older = await registerTenant({ company_name: `Older ${tag} Corp` });
    newer = await registerTenant({ company_name: `Newer ${tag} Corp` });
    await env.DB.prepare(
      `INSERT INTO tenant_subscriptions (tenant_id, plan_id, stripe_customer_id, stripe_subscription_id, status, current_period_end, cancel_at_period_end)
       VALUES (?, 'starter', 'cus_admin1', 'sub_admin1', 'active', ?, 1)`,
    )
      .bind(newer.tenantId, Date.UTC(2030, 0, 1))
      .run();
    await env.DB.prepare(
      "UPDATE tenants SET status = 'suspended', suspended_reason = 'payment_failed', suspended_at = ? WHERE id = ?",
    )
      .bind(Date.UTC(2029, 5, 1), older.tenantId)
      .run();
  });

  it("lists tenants newest first with their subscription, searchable by name", async () => {
    const res = await admin(`/tenants?search=${tag}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ has_more: false, next_cursor: null });
    expect(res.body.data).toEqual([
      {
        id: newer.tenantId,
        company_name: `Newer ${tag} Corp`,
        slug: newer.slug,
        status: "active",
        suspended_reason: null,
        suspended_at: null,
        subscription_tier: "free",
        stripe_connect_status: "not_connected",
        subscription: {
          plan_id: "starter",
          status: "active",
          stripe_customer_id: "cus_admin1",
          stripe_subscription_id: "sub_admin1",
          current_period_end: "2030-01-01T00:00:00.000Z",
          cancel_at_period_end: true,
        },
        created_at: expect.any(String),
      },
      expect.objectContaining({
        id: older.tenantId,
        status: "suspended",
        suspended_reason: "payment_failed",
        suspended_at: "2029-06-01T00:00:00.000Z",
        subscription: null,
      }),
    ]);
  });

  it("searches slugs too, filters by status and pages with a cursor", async () => {
    const bySlug = await admin(`/tenants?search=${encodeURIComponent(older.slug)}`);
    expect(bySlug.body.data.map((t: { id: string }) => t.id)).toEqual([older.tenantId]);

    const suspended = await admin(`/tenants?search=${tag}&status=suspended`);
    expect(suspended.body.data.map((t: { id: string }) => t.id)).toEqual([older.tenantId]);
    const active = await admin(`/tenants?search=${tag}&status=active`);
    expect(active.body.data.map((t: { id: string }) => t.id)).toEqual([newer.tenantId]);

    const first = await admin(`/tenants?search=${tag}&limit=1`);
    expect(first.body).toMatchObject({ has_more: true, next_cursor: expect.any(String) });
    expect(first.body.data.map((t: { id: string }) => t.id)).toEqual([newer.tenantId]);
    const second = await admin(`/tenants?search=${tag}&limit=1&cursor=${first.body.next_cursor}`);
    expect(second.body).toMatchObject({ has_more: false, next_cursor: null });
    expect(second.body.data.map((t: { id: string }) => t.id)).toEqual([older.tenantId]);

    expect((await admin(`/tenants?search=${tag}%25`)).body.data).toHaveLength(2);
    expectError(await admin("/tenants?status=deleted"), 400, "validation_error");
    expectError(await admin("/tenants?cursor=!!"), 400, "validation_error");
  });

  it("gets one tenant in the same shape, or 404", async () => {
    const list = await admin(`/tenants?search=${tag}`);
    const one = await admin(`/tenants/${newer.tenantId}`);
    expect(one.status).toBe(200);
    expect(one.body).toEqual(list.body.data[0]);
    expectError(await admin("/tenants/ten_doesnotexist"), 404, "not_found");
  });
});

describe("Stripe events", () => {
  const tenantId = unique("ten_evt");
  const ids = {
    processed: unique("evt_p"),
    failed: unique("evt_f"),
    ignored: unique("evt_i"),
    received: unique("evt_r"),
  };

  beforeAll(async () => {
    const base = Date.UTC(2031, 0, 1);
    const rows: [string, string, string, number][] = [
      [ids.processed, "invoice.paid", "processed", 0],
      [ids.failed, "invoice.payment_failed", "failed", 1],
      [ids.ignored, "customer.updated", "ignored", 2],
      [ids.received, "invoice.paid", "received", 3],
    ];
    for (const [id, type, status, n] of rows) {
      await env.DB.prepare(
        `INSERT INTO stripe_events (id, endpoint, type, account, livemode, created, payload, tenant_id, status, outcome, attempts, received_at, processed_at)
         VALUES (?, 'platform', ?, NULL, 0, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
        .bind(
          id,
          type,
          1_900_000_000 + n,
          JSON.stringify({ id, object: "event", type, data: { object: { id: `in_${n}` } } }),
          tenantId,
          status,
          status === "failed" ? "error: boom" : null,
          status === "received" ? 0 : 1,
          base + n * 1000,
          status === "processed" || status === "ignored" ? base + n * 1000 + 10 : null,
        )
        .run();
    }
  });

  it("lists events newest first by received_at, without payloads, with filters", async () => {
    const res = await admin(`/stripe-events?tenant_id=${tenantId}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.data.map((e: { id: string }) => e.id)).toEqual([
      ids.received,
      ids.ignored,
      ids.failed,
      ids.processed,
    ]);
    expect(res.body.data[2]).toEqual({
      id: ids.failed,
      type: "invoice.payment_failed",
      endpoint: "platform",
      account: null,
      livemode: false,
      created: 1_900_000_001,
      tenant_id: tenantId,
      status: "failed",
      outcome: "error: boom",
      attempts: 1,
      received_at: "2031-01-01T00:00:01.000Z",
      processed_at: null,
    });
    const failed = await admin(`/stripe-events?tenant_id=${tenantId}&status=failed`);
    expect(failed.body.data.map((e: { id: string }) => e.id)).toEqual([ids.failed]);
    const paid = await admin(`/stripe-events?tenant_id=${tenantId}&type=invoice.paid`);
    expect(paid.body.data.map((e: { id: string }) => e.id)).toEqual([ids.received, ids.processed]);

    const page1 = await admin(`/stripe-events?tenant_id=${tenantId}&limit=3`);
    expect(page1.body).toMatchObject({ has_more: true });
    const page2 = await admin(
      `/stripe-events?tenant_id=${tenantId}&limit=3&cursor=${page1.body.next_cursor}`,
    );
    expect(page2.body.data.map((e: { id: string }) => e.id)).toEqual([ids.processed]);
    expectError(await admin("/stripe-events?status=done"), 400, "validation_error");
  });

  it("shows one event with its parsed payload, or 404", async () => {
    const res = await admin(`/stripe-events/${ids.failed}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: ids.failed,
      status: "failed",
      payload: {
        id: ids.failed,
        object: "event",
        type: "invoice.payment_failed",
        data: { object: { id: "in_1" } },
      },
    });
    expectError(await admin("/stripe-events/evt_nope"), 404, "not_found");
  });

  it("retries failed and ignored events (202, back to received, audited); others are 409", async () => {
    const res = await admin(`/stripe-events/${ids.failed}/retry`, { method: "POST" });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body).toMatchObject({
      message: expect.any(String),
      event: { id: ids.failed, status: "received", tenant_id: tenantId },
    });
    expect(res.body.event.payload).toBeUndefined();
    const row = await env.DB.prepare("SELECT status FROM stripe_events WHERE id = ?")
      .bind(ids.failed)
      .first();
    expect(row?.status).toBe("received");
    expect(await auditOf(ids.failed)).toEqual([
      expect.objectContaining({
        tenant_id: "platform",
        actor_type: "platform_admin",
        action: "stripe_event.retried",
      }),
    ]);

    expect((await admin(`/stripe-events/${ids.ignored}/retry`, { method: "POST" })).status).toBe(202);
    for (const id of [ids.processed, ids.received]) {
      const conflict = expectError(
        await admin(`/stripe-events/${id}/retry`, { method: "POST" }),
        409,
        "conflict",
      );
      expect(conflict.message).toMatch(/failed or ignored/);
    }
    expectError(await admin("/stripe-events/evt_nope/retry", { method: "POST" }), 404, "not_found");
  });

  it("sends {kind: stripe.event, event_id} to the events queue, and puts the status back if that fails", async () => {
    const id = unique("evt_q");
    await env.DB.prepare(
      `INSERT INTO stripe_events (id, endpoint, type, livemode, created, payload, status, attempts, received_at)
       VALUES (?, 'connect', 'account.updated', 0, 1, '{}', 'failed', 3, ?)`,
    )
      .bind(id, Date.now())
      .run();
    const sent: unknown[] = [];
    const recording = { send: async (body: unknown) => void sent.push(body) } as unknown as Queue;
    const broken = {
      send: async () => {
        throw new Error("queue down");
      },
    } as unknown as Queue;

    const failing = await admin(`/stripe-events/${id}/retry`, {
      method: "POST",
      via: appWith({ ...env, EVENTS_QUEUE: broken }),
    });
    expectError(failing, 500, "internal_error");
    expect(
      (await env.DB.prepare("SELECT status FROM stripe_events WHERE id = ?").bind(id).first())?.status,
    ).toBe("failed");
    // The retry did not happen: the log says so after the record of the attempt.
    expect((await auditOf(id)).map((entry) => entry.action)).toEqual([
      "stripe_event.retried",
      "stripe_event.retry_failed",
    ]);

    const ok = await admin(`/stripe-events/${id}/retry`, {
      method: "POST",
      via: appWith({ ...env, EVENTS_QUEUE: recording }),
    });
    expect(ok.status, JSON.stringify(ok.body)).toBe(202);
    expect(sent).toEqual([
      { kind: "stripe.event", event_id: id, request_id: ok.headers.get("X-Request-Id") },
    ]);
    expect((await auditOf(id)).map((entry) => entry.action)).toEqual([
      "stripe_event.retried",
      "stripe_event.retry_failed",
      "stripe_event.retried",
    ]);
  });
});
