import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { type BillingTenant, shuffled } from "../billing";
import { call } from "../harness";
import { deliver, type ScenarioPrices, scenarioEvents, scenarioTenant } from "./scenario";

/**
 * The answer key of the scenario in ./scenario.ts, worked out by hand.
 *
 * USD MRR on 1 March (end of February): C1 $50 × 3 − 20 % = $120, C2 $1,200 / 12 = $100, C3 $200:
 *   12,000 + 10,000 + 20,000 = 42,000 cents; 3 paying customers, 3 subscribers.
 * March movements (USD): new C6 2,500 (50 % of $50) + C5 5,000 = 7,500 (2); expansion C3 20,000 (1);
 *   contraction C2 10,000 → 5,000 = 5,000 (1); churn C1 12,000 (1); reactivation C1 5,000 (1).
 * USD MRR on 31 March: 42,000 + 7,500 + 20,000 + 5,000 − 5,000 − 12,000 = 57,500
 *   (C1 5,000 + C2 5,000 + C3 40,000 + C5 5,000 + C6 2,500); paying customers: C1, C2, C3, C5, C6 = 5.
 * Daily USD MRR: 42,000 → 62,000 (5th) → 57,000 (8th) → 59,500 (10th) → 64,500 (17th) → 52,500 (20th)
 *   → 57,500 (25th).
 * MRR growth = (57,500 − 42,000) / 42,000 = 0.36905 → 0.369 (4 places: 0.369)
 * Customer churn rate = 1 lost / 3 at start = 0.3333
 * Net MRR churn = (12,000 + 5,000 − 20,000 − 5,000) / 42,000 = −8,000 / 42,000 = −0.1905
 * ARPA = 57,500 / 5 = 11,500
 * LTV = ARPA / monthly churn; monthly churn = (1/3) × (30.4375 / 31 days) = 0.327285;
 *   11,500 / 0.327285 = 35,137.6 → 35,138
 * Trials: started 2 (C5, C7), converted 1 (C5), lost 1 (C7): conversion 0.5
 * Revenue (paid in March): C6 2,500 + C3 40,000 + C5 5,000 = 47,500; fees 15 %: 375 + 6,000 + 750 = 7,125
 *   (C1's February payment of 12,000 is not in March).
 * EUR: MRR €60 → €90 (C4 ×2 → ×3: expansion 3,000), 1 customer, no churn (rate 0, LTV none),
 *   growth 0.5, net MRR churn −3,000 / 6,000 = −0.5, ARPA 9,000, revenue 6,000, fee 900.
 */
const MARCH = "from=2026-03-01&to=2026-03-31";

const usdMarch = {
  currency: "usd",
  mrr: 57_500,
  arr: 690_000,
  mrr_at_start: 42_000,
  mrr_growth_rate: 0.369,
  paying_customers: 5,
  paying_customers_at_start: 3,
  subscribers: 5,
  arpa: 11_500,
  customer_churn_rate: 0.3333,
  net_mrr_churn_rate: -0.1905,
  ltv: 35_138,
  trial_conversion_rate: 0.5,
  movements: {
    new: { mrr: 7500, count: 2 },
    expansion: { mrr: 20_000, count: 1 },
    contraction: { mrr: 5000, count: 1 },
    churn: { mrr: 12_000, count: 1 },
    reactivation: { mrr: 5000, count: 1 },
  },
  trials: { started: 2, converted: 1, lost: 1 },
  revenue: 47_500,
  refunds: 0,
  net_revenue: 47_500,
  fees: 7125,
};

const eurMarch = {
  currency: "eur",
  mrr: 9000,
  arr: 108_000,
  mrr_at_start: 6000,
  mrr_growth_rate: 0.5,
  paying_customers: 1,
  paying_customers_at_start: 1,
  subscribers: 1,
  arpa: 9000,
  customer_churn_rate: 0,
  net_mrr_churn_rate: -0.5,
  ltv: null,
  trial_conversion_rate: null,
  movements: {
    new: { mrr: 0, count: 0 },
    expansion: { mrr: 3000, count: 1 },
    contraction: { mrr: 0, count: 0 },
    churn: { mrr: 0, count: 0 },
    reactivation: { mrr: 0, count: 0 },
  },
  trials: { started: 0, converted: 0, lost: 0 },
  revenue: 6000,
  refunds: 0,
  net_revenue: 6000,
  fees: 900,
};

let tenant: BillingTenant;
let prices: ScenarioPrices;
beforeAll(async () => {
  ({ tenant, prices } = await scenarioTenant());
});

const TABLES = [
  "customers",
  "customer_subscriptions",
  "invoices",
  "mrr_states",
  "mrr_movements",
  "analytics_daily",
  "analytics_monthly",
  "analytics_plans",
  "revenue_entries",
];

