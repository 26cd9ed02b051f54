import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { Logger } from "../../src/lib/logger";
import { reconcileDueTenants, reconcileTenant } from "../../src/modules/analytics/reconcile";
import { carryRollupsForward } from "../../src/modules/analytics/rollup-writes";
import type { BillingTenant } from "../billing";
import { testContext } from "../context";
import { call, expectError } from "../harness";
import { platformPlan } from "../platform-billing/helpers";
import { deliver, scenarioEvents, scenarioTenant } from "./scenario";

const TOKEN = "test-platform-admin-token";
const admin = (path: string, options: { method?: string; token?: string | null } = {}) =>
  call(`/api/v1/admin/analytics/${path}`, {
    method: options.method ?? "GET",
    headers: options.token === null ? {} : { Authorization: `Bearer ${options.token ?? TOKEN}` },
  });

/** Today the scenario's subscriptions stand at: USD C1b 5,000 + C2 5,000 + C3 40,000 + C5 5,000
 * + C6 5,000 (its three months at 50 % off are over) = 60,000 over 5 subscriptions; EUR 9,000. */
const NOW = { usd: 60_000, eur: 9000 };

let tenant: BillingTenant;
beforeAll(async () => {
  const setup = await scenarioTenant();
  tenant = setup.tenant;
  await deliver(scenarioEvents(tenant.account, setup.prices, "op"));
}, 60_000);

const recording = () => {
  const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
  const logger: Logger = {
    info: (msg, fields = {}) => lines.push({ level: "info", msg, fields }),
    warn: (msg, fields = {}) => lines.push({ level: "warn", msg, fields }),
    error: (msg, fields = {}) => lines.push({ level: "error", msg, fields }),
    with: () => logger,
  };
  return { lines, logger };
};

