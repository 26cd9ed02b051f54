import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { emitTenantEvent } from "../../src/modules/webhooks/events.service";
import { testContext } from "../context";
import { eventually } from "../eventually";
import {
  ALL_ROLES,
  call,
  expectError,
  PASSWORD,
  registerTeam,
  registerTenant,
  type TeamTenant,
  type TestTenant,
  unique,
} from "../harness";
import { behave, hookUrl, received } from "../receiver";

// GET /api/v1/auth/tenants/audit-log: who may list it, what is recorded, the action-prefix filter
// and cursor pagination. (Which records each module writes in the same batch as its change is
// checked by that module's tests, in D1.)

const AUDIT = "/api/v1/auth/tenants/audit-log/";
const KEYS = "/api/v1/auth/tenants/api-keys/";

interface Entry {
  id: string;
  action: string;
  actor: { type: string; id: string | null };
  target: { type: string | null; id: string | null };
  reason: string | null;
  metadata: Record<string, unknown> | null;
  request_id: string | null;
  created_at: string;
}

interface WalkOptions {
  /** More query parameters, e.g. `&action=user.`. */
  query?: string;
  limit?: number;
  /** Where to start (a `next_cursor`); the first page otherwise. */
  cursor?: string | null;
}

/** Every record a caller can list, walking the cursor page by page; checks each page's shape. */
async function walk(token: string, { query = "", limit = 100, cursor = null }: WalkOptions = {}) {
  const entries: Entry[] = [];
  let pages = 0;
  do {
    const url: string = `${AUDIT}?limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ""}`;
    const res = await call<{ data: Entry[]; has_more: boolean; next_cursor: string | null }>(url, { token });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.data.length).toBeLessThanOrEqual(limit);
    // A page says there is more exactly when it hands out a cursor, and then it is full.
    expect(res.body.has_more).toBe(res.body.next_cursor !== null);
    if (res.body.has_more) expect(res.body.data).toHaveLength(limit);
    entries.push(...res.body.data);
    cursor = res.body.next_cursor;
    pages++;
    expect(pages, "pagination does not end").toBeLessThan(200);
  } while (cursor);
  return { entries, pages };
}