async function wipe(tenantId: string) {
  for (const table of TABLES)
    await env.DB.prepare(`DELETE FROM ${table} WHERE tenant_id = ?`).bind(tenantId).run();
}

const get = (path: string) => call(`/api/v1/auth/analytics/${path}`, { token: tenant.tokens.billing });

/** Every figure the API gives for the scenario, to compare runs in different orders. */
async function figures() {
  const summary = (await get(`summary/?${MARCH}`)).body;
  const mrr = (await get("mrr/?from=2026-01-01&to=2026-03-31&interval=month")).body;
  const daily = (await get("mrr/?from=2026-03-01&to=2026-03-31&interval=day&currency=usd")).body;
  const movements = (await get(`movements/?${MARCH}&limit=100`)).body.data.map(
    ({ id: _id, customer: _c, subscription: _s, source_event_id: _e, ...m }: Record<string, unknown>) => m,
  );
  const plans = (await get("plans/")).body;
  return { summary, mrr, daily, movements, plans };
}

describe("analytics: the answer key", () => {
  it("gives every figure of the hand-checked scenario, in order, shuffled, and twice", {
    timeout: 120_000,
  }, async () => {
    const events = scenarioEvents(tenant.account, prices, "k");
    await deliver(events);

    const summary = await get(`summary/?${MARCH}`);
    expect(summary.status, JSON.stringify(summary.body)).toBe(200);
    expect(summary.body).toEqual({
      from: "2026-03-01",
      to: "2026-03-31",
      livemode: false,
      currencies: [eurMarch, usdMarch],
    });

    const monthly = (await get("mrr/?from=2026-01-01&to=2026-03-31&interval=month&currency=usd")).body
      .series[0].data;
    expect(
      monthly.map((b: Record<string, number>) => [
        b.period_start,
        b.mrr,
        b.new,
        b.expansion,
        b.contraction,
        b.churn,
        b.reactivation,
      ]),
    ).toEqual([
      ["2026-01-01", 0, 0, 0, 0, 0, 0],
      ["2026-02-01", 42_000, 42_000, 0, 0, 0, 0],
      ["2026-03-01", 57_500, 7500, 20_000, 5000, 12_000, 5000],
    ]);
    const daily = (await get("mrr/?from=2026-03-19&to=2026-03-26&interval=day&currency=usd")).body.series[0]
      .data;
    expect(daily.map((b: Record<string, number>) => [b.period_start, b.mrr])).toEqual([
      ["2026-03-19", 64_500],
      ["2026-03-20", 52_500],
      ["2026-03-21", 52_500],
      ["2026-03-22", 52_500],
      ["2026-03-23", 52_500],
      ["2026-03-24", 52_500],
      ["2026-03-25", 57_500],
      ["2026-03-26", 57_500],
    ]);

    const movements = (await get(`movements/?${MARCH}&limit=100&currency=usd`)).body.data;
    expect(
      movements.map((m: Record<string, unknown>) => [m.effective_at, m.type, m.mrr_before, m.mrr_after]),
    ).toEqual([
      ["2026-03-25T12:00:00.000Z", "reactivation", 0, 5000],
      ["2026-03-20T12:00:00.000Z", "churn", 12_000, 0],
      ["2026-03-17T12:00:00.000Z", "new", 0, 5000],
      ["2026-03-10T12:00:00.000Z", "new", 0, 2500],
      ["2026-03-08T12:00:00.000Z", "contraction", 10_000, 5000],
      ["2026-03-05T12:00:00.000Z", "expansion", 20_000, 40_000],
    ]);
    // By plan, as things stand after every state: C6's three months at 50 % off are over (+$25).
    const euro = (await get(`movements/?${MARCH}&currency=eur`)).body.data;
    expect(euro.map((m: Record<string, unknown>) => [m.effective_at, m.type, m.amount])).toEqual([
      ["2026-03-22T12:00:00.000Z", "expansion", 3000],
    ]);
    const byPlan = (await get("plans/")).body.data.map((p: Record<string, unknown>) => [
      p.name,
      p.currency,
      p.mrr,
      p.subscribers,
    ]);
    expect(byPlan).toEqual(
      expect.arrayContaining([
        ["Pro", "usd", 40_000, 1],
        ["Basic", "usd", 20_000, 4],
        ["Euro", "eur", 9000, 1],
      ]),
    );
    const inOrder = await figures();

    for (const seed of [11, 2024]) {
      await wipe(tenant.tenantId);
      const again = shuffled(scenarioEvents(tenant.account, prices, "k"), seed).map((e) => ({
        ...e,
        id: `${e.id}_${seed}`,
      }));
      await deliver(again);
      expect(await figures(), `shuffled with seed ${seed}`).toEqual(inOrder);
      await deliver([...shuffled(again, seed + 1), ...again]);
      expect(await figures(), `replayed (seed ${seed})`).toEqual(inOrder);
    }
  });
});
