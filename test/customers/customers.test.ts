import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import {
  asKey,
  type BillingTenant,
  billingTenant,
  makeCustomer,
  makePlan,
  relayConnectEvents,
  tenantEvents,
} from "../billing";
import { call, expectError, registerTenant, unique } from "../harness";
import { makeInvoice, payingCustomer } from "../invoicing";
import { CONNECT_SECRET, processed, sendSigned, stripeEvent } from "../platform-billing/helpers";
import { type DoubleEvent, doubleUrl, failNext, stripeObject, stripeRequests } from "../stripe-double";

const CUSTOMERS = "/api/v1/auth/customers/";

let tenant: BillingTenant;
beforeAll(async () => {
  tenant = await billingTenant();
});

const countRows = async (tenantId: string) =>
  (
    await env.DB.prepare("SELECT count(*) AS n FROM customers WHERE tenant_id = ?")
      .bind(tenantId)
      .first<{ n: number }>()
  )?.n ?? 0;

describe("customers", () => {
  it("creates on the connected account with our metadata, and reads it back by id and by external id", async () => {
    const externalId = unique("user_");
    const res = await asKey(tenant.keys.test_secret, CUSTOMERS, {
      body: {
        email: "Jane.Doe@Example.com",
        name: "Jane Doe",
        phone: "+33 6 12 34 56 78",
        address: { line1: "1 rue de Rivoli", city: "Paris", country: "FR" },
        description: "VIP",
        metadata: { crm: "A-1" },
        external_id: externalId,
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({
      id: expect.stringMatching(/^cust_/),
      object: "customer",
      email: "jane.doe@example.com",
      name: "Jane Doe",
      external_id: externalId,
      livemode: false,
      deleted: false,
      metadata: { crm: "A-1" },
      address: { line1: "1 rue de Rivoli", city: "Paris", country: "FR" },
    });
    const atStripe = await stripeObject(`/v1/customers/${res.body.stripe_customer_id}`, tenant.account);
    expect(atStripe).toMatchObject({
      email: "jane.doe@example.com",
      metadata: { tenant_id: tenant.tenantId, customer_id: res.body.id, external_id: externalId, crm: "A-1" },
    });
    const [create] = (await stripeRequests({ path: "/v1/customers", account: tenant.account })).filter(
      (r) => r.method === "POST" && r.headers.idempotency_key === `customer:${res.body.id}`,
    );
    expect(create).toBeDefined();

    for (const id of [res.body.id, `ext:${externalId}`]) {
      const got = await call(`${CUSTOMERS}${id}/`, { token: tenant.tokens.developer });
      expect(got.status).toBe(200);
      expect(got.body.id).toBe(res.body.id);
    }
  });

  it("refuses a second customer with the same external_id (409), and bad input (400) without calling Stripe", async () => {
    const externalId = unique("dup_");
    await makeCustomer(tenant, { external_id: externalId });
    const before = await countRows(tenant.tenantId);
    expectError(
      await asKey(tenant.keys.test_secret, CUSTOMERS, {
        body: { email: "x@example.com", external_id: externalId },
      }),
      409,
      "conflict",
    );
    for (const body of [
      { email: "not-an-email" },
      { metadata: { k: 1 } },
      { metadata: { "a[b]": "1" } },
      { metadata: { external_id: "crm-1" } },
      { address: { country: "France" } },
      { external_id: "has space" },
    ]) {
      expectError(await asKey(tenant.keys.test_secret, CUSTOMERS, { body }), 400, "validation_error");
    }
    expect(await countRows(tenant.tenantId)).toBe(before);
  });

  it("creates at once with one external_id: one customer at Stripe and here, the rest 409 before Stripe; none created and deleted", {
    timeout: 20_000,
  }, async () => {
    // A tenant of its own: eight requests at once would spend the file's tenant's rate limit.
    const own = await billingTenant();
    const externalId = unique("race_");
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        asKey(own.keys.test_secret, CUSTOMERS, {
          body: { email: `race${i}@example.com`, external_id: externalId },
        }),
      ),
    );
    const created = answers.filter((answer) => answer.status === 201);
    expect(created, JSON.stringify(answers.map((answer) => answer.body))).toHaveLength(1);
    for (const answer of answers) if (answer.status !== 201) expectError(answer, 409, "conflict");
    const atStripe = (await stripeRequests({ path: "/v1/customers", account: own.account })).filter(
      (request) =>
        request.method === "POST" &&
        (request.params.metadata as Record<string, string> | undefined)?.external_id === externalId,
    );
    expect(atStripe).toHaveLength(1);
    // Nothing was made and undone at Stripe, so the mirror has nothing to tell about it.
    const relayed = await relayConnectEvents(own.account);
    const deleted = relayed.filter((event) => event.type === "customer.deleted");
    expect(deleted).toEqual([]);
    const rows = await env.DB.prepare(
      "SELECT id, status FROM customers WHERE tenant_id = ? AND (external_id = ? OR email LIKE 'race%@example.com')",
    )
      .bind(own.tenantId, externalId)
      .all<{ id: string; status: string }>();
    expect(rows.results).toEqual([{ id: created[0]?.body.id, status: "active" }]);
  });

  it("a create and an update giving one external_id at once: one holds it, the other is 409; nothing undone at Stripe", {
    timeout: 20_000,
  }, async () => {
    const own = await billingTenant();
    const existing = await makeCustomer(own, { email: "holder@example.com" });
    const externalId = unique("both_");
    const [created, updated] = await Promise.all([
      asKey(own.keys.test_secret, CUSTOMERS, { body: { email: "new@example.com", external_id: externalId } }),
      asKey(own.keys.test_secret, `${CUSTOMERS}${existing.id}/`, {
        method: "PATCH",
        body: { external_id: externalId },
      }),
    ]);
    const statuses = [created.status, updated.status];
    expect(
      statuses.filter((status) => status < 300),
      JSON.stringify([created.body, updated.body]),
    ).toHaveLength(1);
    expect(statuses.filter((status) => status === 409)).toHaveLength(1);
    const deletes = (await stripeRequests({ account: own.account })).filter(
      (request) => request.method === "DELETE" && request.path.startsWith("/v1/customers/"),
    );
    expect(deletes).toEqual([]);
  });

  it("metadata: at most 47 keys (Stripe's 50 less our 3), on create and update, 400 before Stripe", async () => {
    const keys = (n: number, prefix = "k") =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, "v"]));
    const before = await countRows(tenant.tenantId);
    const tooMany = expectError(
      await asKey(tenant.keys.test_secret, CUSTOMERS, {
        body: { metadata: keys(48), external_id: unique("meta_") },
      }),
      400,
      "validation_error",
    );
    expect(tooMany.details).toEqual([{ field: "metadata", message: expect.stringMatching(/47/) }]);
    expect(await countRows(tenant.tenantId)).toBe(before);

    const full = await makeCustomer(tenant, { metadata: keys(47), external_id: unique("meta_") });
    expect(
      Object.keys(
        (await stripeObject(`/v1/customers/${full.stripe_customer_id}`, tenant.account)).metadata as object,
      ),
    ).toHaveLength(50);
    const updates = async () =>
      (await stripeRequests({ path: `/v1/customers/${full.stripe_customer_id}`, account: tenant.account }))
        .length;
    const sent = await updates();
    expectError(
      await call(`${CUSTOMERS}${full.id}/`, {
        token: tenant.tokens.billing,
        method: "PATCH",
        body: { metadata: keys(48, "x") },
      }),
      400,
      "validation_error",
    );
    expect(await updates()).toBe(sent);
  });

  it("a customer made in the tenant's Stripe dashboard with 48 to 50 metadata keys: a change that would pass 50 at Stripe is 400", async () => {
    const dashboardCustomer = async (n: number) => {
      const metadata = Object.fromEntries(Array.from({ length: n }, (_, i) => [`own${i}`, "v"]));
      const made = await fetch(`${doubleUrl()}/v1/customers`, {
        method: "POST",
        headers: {
          Authorization: "Bearer sk_test_tenant_dashboard",
          "Stripe-Account": tenant.account,
          "Content-Type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams({
          email: `dash${n}@example.com`,
          ...Object.fromEntries(Object.entries(metadata).map(([k, v]) => [`metadata[${k}]`, v])),
        }),
      });
      expect(made.status).toBe(200);
      const stripeId = ((await made.json()) as { id: string }).id;
      await relayConnectEvents(tenant.account, { only: (event) => event.data.object.id === stripeId });
      const row = await env.DB.prepare("SELECT id FROM customers WHERE stripe_customer_id = ?")
        .bind(stripeId)
        .first<{ id: string }>();
      return { path: `${CUSTOMERS}${row?.id}/`, metadata };
    };
    const patch = (path: string, body: Record<string, unknown>) =>
      asKey(tenant.keys.test_secret, path, { method: "PATCH", body });
    const refusedForMetadata = (res: Awaited<ReturnType<typeof patch>>) =>
      expect(expectError(res, 400, "validation_error").details).toEqual([
        { field: "metadata", message: expect.stringMatching(/47/) },
      ]);

    // 50 keys of its own and our 2 (tenant_id, customer_id): Stripe would refuse any change.
    const fifty = await dashboardCustomer(50);
    refusedForMetadata(await patch(fifty.path, { name: "Renamed" }));
    // 48 keys and our 2 fit; our external_id on top does not.
    const fortyEight = await dashboardCustomer(48);
    expect((await patch(fortyEight.path, { name: "Renamed" })).status).toBe(200);
    refusedForMetadata(await patch(fortyEight.path, { external_id: unique("dash_") }));
    const fitted = Object.fromEntries(Object.entries(fortyEight.metadata).slice(0, 47));
    const fixed = await patch(fortyEight.path, { external_id: unique("dash_"), metadata: fitted });
    expect(fixed.status, JSON.stringify(fixed.body)).toBe(200);
    expect(fixed.body.metadata).toEqual(fitted);
  });

  it("updates Stripe first; a Stripe refusal leaves the customer as it was", async () => {
    const customer = await makeCustomer(tenant, { name: "Before" });
    const updated = await call(`${CUSTOMERS}${customer.id}/`, {
      token: tenant.tokens.billing,
      method: "PATCH",
      body: { name: "After", phone: null, metadata: { tier: "gold" } },
    });
    expect(updated.body).toMatchObject({ name: "After", phone: null, metadata: { tier: "gold" } });
    expect(await stripeObject(`/v1/customers/${customer.stripe_customer_id}`, tenant.account)).toMatchObject({
      name: "After",
      metadata: { tier: "gold" },
    });

    await failNext({
      method: "POST",
      path: `/v1/customers/${customer.stripe_customer_id}`,
      account: tenant.account,
      status: 400,
      error: { message: "Invalid phone" },
    });
    const refused = await asKey(tenant.keys.test_secret, `${CUSTOMERS}${customer.id}/`, {
      body: { name: "Never" },
    });
    expectError(refused, 502, "stripe_error");
    expect((await call(`${CUSTOMERS}${customer.id}/`, { token: tenant.tokens.owner })).body.name).toBe(
      "After",
    );
  });

  it("a Stripe failure on create leaves no row behind", async () => {
    const before = await countRows(tenant.tenantId);
    await failNext({ method: "POST", path: "/v1/customers", account: tenant.account, status: 500, times: 3 });
    expectError(
      await asKey(tenant.keys.test_secret, CUSTOMERS, { body: { email: "fail@example.com" } }),
      502,
      "stripe_error",
    );
    expect(await countRows(tenant.tenantId)).toBe(before);
  });

  it("deletes at Stripe and keeps the mirror as deleted (hidden from lists unless asked)", async () => {
    const customer = await makeCustomer(tenant);
    const deleted = await call(`${CUSTOMERS}${customer.id}/`, {
      token: tenant.tokens.admin,
      method: "DELETE",
    });
    expect(deleted.body).toMatchObject({ id: customer.id, deleted: true });
    expect(await stripeObject(`/v1/customers/${customer.stripe_customer_id}`, tenant.account)).toMatchObject({
      deleted: true,
    });
    const listed = await call(`${CUSTOMERS}?limit=100`, { token: tenant.tokens.owner });
    expect(listed.body.data.map((c: { id: string }) => c.id)).not.toContain(customer.id);
    const all = await call(`${CUSTOMERS}?limit=100&include_deleted=true`, { token: tenant.tokens.owner });
    expect(all.body.data.map((c: { id: string }) => c.id)).toContain(customer.id);
    expectError(
      await call(`${CUSTOMERS}${customer.id}/`, {
        token: tenant.tokens.owner,
        method: "PATCH",
        body: { name: "x" },
      }),
      409,
      "invalid_state_transition",
    );
  });

  it("deletes of one customer at once all answer the deleted customer, told and audited once; one deleted at Stripe first is deleted here too", async () => {
    const own = await billingTenant();
    const customer = await makeCustomer(own);
    const deletes = await Promise.all(
      Array.from({ length: 6 }, () =>
        asKey(own.keys.test_secret, `${CUSTOMERS}${customer.id}/`, { method: "DELETE" }),
      ),
    );
    for (const res of deletes) {
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({ id: customer.id, deleted: true });
    }
    expect(await tenantEvents(own.tenantId, "customer.deleted")).toHaveLength(1);
    const audited = await env.DB.prepare(
      "SELECT count(*) AS n FROM audit_log WHERE tenant_id = ? AND action = 'customer.deleted' AND target_id = ?",
    )
      .bind(own.tenantId, customer.id)
      .first<{ n: number }>();
    expect(audited?.n).toBe(1);

    // Deleted in the tenant's Stripe dashboard, the mirror not told yet: Stripe's deletion stands.
    const other = await makeCustomer(own);
    const atStripe = await fetch(`${doubleUrl()}/v1/customers/${other.stripe_customer_id}`, {
      method: "DELETE",
      headers: { Authorization: "Bearer sk_test_inspect", "Stripe-Account": own.account },
    });
    expect(atStripe.status).toBe(200);
    const deleted = await asKey(own.keys.test_secret, `${CUSTOMERS}${other.id}/`, { method: "DELETE" });
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);
    expect(deleted.body).toMatchObject({ id: other.id, deleted: true });
  });

  it("lists newest first with email, search, created and metadata filters, and pages without gaps", async () => {
    const own = await billingTenant();
    const made = [];
    for (const [name, email, tier] of [
      ["Ada Lovelace", "ada@analytical.io", "gold"],
      ["Alan Turing", "alan@bletchley.uk", "silver"],
      ["Grace Hopper", "grace@navy.mil", "gold"],
    ] as const) {
      made.push(await makeCustomer(own, { name, email, metadata: { tier } }));
    }
    const list = (query: string) => asKey(own.keys.test_secret, `${CUSTOMERS}?${query}`);
    expect((await list("")).body.data.map((c: { id: string }) => c.id)).toEqual(
      made.map((c) => c.id).reverse(),
    );
    expect((await list("email=ALAN@bletchley.uk")).body.data).toHaveLength(1);
    expect((await list("search=gra")).body.data.map((c: { name: string }) => c.name)).toEqual([
      "Grace Hopper",
    ]);
    expect((await list("search=analytical")).body.data.map((c: { name: string }) => c.name)).toEqual([
      "Ada Lovelace",
    ]);
    expect((await list("search=a%20lov")).body.data).toHaveLength(1);
    expect((await list("search=zzz")).body.data).toEqual([]);
    // Only names and emails are searched, not the index's scope words (tenant id, mode).
    for (const word of ["test", "te", "ten", "live", own.tenantId.split("_")[1]]) {
      expect((await list(`search=${word}`)).body.data, `search=${word}`).toEqual([]);
    }
    expect((await list("metadata%5Btier%5D=gold")).body.data.map((c: { name: string }) => c.name)).toEqual([
      "Grace Hopper",
      "Ada Lovelace",
    ]);
    expect(
      (await list(`created%5Bgte%5D=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).body
        .data,
    ).toEqual([]);

    const first = await list("limit=2");
    expect(first.body).toMatchObject({ has_more: true, next_cursor: expect.any(String) });
    const second = await list(`limit=2&cursor=${first.body.next_cursor}`);
    expect([...first.body.data, ...second.body.data].map((c: { id: string }) => c.id)).toEqual(
      made.map((c) => c.id).reverse(),
    );
    const searchFirst = await list("search=a&limit=1");
    expect(searchFirst.body.has_more).toBe(true);
    const searchNext = await list(`search=a&limit=5&cursor=${searchFirst.body.next_cursor}`);
    expect(searchNext.body.data.length).toBeGreaterThan(0);
    expectError(await list("cursor=garbage!!"), 400, "validation_error");
  });

  it("metadata filters match the key exactly, whatever characters it holds (backslash, quotes, dots)", async () => {
    const own = await billingTenant();
    const keys = ["back\\slash", "end\\", 'say"hi"', "sayhi", "a.b", "it's"];
    const made = new Map<string, string>();
    for (const key of keys) made.set(key, (await makeCustomer(own, { metadata: { [key]: "yes" } })).id);
    const found: Record<string, unknown> = {};
    for (const key of keys) {
      const res = await asKey(
        own.keys.test_secret,
        `${CUSTOMERS}?${new URLSearchParams({ [`metadata[${key}]`]: "yes" })}`,
      );
      found[key] = res.status === 200 ? res.body.data.map((c: { id: string }) => c.id) : res.status;
    }
    expect(found).toEqual(Object.fromEntries(keys.map((key) => [key, [made.get(key)]])));
    const none = await asKey(
      own.keys.test_secret,
      `${CUSTOMERS}?${new URLSearchParams({ "metadata[sayhi]": "no" })}`,
    );
    expect(none.body.data).toEqual([]);
  });

  it("roles: every role reads, developers may not change; publishable keys are refused", async () => {
    const customer = await makeCustomer(tenant);
    for (const role of ["owner", "admin", "developer", "billing"] as const) {
      expect((await call(`${CUSTOMERS}${customer.id}/`, { token: tenant.tokens[role] })).status).toBe(200);
    }
    expectError(
      await call(CUSTOMERS, { token: tenant.tokens.developer, body: { name: "x" } }),
      403,
      "forbidden",
    );
    expectError(await asKey(tenant.keys.test_public, CUSTOMERS), 403, "forbidden");
    expectError(await call(CUSTOMERS), 401, "unauthenticated");
  });

  it("a test key never sees a live customer, and a live key cannot create on a test-mode platform", async () => {
    const customer = await makeCustomer(tenant);
    await env.DB.prepare(
      "INSERT INTO customers (id, tenant_id, livemode, stripe_customer_id, email, metadata, created_at, updated_at) VALUES (?, ?, 1, ?, 'live@example.com', '{}', ?, ?)",
    )
      .bind(`cust_live${unique()}`, tenant.tenantId, `cus_live${unique()}`, Date.now(), Date.now())
      .run();
    const testList = await asKey(tenant.keys.test_secret, `${CUSTOMERS}?limit=100`);
    expect(testList.body.data.every((c: { livemode: boolean }) => c.livemode === false)).toBe(true);
    const liveList = await asKey(tenant.keys.live_secret, `${CUSTOMERS}?limit=100`);
    expect(liveList.body.data.map((c: { email: string }) => c.email)).toEqual(["live@example.com"]);
    expectError(await asKey(tenant.keys.live_secret, `${CUSTOMERS}${customer.id}/`), 404, "not_found");
    expectError(
      await asKey(tenant.keys.live_secret, CUSTOMERS, { body: { name: "x" } }),
      409,
      "livemode_mismatch",
    );
  });

  it("another tenant's customer is 404, by id and by external id", async () => {
    const customer = await makeCustomer(tenant, { external_id: unique("own_") });
    const other = await registerTenant();
    expectError(await call(`${CUSTOMERS}${customer.id}/`, { token: other.owner.access }), 404, "not_found");
    expectError(
      await asKey(other.keys.test_secret, `${CUSTOMERS}${customer.id}/`, { method: "DELETE" }),
      404,
      "not_found",
    );
  });

  it("needs a connected Stripe account to create (409 stripe_not_connected)", async () => {
    const unconnected = await registerTenant();
    expectError(
      await asKey(unconnected.keys.test_secret, CUSTOMERS, { body: { name: "x" } }),
      409,
      "stripe_not_connected",
    );
  });

  it("a suspended tenant's users read but do not write (402); its keys get 402", async () => {
    const suspended = await billingTenant();
    const customer = await makeCustomer(suspended);
    await env.DB.prepare("UPDATE tenants SET status = 'suspended' WHERE id = ?")
      .bind(suspended.tenantId)
      .run();
    expect((await call(`${CUSTOMERS}${customer.id}/`, { token: suspended.tokens.owner })).status).toBe(200);
    expectError(
      await call(CUSTOMERS, { token: suspended.tokens.owner, body: { name: "x" } }),
      402,
      "tenant_suspended",
    );
  });
});

describe("the API's writes against the mirror's clock", () => {
  const later = Math.floor(Date.now() / 1000) + 3600;
  const mirroredLater = (id: string) =>
    env.DB.prepare("UPDATE customers SET name = 'Mirrored', last_event_created = ? WHERE id = ?")
      .bind(later, id)
      .run();
  const stored = (id: string) =>
    env.DB.prepare("SELECT name, status, last_event_created FROM customers WHERE id = ?").bind(id).first();

  it("an update never overwrites a state the mirror stored from a newer event, nor tells it again", async () => {
    const customer = await makeCustomer(tenant, { name: "Before" });
    await mirroredLater(customer.id);
    const res = await call(`${CUSTOMERS}${customer.id}/`, {
      token: tenant.tokens.owner,
      method: "PATCH",
      body: { name: "From the API" },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.name).toBe("Mirrored");
    expect(await stored(customer.id)).toEqual({
      name: "Mirrored",
      status: "active",
      last_event_created: later,
    });
    const told = (await tenantEvents(tenant.tenantId, "customer.updated")).filter(
      (event) => event.data.object.id === customer.id,
    );
    expect(told).toEqual([]);
  });

  it("a delete is final whatever the mirror stored, and never lowers its watermark", async () => {
    const customer = await makeCustomer(tenant, { name: "Before" });
    await mirroredLater(customer.id);
    const res = await call(`${CUSTOMERS}${customer.id}/`, { token: tenant.tokens.owner, method: "DELETE" });
    expect(res.status).toBe(200);
    expect(await stored(customer.id)).toMatchObject({ status: "deleted", last_event_created: later });
  });
});

describe("the mirror of a deleted customer", () => {
  const of = (customer: { stripe_customer_id: string }) => (event: DoubleEvent) =>
    event.data.object.id === customer.stripe_customer_id;

  it("an event of the deletion's second, after the API's delete, keeps the customer as it was", async () => {
    const externalId = unique("keep_");
    const customer = await makeCustomer(tenant, { name: "Kept Name", external_id: externalId });
    const deleted = await call(`${CUSTOMERS}${customer.id}/`, {
      token: tenant.tokens.owner,
      method: "DELETE",
    });
    expect(deleted.status).toBe(200);
    await relayConnectEvents(tenant.account, {
      only: (event) => event.type === "customer.created" && of(customer)(event),
    });
    const after = await call(`${CUSTOMERS}${customer.id}/`, { token: tenant.tokens.owner });
    expect(after.body).toMatchObject({
      deleted: true,
      name: "Kept Name",
      email: customer.email,
      external_id: externalId,
    });
  });

  it("a customer.updated that comes after the deletion (a Stripe retry) does not bring the customer back", async () => {
    const customer = await makeCustomer(tenant, { name: "Before" });
    // The update lands in a later Stripe second than the creation.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const updated = await call(`${CUSTOMERS}${customer.id}/`, {
      token: tenant.tokens.owner,
      method: "PATCH",
      body: { name: "After" },
    });
    expect(updated.status).toBe(200);
    const deleted = await call(`${CUSTOMERS}${customer.id}/`, {
      token: tenant.tokens.owner,
      method: "DELETE",
    });
    expect(deleted.status).toBe(200);
    await relayConnectEvents(tenant.account, {
      only: (event) => event.type === "customer.deleted" && of(customer)(event),
    });
    await relayConnectEvents(tenant.account, {
      only: (event) => event.type === "customer.updated" && of(customer)(event),
    });
    const after = await call(`${CUSTOMERS}${customer.id}/`, { token: tenant.tokens.owner });
    expect(after.body).toMatchObject({ deleted: true, name: "After" });
    const told = (await tenantEvents(tenant.tenantId, "customer.updated")).filter(
      (event) => event.data.object.id === customer.id,
    );
    expect(told.map((event) => event.data.object.deleted)).toEqual([false]);
  });

  it("a tie settled by reading Stripe's deleted stub keeps the fields and reports the deletion only", async () => {
    const externalId = unique("stub_");
    const customer = await makeCustomer(tenant, { name: "Stub Kept", external_id: externalId });
    // Deleted at Stripe (the tenant's dashboard); the mirror has not seen that event.
    const gone = await fetch(`${doubleUrl()}/v1/customers/${customer.stripe_customer_id}`, {
      method: "DELETE",
      headers: { Authorization: "Bearer sk_test_dashboard", "Stripe-Account": tenant.account },
    });
    expect(gone.status).toBe(200);
    const row = await env.DB.prepare("SELECT last_event_created AS created FROM customers WHERE id = ?")
      .bind(customer.id)
      .first<{ created: number }>();
    // An update of the row's second that says something else: the mirror reads the customer back.
    const event = stripeEvent(
      "customer.updated",
      {
        id: customer.stripe_customer_id,
        object: "customer",
        name: "Renamed",
        email: customer.email,
        livemode: false,
        metadata: { external_id: externalId },
      },
      row?.created ?? 0,
      { account: tenant.account },
    );
    expect(
      (await sendSigned(event, { path: "/webhooks/stripe/connect", secret: CONNECT_SECRET })).status,
    ).toBe(200);
    expect((await processed([event.id], 15_000))[event.id]?.status).toBe("processed");

    const after = await call(`${CUSTOMERS}${customer.id}/`, { token: tenant.tokens.owner });
    expect(after.body).toMatchObject({
      deleted: true,
      name: "Stub Kept",
      email: customer.email,
      external_id: externalId,
    });
    const mine = async (type: string) =>
      (await tenantEvents(tenant.tenantId, type))
        .filter((told) => told.data.object.id === customer.id)
        .map((told) => told.data.object);
    expect(await mine("customer.deleted")).toEqual([
      expect.objectContaining({ deleted: true, name: "Stub Kept", external_id: externalId }),
    ]);
    expect(await mine("customer.updated")).toEqual([]);
  });
});

describe("payment methods, SetupIntents and the portal", () => {
  it("attaches a test card (the first becomes the default), lists, sets default, detaches", async () => {
    const customer = await makeCustomer(tenant);
    const path = `${CUSTOMERS}${customer.id}/payment-methods/`;
    const visa = await asKey(tenant.keys.test_secret, path, { body: { payment_method: "pm_card_visa" } });
    expect(visa.status, JSON.stringify(visa.body)).toBe(201);
    expect(visa.body).toMatchObject({
      type: "card",
      card: { brand: "visa", last4: "4242" },
      is_default: true,
    });
    const mc = await asKey(tenant.keys.test_secret, path, { body: { payment_method: "pm_card_mastercard" } });
    expect(mc.body.is_default).toBe(false);
    const listed = await call(path, { token: tenant.tokens.developer });
    expect(listed.body.data).toHaveLength(2);

    const made = await asKey(tenant.keys.test_secret, `${path}${mc.body.id}/default/`, { method: "POST" });
    expect(made.body.is_default).toBe(true);
    expect(
      (await call(`${CUSTOMERS}${customer.id}/`, { token: tenant.tokens.owner })).body.default_payment_method,
    ).toBe(mc.body.id);
    const detached = await asKey(tenant.keys.test_secret, `${path}${mc.body.id}/`, { method: "DELETE" });
    expect(detached.body).toMatchObject({ detached: true });
    expect(
      (await call(`${CUSTOMERS}${customer.id}/`, { token: tenant.tokens.owner })).body.default_payment_method,
    ).toBeNull();

    const other = await makeCustomer(tenant);
    expectError(
      await asKey(
        tenant.keys.test_secret,
        `${CUSTOMERS}${other.id}/payment-methods/${visa.body.id}/default/`,
        { method: "POST" },
      ),
      404,
      "not_found",
    );
    expectError(
      await asKey(tenant.keys.test_secret, path, { body: { payment_method: "pm_card_chargeDeclined" } }),
      402,
      "payment_failed",
    );
  });

  it("a deleted customer's payment methods read as none, without asking Stripe (which has no such customer)", async () => {
    const customer = await payingCustomer(tenant);
    const path = `${CUSTOMERS}${customer.id}/payment-methods/`;
    expect((await call(path, { token: tenant.tokens.developer })).body.data).toHaveLength(1);
    const deleted = await asKey(tenant.keys.test_secret, `${CUSTOMERS}${customer.id}/`, { method: "DELETE" });
    expect(deleted.body).toMatchObject({ deleted: true });
    const before = (
      await stripeRequests({ path: `/v1/customers/${customer.stripe_customer_id}/payment_methods` })
    ).length;
    for (const res of [
      await call(path, { token: tenant.tokens.developer }),
      await asKey(tenant.keys.test_secret, path),
    ]) {
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toEqual({ data: [] });
    }
    expect(
      (await stripeRequests({ path: `/v1/customers/${customer.stripe_customer_id}/payment_methods` })).length,
    ).toBe(before);
  });

  it("detaches of one payment method at once: one detaches it, the others answer 404 as a detach after it", async () => {
    const customer = await payingCustomer(tenant);
    const path = `${CUSTOMERS}${customer.id}/payment-methods/`;
    const [method] = (await asKey(tenant.keys.test_secret, path)).body.data;
    const detaches = await Promise.all(
      Array.from({ length: 4 }, () =>
        asKey(tenant.keys.test_secret, `${path}${method.id}/`, { method: "DELETE" }),
      ),
    );
    expect(detaches.filter((res) => res.status === 200)).toHaveLength(1);
    for (const res of detaches.filter((r) => r.status !== 200)) expectError(res, 404, "not_found");
    expectError(
      await asKey(tenant.keys.test_secret, `${path}${method.id}/`, { method: "DELETE" }),
      404,
      "not_found",
    );
  });

  it("attaching a payment method saved to another customer is 409 conflict, not a Stripe failure; the method stays where it was", async () => {
    const owner = await payingCustomer(tenant);
    const other = await makeCustomer(tenant);
    const [method] = (await asKey(tenant.keys.test_secret, `${CUSTOMERS}${owner.id}/payment-methods/`)).body
      .data;
    expectError(
      await asKey(tenant.keys.test_secret, `${CUSTOMERS}${other.id}/payment-methods/`, {
        body: { payment_method: method.id },
      }),
      409,
      "conflict",
    );
    expect(
      (await asKey(tenant.keys.test_secret, `${CUSTOMERS}${other.id}/payment-methods/`)).body.data,
    ).toEqual([]);
    const kept = await asKey(tenant.keys.test_secret, `${CUSTOMERS}${owner.id}/payment-methods/`);
    expect(kept.body.data.map((m: { id: string }) => m.id)).toEqual([method.id]);
  });

  it("a payment method id Stripe does not have (or not on this customer) is 404, wherever it is given", async () => {
    const own = await billingTenant();
    const plan = await makePlan(own, { trial_days: 0 });
    const customer = await payingCustomer(own);
    const draft = await makeInvoice(own, {
      customer: customer.id,
      currency: "usd",
      items: [{ unit_amount: 100, description: "x" }],
    });
    for (const [path, body] of [
      [`${CUSTOMERS}${customer.id}/payment-methods/`, { payment_method: "pm_nope" }],
      [
        "/api/v1/auth/subscriptions/",
        { customer: customer.id, plan: plan.id, default_payment_method: "pm_nope" },
      ],
      [`/api/v1/auth/invoices/${draft.id}/pay/`, { payment_method: "pm_nope" }],
    ] as const) {
      const res = await asKey(own.keys.test_secret, path, { body });
      expect(expectError(res, 404, "not_found").message, path).toMatch(/pm_nope/);
    }
  });

  it("a SetupIntent answers its client secret and what Stripe.js needs", async () => {
    const customer = await makeCustomer(tenant);
    const res = await asKey(tenant.keys.test_secret, `${CUSTOMERS}${customer.id}/setup-intent/`, {
      method: "POST",
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({
      id: expect.stringMatching(/^seti_/),
      client_secret: expect.stringMatching(/^seti_.+_secret_/),
      customer: customer.id,
      stripe_account: tenant.account,
    });
    // A second request with the same X-Request-Id is a new intent, not Stripe's replay of the first.
    const again = await asKey(tenant.keys.test_secret, `${CUSTOMERS}${customer.id}/setup-intent/`, {
      method: "POST",
      headers: { "X-Request-Id": res.headers.get("X-Request-Id") ?? "" },
    });
    expect(again.headers.get("X-Request-Id")).toBe(res.headers.get("X-Request-Id"));
    expect(again.body.id).not.toBe(res.body.id);
  });

  it("a portal session answers the portal's URL", async () => {
    const customer = await makeCustomer(tenant);
    const res = await call(`${CUSTOMERS}${customer.id}/portal-session/`, {
      token: tenant.tokens.billing,
      body: { return_url: "https://tenant.example/account" },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({
      id: expect.stringMatching(/^bps_/),
      url: expect.stringMatching(/^http/),
      customer: customer.id,
    });
    expectError(
      await call(`${CUSTOMERS}${customer.id}/portal-session/`, {
        token: tenant.tokens.billing,
        body: { return_url: "nope" },
      }),
      400,
      "validation_error",
    );
  });
});
