import { Badge, ErrorMessage, Loading } from "../../components/feedback";
import { Card, Facts } from "../../components/page";
import { type Column, Table } from "../../components/table";
import { ANALYTICS } from "../../lib/api";
import type { CustomerAnalytics, Movement } from "../../lib/billing-types";
import { formatDateTime, formatMoney } from "../../lib/format";
import { useApi } from "../../lib/hooks";
import { BASE } from "../../routes";

/** How each movement type reads and whether it adds to MRR (badge colours follow). */
export const MOVEMENT_BADGE: Record<Movement["type"], string> = {
  new: "active",
  expansion: "active",
  reactivation: "active",
  contraction: "past_due",
  churn: "canceled",
};

const historyColumns: Column<Movement>[] = [
  { label: "When", render: (row) => formatDateTime(row.effective_at) },
  { label: "Movement", render: (row) => <Badge value={MOVEMENT_BADGE[row.type]} label={row.type} /> },
  {
    label: "Change",
    render: (row) => `${row.amount >= 0 ? "+" : "−"}${formatMoney(Math.abs(row.amount), row.currency)}`,
  },
  { label: "MRR after", render: (row) => formatMoney(row.mrr_after, row.currency) },
  {
    label: "Subscription",
    render: (row) =>
      row.subscription ? (
        <a href={`${BASE}/subscriptions/${row.subscription}`}>
          <code class="break">{row.subscription}</code>
        </a>
      ) : (
        "—"
      ),
  },
];

/** The customer's MRR now, lifetime revenue and predicted LTV per currency, and its MRR history. */
export function CustomerMrr({ customerId }: { customerId: string }) {
  const analytics = useApi<CustomerAnalytics>(`${ANALYTICS}/customers/${customerId}`);
  const data = analytics.data;
  return (
    <Card title="Revenue" id="customer-revenue">
      <ErrorMessage error={analytics.error} />
      {analytics.loading && !data ? <Loading /> : null}
      {data && !data.currencies.length ? <p class="empty">No revenue from this customer yet.</p> : null}
      {data?.currencies.map((figures) => (
        <Facts
          key={figures.currency}
          items={[
            [`MRR (${figures.currency.toUpperCase()})`, formatMoney(figures.mrr, figures.currency)],
            ["Lifetime revenue", formatMoney(figures.lifetime_revenue, figures.currency)],
            [
              "Predicted lifetime value",
              figures.predicted_ltv === null ? "—" : formatMoney(figures.predicted_ltv, figures.currency),
            ],
          ]}
        />
      ))}
      {data?.history.length ? (
        <>
          <h3>MRR history</h3>
          <Table
            caption="MRR history"
            columns={historyColumns}
            rows={[...data.history].reverse()}
            rowKey={(row) => row.id}
            empty="No MRR movement yet."
          />
        </>
      ) : null}
    </Card>
  );
}
