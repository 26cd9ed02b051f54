import { and, eq, gte, inArray, lt, lte, sql } from "drizzle-orm";
import type { RequestContext } from "../../context";
import {
  analyticsDaily,
  analyticsMonthly,
  analyticsReconciliations,
  type BillingInterval,
  platformPlans,
  tenantSubscriptions,
  tenants,
} from "../../db/schema";
import { findTenantWithSubscription } from "../../db/tenants";
import { notFound, validationError } from "../../lib/errors";
import { dayRange, type RangeQuery, summary } from "./analytics.service";
import { COUNTED_STATUSES, monthly } from "./mrr";
import { monthOf } from "./rollups";

/**
 * The operator's view: the platform's own MRR (tenants' platform subscriptions), and what the
 * tenants sell through it (their revenue, refunds and the platform's application fees, from the
 * tenants' rollups; live mode unless asked).
 */
const DAY_MS = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const nextMonth = (ms: number) => {
  const date = new Date(ms);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
};

/**
 * The platform's MRR now, per currency and plan, from the tenants' platform subscriptions, each at
 * the price it pays (a plan repriced since keeps its subscribers on their price); the plan's own
 * price only for a subscription made before the price paid was kept.
 */
async function platformMrr(ctx: RequestContext) {
  const ts = tenantSubscriptions;
  const currency = sql<string>`coalesce(${ts.priceCurrency}, ${platformPlans.currency})`;
  const price = sql<number>`coalesce(${ts.priceCents}, ${platformPlans.priceCents})`;
  const interval = sql<BillingInterval>`coalesce(${ts.priceInterval}, ${platformPlans.billingInterval})`;
  const rows = await ctx.db
    .select({
      plan: platformPlans.id,
      name: platformPlans.name,
      tier: platformPlans.tier,
      status: ts.status,
      currency,
      price,
      interval,
      tenants: sql<number>`count(*)`,
    })
    .from(ts)
    .innerJoin(platformPlans, eq(platformPlans.id, ts.planId))
    .where(inArray(ts.status, ["trialing", "active", "past_due"]))
    .groupBy(platformPlans.id, ts.status, currency, price, interval);
  const byCurrency = new Map<
    string,
    {
      currency: string;
      mrr: number;
      paying_tenants: number;
      trialing_tenants: number;
      plans: Map<string, { plan: string; name: string; tier: string; paying_tenants: number; mrr: number }>;
    }
  >();
  for (const row of rows) {
    const entry = byCurrency.get(row.currency) ?? {
      currency: row.currency,
      mrr: 0,
      paying_tenants: 0,
      trialing_tenants: 0,
      plans: new Map(),
    };
    const plan = entry.plans.get(row.plan) ?? {
      plan: row.plan,
      name: row.name,
      tier: row.tier,
      paying_tenants: 0,
      mrr: 0,
    };
    if (COUNTED_STATUSES.includes(row.status as (typeof COUNTED_STATUSES)[number])) {
      const mrr = Math.round(monthly(row.price, row.interval, 1)) * row.tenants;
      entry.mrr += mrr;
      entry.paying_tenants += row.tenants;
      plan.mrr += mrr;
      plan.paying_tenants += row.tenants;
    } else {
      entry.trialing_tenants += row.tenants;
    }
    entry.plans.set(row.plan, plan);
    byCurrency.set(row.currency, entry);
  }
  return [...byCurrency.values()]
    .sort((a, b) => (a.currency < b.currency ? -1 : 1))
    .map(({ plans, ...entry }) => ({
      ...entry,
      arr: entry.mrr * 12,
      by_plan: [...plans.values()].sort((a, b) => b.mrr - a.mrr),
    }));
}

