import { useState } from "preact/hooks";
import { useLocation } from "preact-iso/router";
import { ErrorMessage, Loading } from "../../components/feedback";
import { SelectField, TextField } from "../../components/form";
import { Card, Page } from "../../components/page";
import { LoadMore } from "../../components/table";
import { SUBSCRIPTIONS } from "../../lib/api";
import { SUBSCRIPTION_STATES, type Subscription, type SubscriptionStatus } from "../../lib/billing-types";
import { dayBound } from "../../lib/dates";
import { humanize } from "../../lib/format";
import { useDebounced, usePagedList } from "../../lib/hooks";
import { useCan } from "../../lib/permissions";
import { BASE } from "../../routes";
import { SubscriptionsTable, usePlans } from "./shared";

export const STATUS_OPTIONS = [
  ["", "All"],
  ...SUBSCRIPTION_STATES.map((status) => [status, humanize(status)] as const),
] as const;

/** Every subscription of the tenant's customers, newest first, with filters. */
export default function SubscriptionsList() {
  const can = useCan();
  const { query: params } = useLocation();
  const [status, setStatus] = useState<"" | SubscriptionStatus>("");
  const [customer, setCustomer] = useState(params.customer ?? "");
  const [plan, setPlan] = useState("");
  const [since, setSince] = useState("");
  const [until, setUntil] = useState("");
  const customerId = useDebounced(customer.trim());
  const plans = usePlans();
  const list = usePagedList<Subscription>(SUBSCRIPTIONS, {
    status,
    customer: customerId,
    plan,
    "created[gte]": dayBound(since, false),
    "created[lte]": dayBound(until, true),
  });
  const filtered = Boolean(status || customerId || plan || since || until);

  return (
    <Page
      title="Subscriptions"
      lead="Your customers' subscriptions to your plans, on your connected Stripe account."
      actions={
        can("subscriptions.manage") ? (
          <a class="button button-primary" href={`${BASE}/subscriptions/new`}>
            New subscription
          </a>
        ) : null
      }
    >
      <Card>
        <search class="filters" aria-label="Filter subscriptions">
          <SelectField label="Status" value={status} onValue={setStatus} options={STATUS_OPTIONS} />
          <SelectField
            label="Plan"
            value={plan}
            onValue={setPlan}
            options={[["", "All"], ...plans.all.map((item) => [item.id, item.name] as const)]}
          />
          <TextField
            label="Customer id"
            value={customer}
            onValue={setCustomer}
            placeholder="cust_… or ext:…"
          />
          <TextField label="Created from" type="date" value={since} onValue={setSince} />
          <TextField label="Created until" type="date" value={until} onValue={setUntil} />
        </search>
        <ErrorMessage error={list.error ?? plans.error} />
        {list.loading && !list.data ? <Loading /> : null}
        {list.data ? (
          <SubscriptionsTable
            rows={list.data}
            planName={plans.name}
            empty={filtered ? "No subscription matches these filters." : "No subscriptions yet."}
          />
        ) : null}
        <LoadMore hasMore={list.hasMore} loading={list.loadingMore} onLoad={list.loadMore} />
      </Card>
    </Page>
  );
}
