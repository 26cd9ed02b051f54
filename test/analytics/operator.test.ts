import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { mrrStates } from "../../src/db/schema";
import type { Logger } from "../../src/lib/logger";
import { ledgerRewrite, recordDueDiscountEnds } from "../../src/modules/analytics/analytics-run";
import { reconcileDueTenants, reconcileTenant } from "../../src/modules/analytics/reconcile";
import { carryRollupsForward } from "../../src/modules/analytics/rollup-writes";
import type { BillingTenant } from "../billing";
import { testContext } from "../context";
import { call, expectError, registerTenant } from "../harness";
import { platformPlan, subscribed } from "../platform-billing/helpers";
import { deliver, discountedTenant, scenarioEvents, scenarioTenant } from "./scenario";

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
    const backwards = "from=2026-03-02&to=2026-03-01";
    for (const path of [`summary/?${backwards}`, `tenants/${tenant.tenantId}/?${backwards}`]) {
      const refused = await expectError(await admin(path), 400, "validation_error");
      expect(refused.details).toEqual([{ field: "from", message: "`from` must not be after `to`" }]);
    }
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

describe("the cron records repeating discounts' ends when they come", () => {
  // Far ahead, so that "today" (10 May) and the discount's end (20 May) share a month whatever
  // day the tests run; the cron runs on a test clock.
  const may = (day: number) => Math.floor(Date.UTC(2099, 4, day, 12) / 1000);
  const cronOn = (day: number) =>
    recordDueDiscountEnds(testContext({ clock: { now: () => new Date(may(day) * 1000) } }));

  it("a monthly series ending today gives today's MRR, and the ledger holds only what happened", {
    timeout: 60_000,
  }, async () => {
    const owner = await discountedTenant("cron_end", may(5), may(20));
    const read = (path: string) => call(`/api/v1/auth/analytics/${path}`, { token: owner.tokens.owner });
    const may2099 = async (to: string) =>
      (await read(`mrr/?from=2099-05-01&to=${to}&interval=month&currency=usd&mode=test`)).body.series[0].data;
    const movements = async () =>
      (await read("movements/?mode=test&limit=100")).body.data.map((m: Record<string, unknown>) => [
        m.effective_at,
        m.type,
        m.amount,
      ]);
    const plans = async () =>
      (await read("plans/?mode=test")).body.data.map((p: Record<string, unknown>) => [p.name, p.mrr]);

    expect(await may2099("2099-05-10")).toEqual([
      expect.objectContaining({ period_start: "2099-05-01", mrr: 2500, new: 2500, expansion: 0 }),
    ]);
    expect(await movements()).toEqual([["2099-05-05T12:00:00.000Z", "new", 2500]]);
    expect(await plans()).toEqual([["Basic", 2500]]);

    // The day before the end there is nothing to record; from its time on, it is recorded once.
    expect(await cronOn(19)).toBe(0);
    expect(await movements()).toHaveLength(1);
    expect(await cronOn(21)).toBe(1);
    expect(await cronOn(22)).toBe(0);
    expect(await movements()).toEqual([
      ["2099-05-20T12:00:00.000Z", "expansion", 2500],
      ["2099-05-05T12:00:00.000Z", "new", 2500],
    ]);
    expect(await may2099("2099-05-31")).toEqual([
      expect.objectContaining({ period_start: "2099-05-01", mrr: 5000, new: 2500, expansion: 2500 }),
    ]);
    const days = (await read("mrr/?from=2099-05-19&to=2099-05-21&interval=day&currency=usd&mode=test")).body
      .series[0].data;
    expect(days.map((d: Record<string, unknown>) => [d.period_start, d.mrr])).toEqual([
      ["2099-05-19", 2500],
      ["2099-05-20", 5000],
      ["2099-05-21", 5000],
    ]);
    expect(await plans()).toEqual([["Basic", 5000]]);
  });

  it("a rewrite from states read before another writer added one fails whole", {
    timeout: 60_000,
  }, async () => {
    const owner = await discountedTenant("cron_race", may(6), may(20));
    const stored = await env.DB.prepare("SELECT customer_id FROM mrr_states WHERE tenant_id = ?")
      .bind(owner.tenantId)
      .first<string>("customer_id");
    const customerId = stored ?? "";
    const ctx = testContext({ clock: { now: () => new Date(may(21) * 1000) } });
    const states = await ctx.db
      .select()
      .from(mrrStates)
      .where(and(eq(mrrStates.tenantId, owner.tenantId), eq(mrrStates.customerId, customerId)));
    const stale = ledgerRewrite(ctx, owner.tenantId, customerId, states, [], may(21) * 1000);
    expect(await cronOn(21)).toBe(1); // the other writer records the end first
    const [first, ...rest] = stale;
    if (!first) throw new Error("expected a rewrite");
    await expect(ctx.db.batch([first, ...rest])).rejects.toThrow(/NOT NULL/);
    const counts = await env.DB.prepare(
      "SELECT (SELECT count(*) FROM mrr_movements WHERE tenant_id = ?1) AS movements, (SELECT mrr FROM analytics_plans WHERE tenant_id = ?1) AS plan_mrr",
    )
      .bind(owner.tenantId)
      .first();
    expect(counts).toEqual({ movements: 2, plan_mrr: 5000 });
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

  it("counts each platform subscription at the price it pays, not at its plan's later price", {
    timeout: 30_000,
  }, async () => {
    const plan = await platformPlan("starter");
    const owner = await registerTenant();
    await subscribed(owner.owner.access, plan.id);
    const planMrr = async () => {
      const body = (await admin("summary/")).body;
      return body.platform.currencies.flatMap((c: { currency: string; by_plan: { plan: string }[] }) =>
        c.by_plan.filter((p) => p.plan === plan.id).map((p) => ({ currency: c.currency, ...p })),
      );
    };
    expect(await planMrr()).toEqual([
      expect.objectContaining({ currency: "usd", mrr: 2900, paying_tenants: 1 }),
    ]);
    // The operator reprices the plan (a yearly EUR price): the subscription stays on its Stripe
    // price, 29.00 USD a month, until it is changed.
    const repriced = await call(`/api/v1/admin/plans/${plan.id}`, {
      method: "PATCH",
      headers: { Authorization: `Bearer ${TOKEN}` },
      body: { price_cents: 99_000, currency: "eur", billing_interval: "year" },
    });
    expect(repriced.status, JSON.stringify(repriced.body)).toBe(200);
    expect(await planMrr()).toEqual([
      expect.objectContaining({ currency: "usd", mrr: 2900, paying_tenants: 1 }),
    ]);
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
