import { useState } from "preact/hooks";
import { useRoute } from "preact-iso/router";
import { ActionDialog } from "../../components/dialog";
import { announce, Badge, ErrorMessage, Loading } from "../../components/feedback";
import { Card, Facts, Page } from "../../components/page";
import { LoadMore } from "../../components/table";
import { api, CUSTOMERS, SUBSCRIPTIONS, segment } from "../../lib/api";
import type { Address, Customer, Subscription } from "../../lib/billing-types";
import { formatDateTime } from "../../lib/format";
import { useAction, useApi, usePagedList } from "../../lib/hooks";
import { useCan } from "../../lib/permissions";
import { BASE } from "../../routes";
import { InvoicesSection } from "../invoices/shared";
import { SubscriptionsTable, usePlans } from "../subscriptions/shared";
import { CustomerMrr } from "./customer-mrr";
import { customerLabel } from "./fields";
import { PaymentMethods } from "./payment-methods";

const addressText = (address: Address | null) =>
  address
    ? [
        address.line1,
        address.line2,
        [address.postal_code, address.city].filter(Boolean).join(" "),
        address.state,
        address.country,
      ]
        .filter(Boolean)
        .join(", ") || "—"
    : "—";

/** What the customer's open invoices ask, and whether any is overdue (the API's billing state). */
function billingText(customer: Customer) {
  const billing = customer.billing;
  if (!billing) return "—";
  if (!billing.open_invoices) return "Nothing owed";
  const sum = (amounts: { amount_display: string }[]) =>
    amounts.map((item) => item.amount_display).join(" + ");
  const open = `${billing.open_invoices} open invoice${billing.open_invoices === 1 ? "" : "s"}, ${sum(billing.amount_due)} due`;
  return billing.overdue_invoices
    ? `${open}; ${billing.overdue_invoices} overdue (${sum(billing.amount_overdue)})${billing.delinquent ? ", delinquent" : ""}`
    : open;
}

/** One customer: its fields, subscriptions, invoices, payment methods and revenue; edit or delete it. */
export default function CustomerDetail() {
  const { params } = useRoute();
  const customer = useApi<Customer>(`${CUSTOMERS}/${segment(params.id)}`);
  const can = useCan();
  const [deleting, setDeleting] = useState(false);
  const current = customer.data;
  if (!current) {
    return (
      <Page title="Customer">
        <ErrorMessage error={customer.error} />
        {customer.loading ? <Loading /> : null}
      </Page>
    );
  }
  const manage = can("customers.manage") && !current.deleted;
  return (
    <Page
      title={customerLabel(current)}
      lead={<a href={`${BASE}/customers`}>All customers</a>}
      actions={
        manage ? (
          <>
            <a class="button" href={`${BASE}/customers/${current.id}/edit`}>
              Edit
            </a>
            <button type="button" class="button button-danger" onClick={() => setDeleting(true)}>
              Delete
            </button>
          </>
        ) : null
      }
    >
      <Card title="Details">
        <Facts
          items={[
            ["Name", current.name ?? "—"],
            ["Email", current.email ?? "—"],
            ["Phone", current.phone ?? "—"],
            [
              "Status",
              <Badge
                key="s"
                value={current.deleted ? "canceled" : "active"}
                label={current.deleted ? "deleted" : "active"}
              />,
            ],
            ["Billing", billingText(current)],
            ["Your id", current.external_id ? <code key="e">{current.external_id}</code> : "—"],
            ["Address", addressText(current.address)],
            ["Description", current.description ?? "—"],
            [
              "Metadata",
              Object.keys(current.metadata).length ? (
                <MetadataList key="m" metadata={current.metadata} />
              ) : (
                "—"
              ),
            ],
            ["Mode", current.livemode ? "Live" : "Test"],
            ["Customer id", <code key="id">{current.id}</code>],
            ["Stripe customer", <code key="st">{current.stripe_customer_id}</code>],
            ["Created", formatDateTime(current.created_at)],
            ["Updated", formatDateTime(current.updated_at)],
          ]}
        />
      </Card>
      <CustomerSubscriptions customer={current} manage={can("subscriptions.manage") && !current.deleted} />
      <InvoicesSection
        query={{ customer: current.id }}
        showCustomer={false}
        empty="This customer has no invoice."
        actions={
          can("invoices.manage") && !current.deleted ? (
            <a
              class="button button-small button-primary"
              href={`${BASE}/invoices/new?customer=${current.id}`}
            >
              New invoice
            </a>
          ) : null
        }
      />
      <PaymentMethods customer={current} manage={manage} />
      <CustomerMrr customerId={current.id} />
      <DeleteDialog
        customer={deleting ? current : null}
        onClose={() => setDeleting(false)}
        onDone={() => {
          setDeleting(false);
          announce(`Customer ${customerLabel(current)} deleted`);
          customer.reload();
        }}
      />
    </Page>
  );
}

function MetadataList({ metadata }: { metadata: Record<string, string> }) {
  return (
    <ul class="plain-list">
      {Object.entries(metadata).map(([key, value]) => (
        <li key={key}>
          <code>{key}</code>: {value}
        </li>
      ))}
    </ul>
  );
}

function CustomerSubscriptions({ customer, manage }: { customer: Customer; manage: boolean }) {
  const list = usePagedList<Subscription>(SUBSCRIPTIONS, { customer: customer.id });
  const plans = usePlans();
  return (
    <Card
      title="Subscriptions"
      id="customer-subscriptions"
      actions={
        manage ? (
          <a
            class="button button-small button-primary"
            href={`${BASE}/subscriptions/new?customer=${customer.id}`}
          >
            New subscription
          </a>
        ) : null
      }
    >
      <ErrorMessage error={list.error} />
      {list.loading && !list.data ? <Loading /> : null}
      {list.data ? (
        <SubscriptionsTable
          rows={list.data}
          planName={plans.name}
          showCustomer={false}
          empty="This customer has no subscription."
        />
      ) : null}
      <LoadMore hasMore={list.hasMore} loading={list.loadingMore} onLoad={list.loadMore} />
    </Card>
  );
}

function DeleteDialog({
  customer,
  onClose,
  onDone,
}: {
  customer: Customer | null;
  onClose: () => void;
  onDone: () => void;
}) {
  const action = useAction(() => api<Customer>(`${CUSTOMERS}/${customer?.id}`, { method: "DELETE" }));
  return (
    <ActionDialog
      open={customer !== null}
      title={`Delete ${customer ? customerLabel(customer) : "customer"}`}
      message="The customer is deleted at Stripe, which cancels its subscriptions there at once. It stays here, marked deleted, for your history. This cannot be undone."
      confirmLabel="Delete customer"
      danger
      action={action}
      onClose={onClose}
      onDone={onDone}
    />
  );
}
