import type { ComponentChildren } from "preact";
import { Badge, ErrorMessage, Loading } from "../../components/feedback";
import { Card } from "../../components/page";
import { type Column, LoadMore, Table } from "../../components/table";
import { INVOICES, type Query } from "../../lib/api";
import type { Invoice } from "../../lib/billing-types";
import { formatDate, formatMoney } from "../../lib/format";
import { usePagedList } from "../../lib/hooks";
import { BASE } from "../../routes";

/** How people name an invoice: Stripe's number once finalized, else our id (drafts have none). */
export const invoiceLabel = (invoice: Pick<Invoice, "id" | "number">) => invoice.number ?? invoice.id;

/** The invoice's status, with "overdue" or "refunded" where that matters. */
export function InvoiceStatus({ invoice }: { invoice: Invoice }) {
  const refunded = invoice.amount_refunded > 0;
  const overdue =
    invoice.status === "open" &&
    ((invoice.collection_method === "charge_automatically" && invoice.attempt_count > 0) ||
      (invoice.due_date !== null && Date.parse(invoice.due_date) < Date.now()));
  return (
    <span class="badges">
      <Badge value={invoice.status} />
      {overdue ? <Badge value="failed" label="overdue" /> : null}
      {refunded ? (
        <Badge
          value="pending"
          label={invoice.amount_refunded >= invoice.amount_paid ? "refunded" : "partly refunded"}
        />
      ) : null}
    </span>
  );
}

export function InvoicesTable({
  rows,
  showCustomer = true,
  empty,
}: {
  rows: Invoice[];
  showCustomer?: boolean;
  empty: string;
}) {
  const columns: Column<Invoice>[] = [
    {
      label: "Invoice",
      render: (row) => (
        <a href={`${BASE}/invoices/${row.id}`} aria-label={`Invoice ${invoiceLabel(row)}`}>
          <code class="break">{invoiceLabel(row)}</code>
        </a>
      ),
    },
    ...(showCustomer
      ? [
          {
            label: "Customer",
            render: (row: Invoice) =>
              row.customer ? (
                <a href={`${BASE}/customers/${row.customer}`}>
                  <code class="break">{row.customer}</code>
                </a>
              ) : (
                "—"
              ),
          },
        ]
      : []),
    { label: "Status", render: (row) => <InvoiceStatus invoice={row} /> },
    { label: "Total", render: (row) => row.total_display },
    { label: "Remaining", render: (row) => formatMoney(row.amount_remaining, row.currency) },
    { label: "Kind", render: (row) => (row.subscription ? "Subscription" : "One-off") },
    { label: "Due date", render: (row) => formatDate(row.due_date) },
    { label: "Created", render: (row) => formatDate(row.created_at) },
  ];
  return <Table caption="Invoices" columns={columns} rows={rows} rowKey={(row) => row.id} empty={empty} />;
}

/** A section listing the invoices of one customer or one subscription (detail pages). */
export function InvoicesSection({
  query,
  showCustomer,
  empty,
  actions,
}: {
  query: Query;
  showCustomer: boolean;
  empty: string;
  actions?: ComponentChildren;
}) {
  const list = usePagedList<Invoice>(INVOICES, query);
  return (
    <Card title="Invoices" id="invoices" actions={actions}>
      <ErrorMessage error={list.error} />
      {list.loading && !list.data ? <Loading /> : null}
      {list.data ? <InvoicesTable rows={list.data} showCustomer={showCustomer} empty={empty} /> : null}
      <LoadMore hasMore={list.hasMore} loading={list.loadingMore} onLoad={list.loadMore} />
    </Card>
  );
}
