import { Card, Facts } from "../../components/page";
import type { SummaryFigures } from "../../lib/billing-types";
import { formatMoney } from "../../lib/format";

/** `0.0523` → `5.2 %`; null (nothing to divide by) → `—`. */
export const percent = (rate: number | null) =>
  rate === null
    ? "—"
    : new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 1 }).format(rate);

/** `+$12.00` / `−$3.00` / `$0.00`. */
export const change = (minor: number, currency: string) =>
  minor === 0
    ? formatMoney(0, currency)
    : `${minor > 0 ? "+" : "−"}${formatMoney(Math.abs(minor), currency)}`;

/** The summary of one currency over the range: stocks at the end, flows in between. */
export function SummaryCards({ figures }: { figures: SummaryFigures }) {
  const money = (minor: number | null) => (minor === null ? "—" : formatMoney(minor, figures.currency));
  const moved = figures.movements;
  return (
    <div class="grid" data-testid="analytics-summary">
      <Card title="Recurring revenue">
        <Facts
          items={[
            ["MRR", <strong key="mrr">{money(figures.mrr)}</strong>],
            [
              "Change in the range",
              `${change(figures.mrr - figures.mrr_at_start, figures.currency)} (${percent(figures.mrr_growth_rate)})`,
            ],
            ["ARR", money(figures.arr)],
            [
              "Paying customers",
              `${figures.paying_customers} (${figures.paying_customers_at_start} at the start)`,
            ],
            ["Subscribers", String(figures.subscribers)],
            ["ARPA", money(figures.arpa)],
            ["LTV", money(figures.ltv)],
          ]}
        />
      </Card>
      <Card title="Movements and churn">
        <Facts
          items={[
            ["New", `${change(moved.new.mrr, figures.currency)} (${moved.new.count})`],
            ["Expansion", `${change(moved.expansion.mrr, figures.currency)} (${moved.expansion.count})`],
            [
              "Reactivation",
              `${change(moved.reactivation.mrr, figures.currency)} (${moved.reactivation.count})`,
            ],
            [
              "Contraction",
              `${change(-moved.contraction.mrr, figures.currency)} (${moved.contraction.count})`,
            ],
            ["Churn", `${change(-moved.churn.mrr, figures.currency)} (${moved.churn.count})`],
            ["Customer churn rate", percent(figures.customer_churn_rate)],
            ["Net MRR churn rate", percent(figures.net_mrr_churn_rate)],
          ]}
        />
      </Card>
      <Card title="Cash and trials">
        <Facts
          items={[
            ["Revenue", money(figures.revenue)],
            ["Refunds", money(figures.refunds)],
            ["Net revenue", money(figures.net_revenue)],
            ["Platform fees", money(figures.fees)],
            ["Trials started", String(figures.trials.started)],
            [
              "Trial conversion",
              `${percent(figures.trial_conversion_rate)} (${figures.trials.converted} of ${figures.trials.converted + figures.trials.lost})`,
            ],
          ]}
        />
      </Card>
    </div>
  );
}
