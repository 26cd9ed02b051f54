/**
 * A tenant's analytics history at scale, as SQL: `subscriptions` monthly subscriptions started
 * evenly over `days` days up to `today` (MRR 10 to 55 in the currency's minor units × 100, one
 * in five churned 180 days after its start), with the customers, mirror rows, MRR states,
 * movements and revenue entries the event path would have written, then the daily and monthly
 * rollups derived from those movements. For the read-cost test (test/analytics/scale.test.ts)
 * and the benchmark (bench/scenarios/analytics-*.mjs). Every statement binds the tenant id as ?1.
 */
export interface HistoryShape {
  subscriptions: number;
  days: number;
  /** UTC midnight of the last day, unix ms. */
  today: number;
  /** Live-mode objects (default: test mode). */
  livemode?: boolean;
}

const DAY_MS = 86_400_000;

export const historyMrr = (i: number) => 1000 + (i % 10) * 500;
export const historyChurns = (i: number) => i % 5 === 0;
export const CHURN_AFTER_DAYS = 180;

/** MRR at the end of `today`: every subscription not churned by then. */
export function historyMrrAtEnd({ subscriptions, days, today }: HistoryShape): number {
  const firstDay = today - (days - 1) * DAY_MS;
  let mrr = 0;
  for (let i = 0; i < subscriptions; i++) {
    const start = firstDay + Math.floor((i * days) / subscriptions) * DAY_MS;
    if (!historyChurns(i) || start + CHURN_AFTER_DAYS * DAY_MS > today) mrr += historyMrr(i);
  }
  return mrr;
}

/** The statements, in order: the raw rows (one statement per table), then the rollups. */
export function historyStatements({ subscriptions, days, today, livemode = false }: HistoryShape): {
  label: string;
  sql: string;
}[] {
  const mode = livemode ? 1 : 0;
  const firstDay = today - (days - 1) * DAY_MS;
  const n = `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${subscriptions - 1})`;
  const start = `(${firstDay} + ((i * ${days}) / ${subscriptions}) * ${DAY_MS})`;
  const mrr = "(1000 + (i % 10) * 500)";
  const churnAt = `${start} + ${CHURN_AFTER_DAYS * DAY_MS}`;
  const churned = `i % 5 = 0 AND ${churnAt} <= ${today}`;
  const rollup = (
    table: string,
    bucket: string,
  ) => `INSERT INTO ${table} (tenant_id, livemode, currency, bucket, mrr,
      subscribers, customers, new_mrr, new_count, churn_mrr, churn_count, revenue, fees)
    SELECT ?1, ${mode}, 'usd', bucket,
      sum(sum(mrr_after - mrr_before)) OVER (ORDER BY bucket),
      sum(sum(CASE type WHEN 'new' THEN 1 WHEN 'churn' THEN -1 ELSE 0 END)) OVER (ORDER BY bucket),
      sum(sum(CASE type WHEN 'new' THEN 1 WHEN 'churn' THEN -1 ELSE 0 END)) OVER (ORDER BY bucket),
      sum(CASE type WHEN 'new' THEN mrr_after ELSE 0 END), sum(type = 'new'),
      sum(CASE type WHEN 'churn' THEN mrr_before ELSE 0 END), sum(type = 'churn'),
      sum(CASE type WHEN 'new' THEN mrr_after ELSE 0 END), sum(CASE type WHEN 'new' THEN mrr_after / 10 ELSE 0 END)
    FROM (SELECT ${bucket} AS bucket, type, mrr_before, mrr_after FROM mrr_movements WHERE tenant_id = ?1 AND livemode = ${mode})
    GROUP BY bucket`;
  return [
    {
      label: "customers",
      sql: `${n} INSERT INTO customers (id, tenant_id, livemode, stripe_customer_id, metadata, created_at, updated_at)
        SELECT 'cust_' || ?1 || '_' || i, ?1, ${mode}, 'cus_' || ?1 || '_' || i, '{}', ${start}, ${start} FROM n`,
    },
    {
      label: "customer_subscriptions",
      sql: `${n} INSERT INTO customer_subscriptions (id, tenant_id, livemode, customer_id, stripe_subscription_id,
          stripe_customer_id, status, quantity, unit_amount, currency, interval, metadata, created_at, updated_at)
        SELECT 'subs_' || ?1 || '_' || i, ?1, ${mode}, 'cust_' || ?1 || '_' || i, 'sub_' || ?1 || '_' || i,
          'cus_' || ?1 || '_' || i, CASE WHEN ${churned} THEN 'canceled' ELSE 'active' END,
          1, ${mrr}, 'usd', 'month', '{}', ${start}, ${start} FROM n`,
    },
    {
      label: "mrr_states",
      sql: `${n} INSERT INTO mrr_states (subscription_id, source_event_id, tenant_id, livemode, customer_id, currency,
          effective_at, status, mrr)
        SELECT 'subs_' || ?1 || '_' || i, 'evt_new_' || i, ?1, ${mode}, 'cust_' || ?1 || '_' || i, 'usd', ${start}, 'active', ${mrr} FROM n`,
    },
    {
      label: "mrr_movements (new)",
      sql: `${n} INSERT INTO mrr_movements (id, tenant_id, livemode, customer_id, subscription_id, currency, type,
          mrr_before, mrr_after, effective_at, source_event_id)
        SELECT 'mov_' || ?1 || '_n' || i, ?1, ${mode}, 'cust_' || ?1 || '_' || i, 'subs_' || ?1 || '_' || i, 'usd', 'new',
          0, ${mrr}, ${start}, 'evt_new_' || i FROM n`,
    },
    {
      label: "mrr_movements (churn)",
      sql: `${n} INSERT INTO mrr_movements (id, tenant_id, livemode, customer_id, subscription_id, currency, type,
          mrr_before, mrr_after, effective_at, source_event_id)
        SELECT 'mov_' || ?1 || '_c' || i, ?1, ${mode}, 'cust_' || ?1 || '_' || i, 'subs_' || ?1 || '_' || i, 'usd', 'churn',
          ${mrr}, 0, ${churnAt}, 'evt_churn_' || i FROM n WHERE ${churned}`,
    },
    {
      label: "revenue_entries",
      sql: `${n} INSERT INTO revenue_entries (id, tenant_id, livemode, customer_id, currency, kind, amount, fee, occurred_at)
        SELECT 'invoice:in_' || ?1 || '_' || i, ?1, ${mode}, 'cust_' || ?1 || '_' || i, 'usd', 'payment', ${mrr}, ${mrr} / 10, ${start} FROM n`,
    },
    { label: "analytics_daily", sql: rollup("analytics_daily", `(effective_at / ${DAY_MS}) * ${DAY_MS}`) },
    {
      label: "analytics_monthly",
      sql: rollup(
        "analytics_monthly",
        "unixepoch(date(effective_at / 1000, 'unixepoch', 'start of month')) * 1000",
      ),
    },
  ];
}