/** Revenue, refunds and fees of every tenant in [from, to], per currency: months whole, days at the edges. */
async function tenantSales(ctx: RequestContext, livemode: boolean, from: number, to: number) {
  const firstFull = monthOf(from) === from ? from : nextMonth(from);
  const afterLastFull = monthOf(to + DAY_MS) === to + DAY_MS ? to + DAY_MS : monthOf(to);
  const months = firstFull < afterLastFull;
  const sums = (table: typeof analyticsDaily | typeof analyticsMonthly, start: number, end: number) =>
    ctx.db
      .select({
        currency: table.currency,
        revenue: sql<number>`coalesce(sum(${table.revenue}), 0)`,
        refunds: sql<number>`coalesce(sum(${table.refunds}), 0)`,
        fees: sql<number>`coalesce(sum(${table.fees}), 0)`,
      })
      .from(table)
      .where(and(eq(table.livemode, livemode), gte(table.bucket, start), lt(table.bucket, end)))
      .groupBy(table.currency);
  // The tenants' combined MRR at the end: each series' latest daily row on or before `to`.
  const mrrAtEnd = ctx.db
    .select({
      currency: analyticsDaily.currency,
      mrr: sql<number>`coalesce(sum(${analyticsDaily.mrr}), 0)`,
      tenants: sql<number>`count(DISTINCT ${analyticsDaily.tenantId})`,
    })
    .from(analyticsDaily)
    .where(
      and(
        eq(analyticsDaily.livemode, livemode),
        lte(analyticsDaily.bucket, to),
        sql`${analyticsDaily.bucket} = (SELECT max(x.bucket) FROM ${analyticsDaily} x
          WHERE x.tenant_id = ${analyticsDaily.tenantId} AND x.livemode = ${analyticsDaily.livemode}
            AND x.currency = ${analyticsDaily.currency} AND x.bucket <= ${to})`,
      ),
    )
    .groupBy(analyticsDaily.currency);
  const [monthRows, head, tail, mrr] = await ctx.db.batch([
    sums(analyticsMonthly, months ? firstFull : 1, months ? afterLastFull : 1),
    sums(analyticsDaily, from, months ? firstFull : to + DAY_MS),
    sums(analyticsDaily, months ? afterLastFull : 1, months ? to + DAY_MS : 1),
    mrrAtEnd,
  ]);
  const byCurrency = new Map<string, { currency: string; revenue: number; refunds: number; fees: number }>();
  for (const row of [...monthRows, ...head, ...tail]) {
    const entry = byCurrency.get(row.currency) ?? { currency: row.currency, revenue: 0, refunds: 0, fees: 0 };
    entry.revenue += row.revenue;
    entry.refunds += row.refunds;
    entry.fees += row.fees;
    byCurrency.set(row.currency, entry);
  }
  const currencies = [...new Set([...byCurrency.keys(), ...mrr.map((m) => m.currency)])].sort();
  return currencies.map((currency) => {
    const money = byCurrency.get(currency) ?? { revenue: 0, refunds: 0, fees: 0 };
    const stock = mrr.find((m) => m.currency === currency);
    return {
      currency,
      mrr: stock?.mrr ?? 0,
      tenants: stock?.tenants ?? 0,
      revenue: money.revenue,
      refunds: money.refunds,
      net_revenue: money.revenue - money.refunds,
      fees: money.fees,
    };
  });
}

/** Tenants by status, and how the last analytics checks went. */
async function platformCounts(ctx: RequestContext) {
  const [byStatus, checks] = await ctx.db.batch([
    ctx.db
      .select({ status: tenants.status, count: sql<number>`count(*)` })
      .from(tenants)
      .groupBy(tenants.status),
    ctx.db
      .select({
        checked: sql<number>`count(DISTINCT ${analyticsReconciliations.tenantId})`,
        drifting: sql<number>`count(DISTINCT CASE WHEN ${analyticsReconciliations.drift} != 0 OR ${analyticsReconciliations.mirrorSubscribers} != ${analyticsReconciliations.ledgerSubscribers} THEN ${analyticsReconciliations.tenantId} END)`,
      })
      .from(analyticsReconciliations),
  ]);
  return {
    tenants: Object.fromEntries(byStatus.map((row) => [row.status, row.count])),
    reconciliation: { tenants_checked: checks[0]?.checked ?? 0, tenants_drifting: checks[0]?.drifting ?? 0 },
  };
}

