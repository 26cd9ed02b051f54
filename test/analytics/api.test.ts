import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { asKey, type BillingTenant, billingTenant, makePlan } from "../billing";
import { call, expectError } from "../harness";
import { stripeEvent } from "../platform-billing/helpers";
import {
  basicSub,
  deliver,
  discountedTenant,
  type Sub,
  scenarioEvents,
  scenarioTenant,
  subscription,
} from "./scenario";

const MARCH = "from=2026-03-01&to=2026-03-31";
let tenant: BillingTenant;
let customers: Record<string, string>;

beforeAll(async () => {
  const setup = await scenarioTenant();
  tenant = setup.tenant;
  await deliver(scenarioEvents(tenant.account, setup.prices, "api"));
  const rows = await env.DB.prepare("SELECT id, stripe_customer_id FROM customers WHERE tenant_id = ?")
    .bind(tenant.tenantId)
    .all<{ id: string; stripe_customer_id: string }>();
  customers = Object.fromEntries(
    rows.results.map((row) => [row.stripe_customer_id.replace("cus_api", "C"), row.id]),
  );
}, 60_000);

const get = (path: string, token = tenant.tokens.developer) =>
  call(`/api/v1/auth/analytics/${path}`, { token });

describe("analytics API", () => {
  it("reads a key's own mode and a user's chosen one", async () => {
    const testKey = await asKey(tenant.keys.test_secret, `/api/v1/auth/analytics/summary/?${MARCH}`);
    expect(testKey.status).toBe(200);
    expect(testKey.body.livemode).toBe(false);
    expect(testKey.body.currencies.map((c: { currency: string }) => c.currency)).toEqual(["eur", "usd"]);
    const liveKey = await asKey(
      tenant.keys.live_secret,
      `/api/v1/auth/analytics/summary/?${MARCH}&mode=test`,
    );
    expect(liveKey.status).toBe(200);
    expect(liveKey.body).toMatchObject({ livemode: true, currencies: [] });
    const user = await get(`summary/?${MARCH}&mode=test`, tenant.tokens.billing);
    expect(user.body).toEqual(testKey.body);
    await expectError(
      await asKey(tenant.keys.test_public, `/api/v1/auth/analytics/summary/`),
      403,
      "forbidden",
    );
  });

  it("answers CSV when asked, with the JSON's rows", async () => {
    const series = await get(`mrr/?from=2026-01-01&to=2026-03-31&currency=usd&mode=test&format=csv`);
    expect(series.status).toBe(200);
    expect(series.headers.get("Content-Type")).toBe("text/csv; charset=utf-8");
    expect(series.body.raw.split("\r\n")).toEqual([
      "currency,period_start,mrr,subscribers,paying_customers,new,expansion,contraction,churn,reactivation,net_change",
      "usd,2026-01-01,0,0,0,0,0,0,0,0,0",
      "usd,2026-02-01,42000,3,3,42000,0,0,0,0,42000",
      "usd,2026-03-01,57500,5,5,7500,20000,5000,12000,5000,15500",
      "",
    ]);
    const accept = await call(`/api/v1/auth/analytics/movements/?${MARCH}&mode=test&type=churn`, {
      token: tenant.tokens.owner,
      headers: { Accept: "text/csv" },
    });
    const [header, churn] = accept.body.raw.split("\r\n");
    expect(header).toBe(
      "id,type,customer,subscription,currency,mrr_before,mrr_after,amount,effective_at,source_event_id",
    );
    expect(churn).toContain(`,churn,${customers.C1},`);
    expect(churn).toContain(",usd,12000,0,-12000,2026-03-20T12:00:00.000Z,");
    const summary = await get(`summary/?${MARCH}&mode=test&format=csv`);
    expect(summary.body.raw.split("\r\n")[0]).toContain("from,to,currency,mrr,arr,");
    expect(summary.body.raw.split("\r\n")).toHaveLength(4);
  });

  it("pages the movements and filters them", async () => {
    const all = (await get(`movements/?${MARCH}&mode=test&limit=100`)).body.data;
    expect(all).toHaveLength(7); // USD: 2 new, expansion, contraction, churn, reactivation; EUR: expansion
    const pages: unknown[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `movements/?${MARCH}&mode=test&limit=3${cursor ? `&cursor=${cursor}` : ""}`;
      const page = await get(query);
      expect(page.status).toBe(200);
      pages.push(...page.body.data);
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(pages).toEqual(all);
    const c1 = (await get(`movements/?mode=test&customer=${customers.C1}&limit=100`)).body.data;
    expect(c1.map((m: { type: string }) => m.type)).toEqual(["reactivation", "churn", "new"]);
    const byStripeless = await get(`movements/?mode=test&customer=cust_nobody`);
    await expectError(byStripeless, 404, "not_found");
  });

  it("gives one customer's MRR history, lifetime revenue and predicted LTV", async () => {
    const res = await get(`customers/${customers.C3}/`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({
      customer: customers.C3,
      livemode: false,
      currencies: [{ currency: "usd", mrr: 40_000, lifetime_revenue: 40_000 }],
    });
    expect(res.body.history.map((m: { type: string; mrr_after: number }) => [m.type, m.mrr_after])).toEqual([
      ["new", 20_000],
      ["expansion", 40_000],
    ]);
    // Another tenant's customer is not found, whoever asks.
    const other = await billingTenant();
    await expectError(
      await call(`/api/v1/auth/analytics/customers/${customers.C3}/`, { token: other.tokens.owner }),
      404,
      "not_found",
    );
  });

  it("keeps a series within from..to: edge buckets are cut at the range, as the summary of it", async () => {
    const ranges = [
      // MRR on the 21st: $420 + $200 − $50 + $25 + $50 − $120; on the 12th: $420 + $200 − $50 + $25.
      ["month", "2026-03-10", "2026-03-21", 52_500],
      ["month", "2026-02-15", "2026-03-21", 52_500],
      ["week", "2026-03-06", "2026-03-12", 59_500],
      ["day", "2026-03-06", "2026-03-12", 59_500],
    ] as const;
    for (const [interval, from, to, mrr] of ranges) {
      const range = `from=${from}&to=${to}&currency=usd&mode=test`;
      const series = (await get(`mrr/?${range}&interval=${interval}`)).body.series[0].data as Record<
        string,
        number | string
      >[];
      const figures = (await get(`summary/?${range}`)).body.currencies[0];
      const sum = (kind: string) => series.reduce((total, point) => total + Number(point[kind]), 0);
      const label = `${interval} ${from}..${to}`;
      expect(series[0]?.period_start, label).toBe(from);
      expect(["new", "expansion", "contraction", "churn", "reactivation"].map(sum), label).toEqual([
        figures.movements.new.mrr,
        figures.movements.expansion.mrr,
        figures.movements.contraction.mrr,
        figures.movements.churn.mrr,
        figures.movements.reactivation.mrr,
      ]);
      expect(series.at(-1)?.mrr, label).toBe(figures.mrr);
      expect(series.at(-1)?.paying_customers, label).toBe(figures.paying_customers);
      expect(series.at(-1)?.mrr, label).toBe(mrr);
    }
  });

  it("refuses a bad range with the field at fault", async () => {
    const backwards = await expectError(
      await get("summary/?from=2026-03-02&to=2026-03-01"),
      400,
      "validation_error",
    );
    expect(JSON.stringify(backwards)).toContain("from");
    // Every range read refuses a backwards range the same way, the ledger's list included.
    for (const path of ["mrr/", "movements/"]) {
      const refused = await expectError(
        await get(`${path}?from=2026-03-02&to=2026-03-01T23:00:00Z`),
        400,
        "validation_error",
      );
      expect(refused.details).toEqual([{ field: "from", message: "`from` must not be after `to`" }]);
    }
    expect((await get("movements/?from=2026-03-01&to=2026-03-01T08:00:00Z")).status).toBe(200);
    await expectError(await get("mrr/?from=2020-01-01&to=2026-01-01"), 400, "validation_error");
    await expectError(await get("mrr/?interval=year"), 400, "validation_error");
    await expectError(await get("summary/?currency=US"), 400, "validation_error");
    await expectError(await get("movements/?type=upgrade"), 400, "validation_error");
    await expectError(await get("summary/?from=yesterday"), 400, "validation_error");
  });
});

describe("analytics as things stand now", () => {
  it("plans/ gives MRR now: a repeating discount still running is subtracted, as in summary/", {
    timeout: 60_000,
  }, async () => {
    const now = Math.floor(Date.now() / 1000);
    const owner = await discountedTenant("now_plans", now - 3600, now + 10 * 86_400);
    const read = (path: string) => call(`/api/v1/auth/analytics/${path}`, { token: owner.tokens.owner });
    const summary = await read("summary/?mode=test");
    expect(summary.status, JSON.stringify(summary.body)).toBe(200);
    expect(summary.body.currencies).toMatchObject([{ currency: "usd", mrr: 2500 }]);
    const plans = await read("plans/?mode=test");
    expect(plans.status).toBe(200);
    expect(plans.body.data).toEqual([
      { plan: expect.any(String), name: "Basic", currency: "usd", mrr: 2500, subscribers: 1 },
    ]);
  });

  it("a CSV export neutralises a tenant's text a spreadsheet would run, and keeps negative amounts as numbers", {
    timeout: 60_000,
  }, async () => {
    const other = await billingTenant();
    const name = '=HYPERLINK("http://evil.example","Basic")';
    const plan = await makePlan(other, { name, price_cents: 5000, currency: "usd" });
    const sub = basicSub(plan.stripe_price_id, "formula");
    const gone = basicSub(plan.stripe_price_id, "formula_gone");
    const created = Math.floor(Date.now() / 1000) - 7200;
    await deliver([
      stripeEvent("customer.subscription.created", subscription(sub), created, { account: other.account }),
      stripeEvent("customer.subscription.created", subscription(gone), created, { account: other.account }),
      stripeEvent(
        "customer.subscription.deleted",
        subscription({ ...gone, status: "canceled" }),
        created + 60,
        {
          account: other.account,
        },
      ),
    ]);
    const read = (path: string) =>
      call(`/api/v1/auth/analytics/${path}`, { token: other.tokens.owner, headers: { Accept: "text/csv" } });
    const plans = await read("plans/?mode=test");
    expect(plans.status).toBe(200);
    expect(plans.body.raw.split("\r\n")[1]).toBe(
      `${plan.id},"'=HYPERLINK(""http://evil.example"",""Basic"")",usd,5000,1`,
    );
    const movements = await read("movements/?mode=test&type=churn");
    expect(movements.body.raw.split("\r\n")[1]).toContain(",usd,5000,0,-5000,");
  });

  it("predicted LTV divides by the unrounded churn rate, as the summary's LTV does", {
    timeout: 60_000,
  }, async () => {
    const other = await billingTenant();
    const plan = await makePlan(other, { name: "Basic", price_cents: 5000, currency: "usd" });
    const now = Math.floor(Date.now() / 1000);
    const sub = (n: number) => basicSub(plan.stripe_price_id, `ltv_${n}`);
    const event = (type: string, s: Sub, at: number) =>
      stripeEvent(type, subscription(s), at, { account: other.account });
    // Three customers 40 days ago; one lost 5 days ago: a churn rate of 1/3 over the last 30 days.
    await deliver([
      ...[1, 2, 3].map((n) => event("customer.subscription.created", sub(n), now - 40 * 86_400)),
      event("customer.subscription.deleted", { ...sub(3), status: "canceled" }, now - 5 * 86_400),
    ]);
    const customer = await env.DB.prepare(
      "SELECT id FROM customers WHERE tenant_id = ? AND stripe_customer_id = ?",
    )
      .bind(other.tenantId, "cus_ltv_1")
      .first<{ id: string }>();
    const read = (path: string) => call(`/api/v1/auth/analytics/${path}`, { token: other.tokens.owner });
    const summary = await read("summary/?mode=test");
    expect(summary.body.currencies).toMatchObject([{ customer_churn_rate: 0.3333, arpa: 5000 }]);
    // 5000 / (1/3 × 30.4375/30) = 14784.4; with the rate rounded to 0.3333 it would be 14786.
    const ltv = Math.round(5000 / ((1 / 3) * (365.25 / 12 / 30)));
    expect(ltv).toBe(14784);
    expect(summary.body.currencies[0].ltv).toBe(ltv);
    const res = await read(`customers/${customer?.id}/`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.currencies).toEqual([
      { currency: "usd", mrr: 5000, lifetime_revenue: 0, predicted_ltv: ltv },
    ]);
  });

  it("customer churn rate counts customers lost, each once (one customer lost twice in the period)", {
    timeout: 60_000,
  }, async () => {
    const other = await billingTenant();
    const plan = await makePlan(other, { name: "Basic", price_cents: 5000, currency: "usd" });
    const april = (day: number) => Math.floor(Date.UTC(2026, 3, day, 12) / 1000);
    const first: Sub = { ...basicSub(plan.stripe_price_id, "twice_a"), customer: "cus_twice" };
    const second = { ...first, id: "sub_twice_b" };
    const event = (type: string, sub: Sub, at: number) =>
      stripeEvent(type, subscription(sub), at, { account: other.account });
    await deliver([
      event("customer.subscription.created", first, april(1)),
      event("customer.subscription.deleted", { ...first, status: "canceled" }, april(11)),
      event("customer.subscription.created", second, april(13)),
      event("customer.subscription.deleted", { ...second, status: "canceled" }, april(16)),
    ]);
    const res = await call("/api/v1/auth/analytics/summary/?mode=test&from=2026-04-06&to=2026-04-30", {
      token: other.tokens.owner,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    // One customer at the start, lost (twice: churn, reactivation, churn): 1 / 1.
    expect(res.body.currencies).toMatchObject([
      {
        currency: "usd",
        paying_customers_at_start: 1,
        paying_customers: 0,
        movements: { churn: { count: 2 }, reactivation: { count: 1 } },
        customer_churn_rate: 1,
      },
    ]);
  });
});
