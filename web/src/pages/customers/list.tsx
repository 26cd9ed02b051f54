import { useState } from "preact/hooks";
import { Badge, ErrorMessage, Loading } from "../../components/feedback";
import { Checkbox, TextField } from "../../components/form";
import { Card, Page } from "../../components/page";
import { type Column, LoadMore, Table } from "../../components/table";
import { CUSTOMERS } from "../../lib/api";
import type { Customer } from "../../lib/billing-types";
import { dayBound } from "../../lib/dates";
import { formatDate } from "../../lib/format";
import { useDebounced, usePagedList } from "../../lib/hooks";
import { useCan } from "../../lib/permissions";
import { BASE } from "../../routes";
import { customerLabel } from "./fields";

const columns: Column<Customer>[] = [
  {
    label: "Customer",
    render: (row) => <a href={`${BASE}/customers/${row.id}`}>{customerLabel(row)}</a>,
  },
  { label: "Email", render: (row) => row.email ?? "—" },
  { label: "Your id", render: (row) => (row.external_id ? <code>{row.external_id}</code> : "—") },
  {
    label: "Status",
    render: (row) => (
      <Badge value={row.deleted ? "canceled" : "active"} label={row.deleted ? "deleted" : "active"} />
    ),
  },
  { label: "Mode", render: (row) => (row.livemode ? "Live" : "Test") },
  { label: "Created", render: (row) => formatDate(row.created_at) },
];

/** The tenant's customers: search by name or email, filters, then open or create one. */
export default function CustomersList() {
  const can = useCan();
  const [search, setSearch] = useState("");
  const [email, setEmail] = useState("");
  const [since, setSince] = useState("");
  const [until, setUntil] = useState("");
  const [withDeleted, setWithDeleted] = useState(false);
  const query = useDebounced(search.trim());
  const exactEmail = useDebounced(email.trim());
  const list = usePagedList<Customer>(CUSTOMERS, {
    search: query,
    email: exactEmail,
    "created[gte]": dayBound(since, false),
    "created[lte]": dayBound(until, true),
    include_deleted: withDeleted ? "true" : "",
  });
  const filtered = Boolean(query || exactEmail || since || until);

  return (
    <Page
      title="Customers"
      lead="The people and companies you bill. Each is a customer in your connected Stripe account."
      actions={
        can("customers.manage") ? (
          <a class="button button-primary" href={`${BASE}/customers/new`}>
            New customer
          </a>
        ) : null
      }
    >
      <Card>
        <search class="filters" aria-label="Filter customers">
          <TextField
            label="Search name or email"
            type="search"
            value={search}
            onValue={setSearch}
            hint="Words match as prefixes: “jan doe”, “jane@exa”."
          />
          <TextField label="Exact email" type="email" value={email} onValue={setEmail} />
          <TextField label="Created from" type="date" value={since} onValue={setSince} />
          <TextField label="Created until" type="date" value={until} onValue={setUntil} />
          <Checkbox label="Include deleted customers" checked={withDeleted} onChecked={setWithDeleted} />
        </search>
        <ErrorMessage error={list.error} />
        {list.loading && !list.data ? <Loading /> : null}
        {list.data ? (
          <Table
            caption="Customers"
            columns={columns}
            rows={list.data}
            rowKey={(row) => row.id}
            empty={filtered ? "No customer matches these filters." : "No customers yet."}
          />
        ) : null}
        <LoadMore hasMore={list.hasMore} loading={list.loadingMore} onLoad={list.loadMore} />
      </Card>
    </Page>
  );
}
