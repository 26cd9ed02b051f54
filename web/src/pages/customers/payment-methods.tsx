import { useState } from "preact/hooks";
import { ConfirmDialog } from "../../components/dialog";
import { announce, Badge, ErrorMessage, Loading } from "../../components/feedback";
import { Checkbox, TextField } from "../../components/form";
import { Card } from "../../components/page";
import { type Column, Table } from "../../components/table";
import { api, CUSTOMERS } from "../../lib/api";
import type { Customer, PaymentMethod } from "../../lib/billing-types";
import { formatDate, humanize } from "../../lib/format";
import { useAction, useApi } from "../../lib/hooks";

const methodLabel = (method: PaymentMethod) =>
  method.card
    ? `${humanize(method.card.brand)} ending ${method.card.last4}, expires ${String(method.card.exp_month).padStart(2, "0")}/${method.card.exp_year}`
    : humanize(method.type);

/**
 * The customer's saved payment methods, as Stripe has them. Cards are collected by Stripe.js on
 * the tenant's own pages (SetupIntent); here one attaches a method by id (in test mode, Stripe's
 * test ones such as pm_card_visa), makes one the default, or detaches one.
 */
export function PaymentMethods({ customer, manage }: { customer: Customer; manage: boolean }) {
  const path = `${CUSTOMERS}/${customer.id}/payment-methods`;
  const methods = useApi<{ data: PaymentMethod[] }>(customer.deleted ? null : path);
  const [attaching, setAttaching] = useState(false);
  const [detaching, setDetaching] = useState<PaymentMethod | null>(null);
  const makeDefault = useAction((id: string) =>
    api<PaymentMethod>(`${path}/${id}/default`, { method: "POST" }),
  );
  const detach = useAction(() => api<PaymentMethod>(`${path}/${detaching?.id}`, { method: "DELETE" }));
  const canChange = manage && !customer.deleted;

  const columns: Column<PaymentMethod>[] = [
    { label: "Method", render: (row) => methodLabel(row) },
    { label: "Id", render: (row) => <code>{row.id}</code> },
    { label: "Default", render: (row) => (row.is_default ? <Badge value="active" label="default" /> : "—") },
    { label: "Added", render: (row) => formatDate(row.created_at) },
  ];
  if (canChange) {
    columns.push({
      label: "Actions",
      hiddenLabel: true,
      render: (row) => (
        <div class="row-actions">
          {row.is_default ? null : (
            <button
              type="button"
              class="button button-small"
              disabled={makeDefault.pending}
              aria-label={`Make ${methodLabel(row)} the default`}
              onClick={async () => {
                if (await makeDefault.run(row.id)) {
                  announce("Default payment method changed");
                  methods.reload();
                }
              }}
            >
              Make default
            </button>
          )}
          <button
            type="button"
            class="button button-small button-danger"
            aria-label={`Detach ${methodLabel(row)}`}
            onClick={() => setDetaching(row)}
          >
            Detach
          </button>
        </div>
      ),
    });
  }

  return (
    <Card
      title="Payment methods"
      id="payment-methods"
      actions={
        canChange ? (
          <button type="button" class="button button-small" onClick={() => setAttaching(true)}>
            Add a payment method
          </button>
        ) : null
      }
    >
      {customer.deleted ? <p class="empty">A deleted customer has no payment methods.</p> : null}
      <ErrorMessage error={methods.error ?? makeDefault.error} />
      {methods.loading && !methods.data ? <Loading /> : null}
      {methods.data ? (
        <Table
          caption="Payment methods"
          columns={columns}
          rows={methods.data.data}
          rowKey={(row) => row.id}
          empty="No saved payment method: subscriptions wait for the customer to pay their first invoice."
        />
      ) : null}
      <AttachDialog
        open={attaching}
        path={path}
        onClose={() => setAttaching(false)}
        onDone={() => {
          setAttaching(false);
          announce("Payment method added");
          methods.reload();
        }}
      />
      <ConfirmDialog
        open={detaching !== null}
        title="Detach the payment method"
        message={`${detaching ? methodLabel(detaching) : ""} is removed from this customer at Stripe. Subscriptions that used it need another method for their next payment.`}
        confirmLabel="Detach"
        danger
        pending={detach.pending}
        error={detach.error}
        onClose={() => {
          detach.reset();
          setDetaching(null);
        }}
        onConfirm={async () => {
          if (await detach.run()) {
            setDetaching(null);
            announce("Payment method detached");
            methods.reload();
          }
        }}
      />
    </Card>
  );
}

function AttachDialog({
  open,
  path,
  onClose,
  onDone,
}: {
  open: boolean;
  path: string;
  onClose: () => void;
  onDone: () => void;
}) {
  const [id, setId] = useState("");
  const [asDefault, setAsDefault] = useState(true);
  const action = useAction(() =>
    api<PaymentMethod>(path, { body: { payment_method: id.trim(), set_default: asDefault } }),
  );
  return (
    <ConfirmDialog
      open={open}
      title="Add a payment method"
      message="Attach a payment method your page collected with Stripe.js (pm_…). In test mode, Stripe's test methods work: pm_card_visa, pm_card_mastercard, pm_card_chargeDeclined…"
      confirmLabel="Add"
      pending={action.pending}
      error={action.error}
      onClose={() => {
        action.reset();
        onClose();
      }}
      onConfirm={async () => {
        if (await action.run()) {
          setId("");
          onDone();
        }
      }}
    >
      <TextField
        label="Payment method id"
        required
        placeholder="pm_card_visa"
        value={id}
        onValue={setId}
        error={action.error?.field("payment_method")}
      />
      <Checkbox label="Make it the default" checked={asDefault} onChecked={setAsDefault} />
    </ConfirmDialog>
  );
}
