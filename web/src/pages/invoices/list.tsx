import { useState } from "preact/hooks";
import { useLocation } from "preact-iso/router";
import { ErrorMessage, Loading } from "../../components/feedback";
import { SelectField, TextField } from "../../components/form";
import { Card, Page } from "../../components/page";
import { LoadMore } from "../../components/table";
import { INVOICES } from "../../lib/api";
import { INVOICE_STATES, type Invoice, type InvoiceStatus } from "../../lib/billing-types";
import { dayBound } from "../../lib/dates";
import { humanize } from "../../lib/format";
import { useDebounced, usePagedList } from "../../lib/hooks";
import { useCan } from "../../lib/permissions";
import { BASE } from "../../routes";
import { InvoicesTable } from "./shared";

const STATUS_OPTIONS = [
  ["", "All"],
  ...INVOICE_STATES.map((status) => [status, humanize(status)] as const),
] as const;

/** Every invoice of the tenant's customers (subscription cycles and one-offs), newest first. */
export default function InvoicesList() {
  const can = useCan();
  const { query: params } = useLocation();
  const [status, setStatus] = useState<"" | InvoiceStatus>(
    INVOICE_STATES.find((state) => state === params.status) ?? "",
  );
  const [customer, setCustomer] = useState(params.customer ?? "");
  const [subscription, setSubscription] = useState(params.subscription ?? "");
  const [since, setSince] = useState("");
  const [until, setUntil] = useState("");
  const customerId = useDebounced(customer.trim());
  const subscriptionId = useDebounced(subscription.trim());
  const list = usePagedList<Invoice>(INVOICES, {
    status,
    customer: customerId,
    subscription: subscriptionId,
    "created[gte]": dayBound(since, false),
    "created[lte]": dayBound(until, true),
  });
  const filtered = Boolean(status || customerId || subscriptionId || since || until);

  return (
    <Page
      title="Invoices"
      lead="Your customers' invoices, from their subscriptions and one-off, on your connected Stripe account."
      actions={
        can("invoices.manage") ? (
          <a class="button button-primary" href={`${BASE}/invoices/new`}>
            New invoice
          </a>
        ) : null
      }
    >
      <Card>
        <search class="filters" aria-label="Filter invoices">
          <SelectField label="Status" value={status} onValue={setStatus} options={STATUS_OPTIONS} />
          <TextField
            label="Customer id"
            value={customer}
            onValue={setCustomer}
            placeholder="cust_… or ext:…"
          />
          <TextField
            label="Subscription id"
            value={subscription}
            onValue={setSubscription}
            placeholder="subs_…"
          />
          <TextField label="Created from" type="date" value={since} onValue={setSince} />
          <TextField label="Created until" type="date" value={until} onValue={setUntil} />
        </search>
        <ErrorMessage error={list.error} />
        {list.loading && !list.data ? <Loading /> : null}
        {list.data ? (
          <InvoicesTable
            rows={list.data}
            empty={filtered ? "No invoice matches these filters." : "No invoices yet."}
          />
        ) : null}
        <LoadMore hasMore={list.hasMore} loading={list.loadingMore} onLoad={list.loadMore} />
      </Card>
    </Page>
  );
}