async function recordCount(tenantId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM audit_log WHERE tenant_id = ?")
    .bind(tenantId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

async function tenantOfRecords(ids: string[]): Promise<string[]> {
  const rows = await env.DB.prepare(
    `SELECT DISTINCT tenant_id FROM audit_log WHERE id IN (${ids.map(() => "?").join(",")})`,
  )
    .bind(...ids)
    .all<{ tenant_id: string }>();
  return rows.results.map((row) => row.tenant_id);
}

/** Writes audit rows straight to D1, `count` of them at the very same millisecond. */
async function insertRecords(tenantId: string, action: string, count: number, at: number) {
  const statements = Array.from({ length: count }, (_, i) =>
    env.DB.prepare(
      "INSERT INTO audit_log (id, tenant_id, actor_type, actor_id, action, created_at) VALUES (?, ?, 'system', NULL, ?, ?)",
    ).bind(`aud_${unique("bulk")}${i}`, tenantId, action, at),
  );
  await env.DB.batch(statements);
}

describe("who may list the audit log", () => {
  let team: TeamTenant;
  beforeAll(async () => {
    team = await registerTeam();
  });

  it("the owner does", async () => {
    const res = await call(AUDIT, { token: team.tokens.owner });
    expect(res.status).toBe(200);
    expect(res.body.data.length).toBeGreaterThan(0);
  });

  it.each(ALL_ROLES.filter((role) => role !== "owner"))(
    "a user with role %s does not (403)",
    async (role) => {
      expectError(await call(AUDIT, { token: team.tokens[role] }), 403, "forbidden");
    },
  );

  it("nobody without credentials, nor with an API key (401)", async () => {
    expectError(await call(AUDIT), 401, "unauthenticated");
    const keys = await call(`${KEYS}regenerate/`, {
      token: team.tokens.owner,
      body: { key_type: "test", confirm: true },
    });
    expectError(
      await call(AUDIT, { headers: { "X-API-Key": keys.body.keys.test_secret } }),
      401,
      "unauthenticated",
    );
  });
});

describe("what is recorded", () => {
  it("registration: the tenant and its first keys, by the owner, with the request's id", async () => {
    const email = `${unique("audit")}@example.com`;
    const registered = await call("/api/v1/auth/tenants/register/", {
      body: { company_name: `Audit ${unique()}`, email, password: PASSWORD },
    });
    expect(registered.status).toBe(201);
    const owner = registered.body.user.id;
    const tenantId = registered.body.tenant.id;
    const requestId = registered.headers.get("X-Request-Id");
    const { entries } = await walk(registered.body.tokens.access);
    const byAction = Object.fromEntries(entries.map((e) => [e.action, e]));
    expect(Object.keys(byAction).sort()).toEqual(["api_keys.created", "tenant.registered"]);
    expect(byAction["tenant.registered"]).toMatchObject({
      id: expect.stringMatching(/^aud_/),
      actor: { type: "user", id: owner },
      target: { type: "tenant", id: tenantId },
      reason: null,
      request_id: requestId,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
    expect(byAction["api_keys.created"]).toMatchObject({
      actor: { type: "user", id: owner },
      target: { type: "api_keys", id: "all" },
      metadata: { key_ids: [expect.any(String), expect.any(String), expect.any(String), expect.any(String)] },
      request_id: requestId,
    });
    // Keys are never in the log, not even masked ones.
    expect(JSON.stringify(entries)).not.toMatch(/[ps]k_(live|test)_/);
  });

  it("users: invited, role changed and removed, by the owner, naming the user", async () => {
    const tenant = await registerTenant();
    const token = tenant.owner.access;
    const invited = await call("/api/v1/auth/tenants/users/", {
      token,
      body: { email: `${unique()}@example.com`, role: "developer", password: PASSWORD },
    });
    expect(invited.status).toBe(201);
    const userId = invited.body.user.id;
    const url = `/api/v1/auth/tenants/users/${userId}/`;
    expect((await call(url, { token, method: "PATCH", body: { role: "admin" } })).status).toBe(200);
    expect((await call(url, { token, method: "DELETE" })).status).toBe(200);

    const { entries } = await walk(token, { query: "&action=user." });
    expect(entries.map((e) => e.action)).toEqual(["user.removed", "user.role_changed", "user.invited"]);
    for (const entry of entries) {
      expect(entry).toMatchObject({ actor: { type: "user", id: tenant.owner.id }, target: { id: userId } });
    }
    expect(entries[1]?.metadata).toEqual({ from_role: "developer", to_role: "admin" });
    expect(entries[2]?.metadata).toMatchObject({ role: "developer" });
  });

  it("API keys: a revocation with its reason", async () => {
    const tenant = await registerTenant();
    const revoked = await call(`${KEYS}revoke/`, {
      token: tenant.owner.access,
      body: { key_type: "test", reason: "leaked in a CI log", confirm: true },
    });
    expect(revoked.status).toBe(200);
    const { entries } = await walk(tenant.owner.access, { query: "&action=api_keys.revoked" });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      actor: { type: "user", id: tenant.owner.id },
      reason: "leaked in a CI log",
      request_id: revoked.headers.get("X-Request-Id"),
    });
  });

  it("webhooks: an endpoint disabled by a 410, by the system, visibly to the tenant", async () => {
    const hook = unique("gone");
    await behave(hook, [], { status: 410 });
    const tenant = await registerTenant();
    const token = tenant.owner.access;
    const config = "/api/v1/auth/tenants/webhooks/config/";
    expect((await call(config, { token, body: { webhook_url: hookUrl(hook) } })).status).toBe(200);
    const event = await emitTenantEvent(testContext(), {
      tenantId: tenant.tenantId,
      type: "plan.created",
      object: { id: "plan_x" },
    });
    await received(hook, 1);
    const audit = await eventually(async () => {
      const res = await call(`${AUDIT}?action=webhook_endpoint.disabled`, { token });
      expect(res.body.data).toHaveLength(1);
      return res;
    });
    expect(audit.body.data[0]).toMatchObject({
      actor: { type: "system", id: null },
      target: { type: "webhook_endpoint", id: hookUrl(hook) },
      reason: expect.stringContaining("410"),
      metadata: { event_id: event.id, status_code: 410 },
    });
  });
});

describe("GET /audit-log/", () => {
  it("lists the tenant's key events newest first with cursor pagination, for owners only", async () => {
    const team = await registerTeam();
    await call(`${KEYS}regenerate/`, { token: team.tokens.owner, body: { key_type: "test", confirm: true } });
    const first = await call("/api/v1/auth/tenants/audit-log/?action=api_keys&limit=1", {
      token: team.tokens.owner,
    });
    expect(first.status).toBe(200);
    expect(first.body.data).toHaveLength(1);
    expect(first.body.data[0]).toMatchObject({ action: "api_keys.regenerated", actor: { type: "user" } });
    expect(first.body.has_more).toBe(true);
    const second = await call(
      `/api/v1/auth/tenants/audit-log/?action=api_keys&limit=1&cursor=${first.body.next_cursor}`,
      {
        token: team.tokens.owner,
      },
    );
    expect(second.body.data[0].action).toBe("api_keys.created");
    expect(second.body.has_more).toBe(false);

    expectError(
      await call("/api/v1/auth/tenants/audit-log/", { token: team.tokens.admin }),
      403,
      "forbidden",
    );
    expectError(
      await call("/api/v1/auth/tenants/audit-log/?cursor=%%%", { token: team.tokens.owner }),
      400,
      "validation_error",
    );
  });
});

describe("the action filter", () => {
  let tenant: TestTenant;
  let all: string[];
  beforeAll(async () => {
    tenant = await registerTenant();
    const token = tenant.owner.access;
    const keys = await call(`${KEYS}regenerate/`, { token, body: { key_type: "test", confirm: true } });
    expect(keys.status).toBe(200);
    const revoked = await call(`${KEYS}revoke/`, {
      token,
      body: { key_type: "test", reason: "filter test", confirm: true },
    });
    expect(revoked.status).toBe(200);
    // Using the revoked key is recorded off the response path: `api_key.…`, not `api_keys.…`.
    expectError(
      await call("/api/v1/auth/tenants/verify/", { headers: { "X-API-Key": keys.body.keys.test_secret } }),
      401,
      "unauthenticated",
    );
    const invited = await call("/api/v1/auth/tenants/users/", {
      token,
      body: { email: `${unique()}@example.com`, role: "billing", password: PASSWORD },
    });
    expect(invited.status).toBe(201);
    all = await eventually(async () => {
      const actions = (await walk(token)).entries.map((e) => e.action);
      expect(actions).toContain("api_key.used_after_revoke");
      return actions;
    });
    expect([...all].sort()).toEqual([
      "api_key.used_after_revoke",
      "api_keys.created",
      "api_keys.regenerated",
      "api_keys.revoked",
      "tenant.registered",
      "user.invited",
    ]);
  });

  it.each(["api_key", "api_keys", "api_keys.", "api_keys.revoked", "user.", "tenant"])(
    "action=%s keeps the actions that start with it, and only those",
    async (prefix) => {
      const { entries } = await walk(tenant.owner.access, { query: `&action=${encodeURIComponent(prefix)}` });
      const filtered = entries.map((e) => e.action);
      expect(filtered.length).toBeGreaterThan(0);
      expect(filtered).toEqual(all.filter((action) => action.startsWith(prefix)));
    },
  );

  it("action=api_keys leaves out api_key.used_after_revoke; action=api_key keeps it", async () => {
    const actions = async (prefix: string) =>
      (await walk(tenant.owner.access, { query: `&action=${prefix}` })).entries.map((e) => e.action);
    expect(await actions("api_keys")).not.toContain("api_key.used_after_revoke");
    expect(await actions("api_key")).toContain("api_key.used_after_revoke");
  });

  it.each(["%", "_", "%invited", "invited", "ser.", "api_keys.revoked.", "user.invited "])(
    "is a prefix, not a pattern: action=%j matches nothing",
    async (prefix) => {
      const res = await call(`${AUDIT}?action=${encodeURIComponent(prefix)}`, { token: tenant.owner.access });
      expect(res.status).toBe(200);
      expect(res.body.data).toEqual([]);
    },
  );

  it("paginates within the filter", async () => {
    const { entries, pages } = await walk(tenant.owner.access, { query: "&action=api_keys", limit: 1 });
    expect(entries.map((e) => e.action)).toEqual(all.filter((action) => action.startsWith("api_keys")));
    expect(pages).toBe(3);
  });

  it("refuses a prefix over 100 characters", async () => {
    expectError(
      await call(`${AUDIT}?action=${"a".repeat(101)}`, { token: tenant.owner.access }),
      400,
      "validation_error",
    );
  });
});

describe("cursor pagination", () => {
  let tenant: TestTenant;
  beforeAll(async () => {
    tenant = await registerTenant();
    const now = Date.now();
    // Ties on created_at (the order falls back to the id) around records at distinct times.
    await insertRecords(tenant.tenantId, "test.tied", 7, now - 5_000);
    await insertRecords(tenant.tenantId, "test.tied", 4, now - 60_000);
    for (let i = 1; i <= 5; i++) await insertRecords(tenant.tenantId, "test.single", 1, now - 1_000 * i);
  });

  it.each([1, 2, 3, 5, 100])("pages of %i give every record exactly once, newest first", async (limit) => {
    const total = await recordCount(tenant.tenantId);
    expect(total).toBeGreaterThanOrEqual(2 + 7 + 4 + 5);
    const { entries, pages } = await walk(tenant.owner.access, { limit });
    const ids = entries.map((e) => e.id);
    expect(ids).toHaveLength(total);
    expect(new Set(ids).size).toBe(total);
    expect(pages).toBe(Math.max(1, Math.ceil(total / limit)));
    // Newest first, and within one millisecond by id, descending: the order the cursor relies on.
    for (let i = 1; i < entries.length; i++) {
      const [before, after] = [entries[i - 1] as Entry, entries[i] as Entry];
      expect(before.created_at >= after.created_at).toBe(true);
      if (before.created_at === after.created_at) expect(before.id > after.id).toBe(true);
    }
  });

  it("a record written while paging does not shift the pages still to come", async () => {
    const total = await recordCount(tenant.tenantId);
    const first = await call(`${AUDIT}?limit=4`, { token: tenant.owner.access });
    const seen: string[] = first.body.data.map((e: Entry) => e.id);
    await insertRecords(tenant.tenantId, "test.late", 1, Date.now() + 1_000);
    const rest = await walk(tenant.owner.access, { limit: 3, cursor: first.body.next_cursor });
    const later = rest.entries.map((e) => e.id);
    expect(later.filter((id) => seen.includes(id))).toEqual([]);
    expect(seen.length + later.length).toBe(total);
    expect(rest.entries.map((e) => e.action)).not.toContain("test.late");
  });

  it.each([
    ["garbage", "%%%"],
    ["not base64url of time.id", btoa("hello")],
    ["a time without an id", btoa("1700000000000.")],
  ])("refuses a malformed cursor (%s)", async (_, cursor) => {
    expectError(
      await call(`${AUDIT}?cursor=${encodeURIComponent(cursor)}`, { token: tenant.owner.access }),
      400,
      "validation_error",
    );
  });

  it.each([0, 101, -1, 1.5])("refuses limit=%s", async (limit) => {
    expectError(
      await call(`${AUDIT}?limit=${limit}`, { token: tenant.owner.access }),
      400,
      "validation_error",
    );
  });
});

describe("tenant isolation", () => {
  it("another tenant's records never appear, whatever the filter or cursor", async () => {
    const mine = await registerTeam();
    const other = await registerTeam();
    await call(`${KEYS}revoke/`, {
      token: other.tokens.owner,
      body: { key_type: "test", reason: "other tenant's incident", confirm: true },
    });
    await insertRecords(other.tenantId, "test.other", 3, Date.now());

    const theirs = await walk(other.tokens.owner);
    const theirIds = new Set(theirs.entries.map((e) => e.id));
    expect(theirs.entries.map((e) => e.action)).toEqual(
      expect.arrayContaining(["api_keys.revoked", "test.other"]),
    );

    const ours = await walk(mine.tokens.owner, { limit: 2 });
    expect(ours.entries.length).toBeGreaterThan(0);
    expect(await tenantOfRecords(ours.entries.map((e) => e.id))).toEqual([mine.tenantId]);
    expect(ours.entries.filter((e) => theirIds.has(e.id))).toEqual([]);

    for (const prefix of ["api_keys.revoked", "test.other"]) {
      const res = await call(`${AUDIT}?action=${prefix}`, { token: mine.tokens.owner });
      expect(res.status).toBe(200);
      expect(res.body.data, prefix).toEqual([]);
    }

    // Their cursor is only a position: from it we still see our own records, never theirs.
    const theirFirst = await call(`${AUDIT}?limit=1`, { token: other.tokens.owner });
    expect(theirFirst.body.next_cursor).toEqual(expect.any(String));
    const fromTheirCursor = await walk(mine.tokens.owner, { cursor: theirFirst.body.next_cursor });
    expect(fromTheirCursor.entries.filter((e) => theirIds.has(e.id))).toEqual([]);
  });
});