describe("analytics reconciliation", () => {
  it("finds the mirror and the ledger in agreement after the scenario", async () => {
    const res = await admin(`tenants/${tenant.tenantId}/reconcile`, { method: "POST" });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(
      res.body.data.map((r: Record<string, unknown>) => [
        r.livemode,
        r.currency,
        r.mirror_mrr,
        r.ledger_mrr,
        r.mirror_subscribers,
        r.ledger_subscribers,
        r.drift,
      ]),
    ).toEqual([
      [false, "eur", NOW.eur, NOW.eur, 1, 1, 0],
      [false, "usd", NOW.usd, NOW.usd, 5, 5, 0],
    ]);
  });

  it("reports drift (operator API and an error log line) and repairs nothing", async () => {
    await env.DB.prepare(
      "UPDATE customer_subscriptions SET quantity = 3 WHERE tenant_id = ? AND stripe_subscription_id = 'sub_op3'",
    )
      .bind(tenant.tenantId)
      .run();
    const { lines, logger } = recording();
    const rows = await reconcileTenant(testContext({ log: logger }), tenant.tenantId);
    const usd = rows.find((row) => row.currency === "usd");
    expect(usd).toMatchObject({ mirrorMrr: NOW.usd + 20_000, ledgerMrr: NOW.usd, drift: 20_000 });
    expect(lines).toContainEqual({
      level: "error",
      msg: "analytics drift",
      fields: expect.objectContaining({
        tenant_id: tenant.tenantId,
        currency: "usd",
        mirror_mrr: 80_000,
        ledger_mrr: 60_000,
      }),
    });

    const drifting = await admin("reconciliations/?drift=true&limit=100");
    expect(drifting.status).toBe(200);
    const mine = drifting.body.data.filter((r: { tenant: string }) => r.tenant === tenant.tenantId);
    expect(mine).toEqual([expect.objectContaining({ currency: "usd", drift: 20_000 })]);
    const summary = await admin("summary/");
    expect(summary.body.reconciliation.tenants_drifting).toBeGreaterThanOrEqual(1);
    // The figures tenants read did not move.
    const own = await call("/api/v1/auth/analytics/summary/?currency=usd", { token: tenant.tokens.owner });
    expect(own.body.currencies[0].mrr).toBe(NOW.usd);

    await env.DB.prepare(
      "UPDATE customer_subscriptions SET quantity = 2 WHERE tenant_id = ? AND stripe_subscription_id = 'sub_op3'",
    )
      .bind(tenant.tenantId)
      .run();
    const again = await admin(`tenants/${tenant.tenantId}/reconcile`, { method: "POST" });
    expect(again.body.data.every((r: { drift: number }) => r.drift === 0)).toBe(true);
  });

  it("lists every series a page at a time", async () => {
    const first = await admin("reconciliations/?limit=1");
    expect(first.status).toBe(200);
    expect(first.body.data).toHaveLength(1);
    expect(first.body.has_more).toBe(true);
    const seen = [first.body.data[0]];
    let cursor = first.body.next_cursor;
    while (cursor) {
      const page = await admin(`reconciliations/?limit=1&cursor=${encodeURIComponent(cursor)}`);
      seen.push(...page.body.data);
      cursor = page.body.next_cursor;
    }
    const keys = seen.map((r: Record<string, unknown>) => `${r.tenant}|${r.livemode}|${r.currency}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toEqual(
      expect.arrayContaining([`${tenant.tenantId}|false|eur`, `${tenant.tenantId}|false|usd`]),
    );
    await expectError(await admin("reconciliations/?cursor=nonsense"), 400, "validation_error");
  });

  it("checks each tenant once a day from the cron", async () => {
    const checkedAt = () =>
      env.DB.prepare("SELECT max(checked_at) AS at FROM analytics_reconciliations WHERE tenant_id = ?")
        .bind(tenant.tenantId)
        .first<number>("at");
    const before = await checkedAt();
    const soon = testContext({ clock: { now: () => new Date(Date.now() + 60_000) } });
    for (let run = 0; run < 20 && (await checkedAt()) === before; run++) await reconcileDueTenants(soon);
    expect(await checkedAt()).toBe(before);
    const tomorrow = testContext({ clock: { now: () => new Date(Date.now() + 86_400_000 + 60_000) } });
    for (let run = 0; run < 50 && (await checkedAt()) === before; run++) await reconcileDueTenants(tomorrow);
    expect(await checkedAt()).toBeGreaterThan(before ?? 0);
  });
});

describe("the cron carries rollups forward", () => {
  it("gives each series a row for the day and the month, stocks carried, once", async () => {
    const day = Date.UTC(2027, 0, 15);
    const ctx = testContext({ clock: { now: () => new Date(day + 3_600_000) } });
    await carryRollupsForward(ctx);
    await carryRollupsForward(ctx);
    const rows = await env.DB.prepare(
      "SELECT 'daily' AS t, currency, bucket, mrr, subscribers, new_count FROM analytics_daily WHERE tenant_id = ?1 AND bucket = ?2 UNION ALL SELECT 'monthly', currency, bucket, mrr, subscribers, new_count FROM analytics_monthly WHERE tenant_id = ?1 AND bucket = ?2 ORDER BY 1, 2",
    )
      .bind(tenant.tenantId, day)
      .all();
    // 15 January is not a month's first day: only daily rows there.
    expect(rows.results).toEqual([
      { t: "daily", currency: "eur", bucket: day, mrr: NOW.eur, subscribers: 1, new_count: 0 },
      { t: "daily", currency: "usd", bucket: day, mrr: NOW.usd, subscribers: 5, new_count: 0 },
    ]);
    const month = await env.DB.prepare(
      "SELECT currency, mrr FROM analytics_monthly WHERE tenant_id = ? AND bucket = ? ORDER BY currency",
    )
      .bind(tenant.tenantId, Date.UTC(2027, 0, 1))
      .all();
    expect(month.results).toEqual([
      { currency: "eur", mrr: NOW.eur },
      { currency: "usd", mrr: NOW.usd },
    ]);
  });
});

describe("operator analytics", () => {
  it("needs the operator token", async () => {
    await expectError(await admin("summary/", { token: null }), 401, "unauthenticated");
    await expectError(await admin("summary/", { token: tenant.tokens.owner }), 401, "unauthenticated");
    await expectError(
      await admin(`tenants/${tenant.tenantId}/reconcile`, { method: "POST", token: "wrong" }),
      401,
      "unauthenticated",
    );
  });

  it("gives platform MRR from tenants' platform subscriptions and the tenants' sales and fees", async () => {
    const march = "from=2026-03-01&to=2026-03-31&mode=test";
    const before = (await admin(`summary/?${march}`)).body;
    const plan = await platformPlan("pro");
    await env.DB.prepare(
      "INSERT INTO tenant_subscriptions (tenant_id, plan_id, status) VALUES (?, ?, 'active') ON CONFLICT (tenant_id) DO UPDATE SET plan_id = excluded.plan_id, status = 'active'",
    )
      .bind(tenant.tenantId, plan.id)
      .run();
    const after = await admin(`summary/?${march}`);
    expect(after.status, JSON.stringify(after.body)).toBe(200);
    const usd = (body: typeof before) =>
      body.platform.currencies.find((c: { currency: string }) => c.currency === "usd") ?? {
        mrr: 0,
        paying_tenants: 0,
      };
    expect(usd(after.body).mrr - usd(before).mrr).toBe(2900);
    expect(usd(after.body).paying_tenants - usd(before).paying_tenants).toBe(1);
    expect(usd(after.body).by_plan).toContainEqual({
      plan: plan.id,
      name: `Plan ${plan.id}`,
      tier: "pro",
      paying_tenants: 1,
      mrr: 2900,
    });
    // The scenario's March fees (15 %): USD 7,125, EUR 900, at least (other tenants may sell too).
    const sales = Object.fromEntries(
      after.body.tenant_sales.currencies.map((c: { currency: string }) => [c.currency, c]),
    );
    expect(sales.usd.fees).toBeGreaterThanOrEqual(7125);
    expect(sales.usd.revenue).toBeGreaterThanOrEqual(47_500);
    expect(sales.eur.fees).toBeGreaterThanOrEqual(900);
    expect(after.body.tenant_sales.livemode).toBe(false);

    const csv = await admin(`summary/?${march}&format=csv`);
    expect(csv.headers.get("Content-Type")).toContain("text/csv");
    expect(csv.body.raw.split("\r\n")[0]).toBe(
      "from,to,livemode,currency,mrr,tenants,revenue,refunds,net_revenue,fees",
    );
  });

  it("gives one tenant's summary as its own API does, with its last check", async () => {
    const range = "from=2026-03-01&to=2026-03-31";
    const res = await admin(`tenants/${tenant.tenantId}/?${range}&mode=test`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const own = await call(`/api/v1/auth/analytics/summary/?${range}`, { token: tenant.tokens.owner });
    expect(res.body.summary).toEqual(own.body);
    expect(res.body.reconciliation.map((r: { currency: string }) => r.currency)).toEqual(["eur", "usd"]);
    expect(res.body.platform_subscription).toMatchObject({ status: "active" });
    await expectError(await admin("tenants/ten_missing/"), 404, "not_found");
    await expectError(await admin("tenants/ten_missing/reconcile", { method: "POST" }), 404, "not_found");
  });
});
