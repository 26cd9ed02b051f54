import { Badge } from "../../components/feedback";
import { type Column, Table } from "../../components/table";
import { type Page as ApiPage, PLANS } from "../../lib/api";
import type { Subscription } from "../../lib/billing-types";
import { formatDate } from "../../lib/format";
import { useApi } from "../../lib/hooks";
import type { Plan } from "../../lib/types";
import { BASE } from "../../routes";

/** The tenant's plans (up to 100, the API's page limit), for names in tables and plan pickers. */
export function usePlans() {
  const plans = useApi<ApiPage<Plan>>(PLANS, { limit: 100 });
  const all = plans.data?.data ?? [];
  const name = (id: string | null) => (id ? (all.find((plan) => plan.id === id)?.name ?? id) : "—");
  return { all, name, error: plans.error, loading: plans.loading };
}

/** What a subscription's status badge says, with a scheduled cancellation or a pause. */
export function SubscriptionStatus({ subscription }: { subscription: Subscription }) {
  return (
    <span class="badges">
      <Badge value={subscription.status} />
      {subscription.cancel_at_period_end || subscription.cancel_at ? (
        <Badge value="pending" label="cancels at period end" />
      ) : null}
      {subscription.pause_collection ? <Badge value="pending" label="collection paused" /> : null}
    </span>
  );
}

export function SubscriptionsTable({
  rows,
  planName,
  showCustomer = true,
  empty,
}: {
  rows: Subscription[];
  planName: (id: string | null) => string;
  showCustomer?: boolean;
  empty: string;
}) {
  const columns: Column<Subscription>[] = [
    {
      label: "Subscription",
      render: (row) => (
        <a
          href={`${BASE}/subscriptions/${row.id}`}
          aria-label={`Subscription ${row.id} to ${planName(row.plan)}`}
        >
          {planName(row.plan)}
        </a>
      ),
    },
    ...(showCustomer
      ? [
          {
            label: "Customer",
            render: (row: Subscription) => (
              <a href={`${BASE}/customers/${row.customer}`}>
                <code class="break">{row.customer}</code>
              </a>
            ),
          },
        ]
      : []),
    { label: "Status", render: (row) => <SubscriptionStatus subscription={row} /> },
    { label: "Amount", render: (row) => row.amount_display },
    { label: "Quantity", render: (row) => String(row.quantity) },
    { label: "Renews or ends", render: (row) => formatDate(row.ended_at ?? row.current_period_end) },
    { label: "Mode", render: (row) => (row.livemode ? "Live" : "Test") },
    { label: "Created", render: (row) => formatDate(row.created_at) },
  ];
  return (
    <Table caption="Subscriptions" columns={columns} rows={rows} rowKey={(row) => row.id} empty={empty} />
  );
}
