import { and, asc, desc, eq, gte, lte, sql } from "drizzle-orm";
import { type RequestContext, tenantCaller } from "../../context";
import { analyticsPlans, type MovementType, mrrMovements, plans, revenueEntries } from "../../db/schema";
import { validationError } from "../../lib/errors";
import { decodeCursor, toPage } from "../../lib/pagination";
import { findCustomer } from "../customers/customers.queries";
import { currenciesOf, type Interval, periodFigures, type SeriesScope, seriesOf } from "./analytics.reads";
import { lifetimeValue, monthlyChurnRate, summaryFigures } from "./figures";
import { dayOf } from "./rollups";

const DAY_MS = 86_400_000;
const MAX_DAYS = 3 * 366;

/** The series a caller reads: a key's own mode; a user's the platform's mode unless it asks (`mode`). */
export function analyticsScope(ctx: RequestContext, mode?: "live" | "test"): SeriesScope {
  const caller = tenantCaller(ctx);
  if (caller.kind === "api_key") return { tenantId: caller.tenantId, livemode: caller.mode === "live" };
  return { tenantId: caller.tenantId, livemode: mode ? mode === "live" : ctx.config.stripe.livemode };
}

export interface RangeQuery {
  from?: string | undefined;
  to?: string | undefined;
}

const backwards = () => validationError("from", "`from` must not be after `to`");

/** The days asked for (UTC), each when given; a `from` after `to` is refused (400). */
function askedDays(query: RangeQuery) {
  const from = query.from ? dayOf(Date.parse(query.from)) : undefined;
  const to = query.to ? dayOf(Date.parse(query.to)) : undefined;
  if (from !== undefined && to !== undefined && from > to) throw backwards();
  return { from, to };
}

/** [from, to] as UTC days, inclusive; the last 30 days by default. */
export function dayRange(ctx: RequestContext, query: RangeQuery) {
  const today = dayOf(ctx.clock.now().getTime());
  const asked = askedDays(query);
  const to = asked.to ?? today;
  const from = asked.from ?? to - 29 * DAY_MS;
  if (from > to) throw backwards();
  const days = (to - from) / DAY_MS + 1;
  if (days > MAX_DAYS) throw validationError("from", `At most ${MAX_DAYS} days per request`);
  return { from, to, days };
}

const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export async function summary(
  ctx: RequestContext,
  query: RangeQuery & { mode?: "live" | "test"; currency?: string },
  scope: SeriesScope = analyticsScope(ctx, query.mode),
) {
  const { from, to, days } = dayRange(ctx, query);
  const currencies = query.currency ? [query.currency] : await currenciesOf(ctx, scope);
  const periods = await Promise.all(
    currencies.map((currency) => periodFigures(ctx, scope, currency, from, to)),
  );
  return {
    from: iso(from),
    to: iso(to),
    livemode: scope.livemode,
    currencies: periods.map((period) => summaryFigures(period, days)),
  };
}

export async function mrrSeries(
  ctx: RequestContext,
  query: RangeQuery & { mode?: "live" | "test"; currency?: string; interval: Interval },
) {
  const scope = analyticsScope(ctx, query.mode);
  const { from, to } = dayRange(ctx, query);
  const currencies = query.currency ? [query.currency] : await currenciesOf(ctx, scope);
  const all = await Promise.all(
    currencies.map(async (currency) => ({
      currency,
      buckets: await seriesOf(ctx, scope, currency, from, to, query.interval),
    })),
  );
  return {
    from: iso(from),
    to: iso(to),
    interval: query.interval,
    livemode: scope.livemode,
    series: all.map(({ currency, buckets }) => ({
      currency,
      data: buckets.map((bucket) => ({
        period_start: iso(bucket.start),
        mrr: bucket.end.mrr,
        subscribers: bucket.end.subscribers,
        paying_customers: bucket.end.customers,
        new: bucket.flows.newMrr,
        expansion: bucket.flows.expansionMrr,
        contraction: bucket.flows.contractionMrr,
        churn: bucket.flows.churnMrr,
        reactivation: bucket.flows.reactivationMrr,
        net_change:
          bucket.flows.newMrr +
          bucket.flows.expansionMrr +
          bucket.flows.reactivationMrr -
          bucket.flows.contractionMrr -
          bucket.flows.churnMrr,
      })),
    })),
  };
}

export interface MovementFilters extends RangeQuery {
  mode?: "live" | "test";
  type?: MovementType;
  customer?: string;
  currency?: string;
  limit: number;
  cursor?: string | undefined;
}