export async function platformSummary(ctx: RequestContext, query: RangeQuery & { mode?: "live" | "test" }) {
  const { from, to } = dayRange(ctx, query);
  const livemode = (query.mode ?? "live") === "live";
  const [platform, sales, counts] = await Promise.all([
    platformMrr(ctx),
    tenantSales(ctx, livemode, from, to),
    platformCounts(ctx),
  ]);
  return {
    from: iso(from),
    to: iso(to),
    platform: { currencies: platform },
    tenant_sales: { livemode, currencies: sales },
    ...counts,
  };
}

/** One tenant as the operator sees it: its platform subscription, its analytics, its last check. */
export async function tenantAnalytics(
  ctx: RequestContext,
  tenantId: string,
  query: RangeQuery & { mode?: "live" | "test"; currency?: string },
) {
  const { tenant, subscription } = await findTenantWithSubscription(ctx.db, tenantId);
  if (!tenant) throw notFound("Tenant");
  const livemode = (query.mode ?? "live") === "live";
  const [figures, checks] = await Promise.all([
    summary(ctx, query, { tenantId: tenant.id, livemode }),
    ctx.db.select().from(analyticsReconciliations).where(eq(analyticsReconciliations.tenantId, tenant.id)),
  ]);
  return {
    tenant: tenant.id,
    company_name: tenant.companyName,
    status: tenant.status,
    platform_subscription: subscription ? { plan: subscription.planId, status: subscription.status } : null,
    summary: figures,
    reconciliation: checks.map(serializeReconciliation),
  };
}

export const serializeReconciliation = (row: typeof analyticsReconciliations.$inferSelect) => ({
  tenant: row.tenantId,
  livemode: row.livemode,
  currency: row.currency,
  checked_at: row.checkedAt.toISOString(),
  mirror_mrr: row.mirrorMrr,
  ledger_mrr: row.ledgerMrr,
  mirror_subscribers: row.mirrorSubscribers,
  ledger_subscribers: row.ledgerSubscribers,
  drift: row.drift,
  recently_changed: row.recentlyChanged,
});

/** The last check of every tenant's series, drifting ones only if asked; by tenant, a page at a time. */
export async function listReconciliations(
  ctx: RequestContext,
  filters: { drift?: "true" | "false" | undefined; limit: number; cursor?: string | undefined },
) {
  const after = filters.cursor ? decodeSeriesCursor(filters.cursor) : null;
  const r = analyticsReconciliations;
  const rows = await ctx.db
    .select()
    .from(r)
    .where(
      and(
        after
          ? sql`(${r.tenantId}, ${r.livemode}, ${r.currency}) > (${after.tenantId}, ${after.livemode ? 1 : 0}, ${after.currency})`
          : undefined,
        filters.drift === "true"
          ? sql`(${r.drift} != 0 OR ${r.mirrorSubscribers} != ${r.ledgerSubscribers})`
          : undefined,
      ),
    )
    .orderBy(r.tenantId, r.livemode, r.currency)
    .limit(filters.limit + 1);
  const page = rows.slice(0, filters.limit);
  const last = page.at(-1);
  const hasMore = rows.length > filters.limit;
  return {
    data: page.map(serializeReconciliation),
    has_more: hasMore,
    next_cursor: hasMore && last ? btoa(JSON.stringify([last.tenantId, last.livemode, last.currency])) : null,
  };
}

function decodeSeriesCursor(cursor: string): { tenantId: string; livemode: boolean; currency: string } {
  try {
    const [tenantId, livemode, currency] = JSON.parse(atob(cursor)) as unknown[];
    if (typeof tenantId === "string" && typeof livemode === "boolean" && typeof currency === "string")
      return { tenantId, livemode, currency };
  } catch {
    // answered below
  }
  throw validationError("cursor", "Invalid cursor");
}