/** The ledger, newest first. */
export async function listMovements(ctx: RequestContext, filters: MovementFilters) {
  const scope = analyticsScope(ctx, filters.mode);
  const { from, to } = askedDays(filters);
  const customerId = filters.customer ? (await findCustomer(ctx, filters.customer)).id : undefined;
  const after = decodeCursor(filters.cursor);
  const rows = await ctx.db
    .select()
    .from(mrrMovements)
    .where(
      and(
        eq(mrrMovements.tenantId, scope.tenantId),
        eq(mrrMovements.livemode, scope.livemode),
        filters.type ? eq(mrrMovements.type, filters.type) : undefined,
        filters.currency ? eq(mrrMovements.currency, filters.currency) : undefined,
        customerId ? eq(mrrMovements.customerId, customerId) : undefined,
        from !== undefined ? gte(mrrMovements.effectiveAt, from) : undefined,
        to !== undefined ? lte(mrrMovements.effectiveAt, to + DAY_MS - 1) : undefined,
        after
          ? sql`(${mrrMovements.effectiveAt} < ${after.createdAt.getTime()} OR (${mrrMovements.effectiveAt} = ${after.createdAt.getTime()} AND ${mrrMovements.id} < ${after.id}))`
          : undefined,
      ),
    )
    .orderBy(desc(mrrMovements.effectiveAt), desc(mrrMovements.id))
    .limit(filters.limit + 1);
  return toPage(
    rows.map((row) => ({ ...row, createdAt: new Date(row.effectiveAt) })),
    filters.limit,
  );
}

/** Current MRR and subscribers by plan. */
export async function byPlan(ctx: RequestContext, query: { mode?: "live" | "test" }) {
  const scope = analyticsScope(ctx, query.mode);
  const rows = await ctx.db
    .select({
      planId: analyticsPlans.planId,
      name: plans.name,
      currency: analyticsPlans.currency,
      mrr: analyticsPlans.mrr,
      subscribers: analyticsPlans.subscribers,
    })
    .from(analyticsPlans)
    .leftJoin(plans, eq(plans.id, analyticsPlans.planId))
    .where(and(eq(analyticsPlans.tenantId, scope.tenantId), eq(analyticsPlans.livemode, scope.livemode)))
    .orderBy(desc(analyticsPlans.mrr));
  return {
    livemode: scope.livemode,
    data: rows.map((row) => ({
      plan: row.planId,
      name: row.name,
      currency: row.currency,
      mrr: row.mrr,
      subscribers: row.subscribers,
    })),
  };
}

/**
 * One customer: its MRR history (its ledger), its MRR now, what it paid (net of refunds), and a
 * predicted LTV (its MRR over the tenant's monthly churn rate of the last 30 days).
 */
export async function customerAnalytics(ctx: RequestContext, idOrExternal: string) {
  const customer = await findCustomer(ctx, idOrExternal);
  const scope = { tenantId: customer.tenantId, livemode: customer.livemode };
  const [history, money] = await ctx.db.batch([
    ctx.db
      .select()
      .from(mrrMovements)
      .where(and(eq(mrrMovements.tenantId, scope.tenantId), eq(mrrMovements.customerId, customer.id)))
      .orderBy(asc(mrrMovements.effectiveAt)),
    ctx.db
      .select({
        currency: revenueEntries.currency,
        paid: sql<number>`coalesce(sum(CASE WHEN ${revenueEntries.kind} = 'payment' THEN ${revenueEntries.amount} ELSE 0 END), 0)`,
        refunded: sql<number>`coalesce(sum(CASE WHEN ${revenueEntries.kind} = 'refund' THEN ${revenueEntries.amount} ELSE 0 END), 0)`,
      })
      .from(revenueEntries)
      .where(and(eq(revenueEntries.tenantId, scope.tenantId), eq(revenueEntries.customerId, customer.id)))
      .groupBy(revenueEntries.currency),
  ]);
  const currencies = [
    ...new Set([...history.map((m) => m.currency), ...money.map((m) => m.currency)]),
  ].sort();
  const today = dayOf(ctx.clock.now().getTime());
  const figures = await Promise.all(
    currencies.map(async (currency) => {
      const period = await periodFigures(ctx, scope, currency, today - 29 * DAY_MS, today);
      // Now: the ledger holds what has happened (a discount's end once it has come); a state
      // Stripe stamped a moment ahead of our clock waits for it.
      const now = ctx.clock.now().getTime();
      const last = history.filter((m) => m.currency === currency && m.effectiveAt <= now).at(-1);
      const mrr = last?.mrrAfter ?? 0;
      const paid = money.find((m) => m.currency === currency);
      return {
        currency,
        mrr,
        lifetime_revenue: (paid?.paid ?? 0) - (paid?.refunded ?? 0),
        predicted_ltv: lifetimeValue(mrr, monthlyChurnRate(period, 30)),
      };
    }),
  );
  return {
    customer: customer.id,
    livemode: customer.livemode,
    currencies: figures,
    history: history.map(serializeMovement),
  };
}

export const serializeMovement = (row: typeof mrrMovements.$inferSelect) => ({
  id: row.id,
  type: row.type,
  customer: row.customerId,
  subscription: row.subscriptionId,
  currency: row.currency,
  mrr_before: row.mrrBefore,
  mrr_after: row.mrrAfter,
  amount: row.mrrAfter - row.mrrBefore,
  effective_at: new Date(row.effectiveAt).toISOString(),
  source_event_id: row.sourceEventId,
});
