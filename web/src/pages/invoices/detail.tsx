import { useState } from "preact/hooks";
import { useRoute } from "preact-iso/router";
import { announce, Badge, ErrorMessage, Loading } from "../../components/feedback";
import { Card, Facts, Page } from "../../components/page";
import { type Column, LoadMore, Table } from "../../components/table";
import { DUNNING_STEPS, INVOICES, REFUNDS, segment } from "../../lib/api";
import type { DunningStep, Invoice, InvoiceLine, Refund } from "../../lib/billing-types";
import { formatDate, formatDateTime, formatMoney, humanize } from "../../lib/format";
import { useApi, usePagedList } from "../../lib/hooks";
import { useCan } from "../../lib/permissions";
import { BASE } from "../../routes";
import { PayDialog, RefundDialog, type SimpleVerb, VerbDialog } from "./dialogs";
import { InvoiceStatus, invoiceLabel } from "./shared";

type Open = SimpleVerb | "pay" | "refund" | null;

/** One invoice: lines, totals, links, payment attempts and refunds; and what its state allows. */
export default function InvoiceDetail() {
  const { params } = useRoute();
  const invoice = useApi<Invoice>(`${INVOICES}/${segment(params.id)}`);
  const refunds = usePagedList<Refund>(REFUNDS, { invoice: params.id });
  const can = useCan();
  const [open, setOpen] = useState<Open>(null);
  const current = invoice.data;
  if (!current) {
    return (
      <Page title="Invoice">
        <ErrorMessage error={invoice.error} />
        {invoice.loading ? <Loading /> : null}
      </Page>
    );
  }
  const done = (message: string) => {
    setOpen(null);
    announce(message);
    invoice.reload();
  };
  const status = current.status;
  const manage = can("invoices.manage");
  const refundable = current.amount_paid - current.amount_refunded;
  const offer = {
    finalize: manage && status === "draft",
    pay: manage && ["draft", "open", "uncollectible"].includes(status),
    send: manage && current.collection_method === "send_invoice" && ["draft", "open"].includes(status),
    mark_uncollectible: manage && status === "open",
    void: manage && ["open", "uncollectible"].includes(status),
    refund: can("refunds.manage") && status === "paid" && refundable > 0,
  };
  const money = (minor: number) => formatMoney(minor, current.currency);

  return (
    <Page
      title={`Invoice ${invoiceLabel(current)}`}
      lead={
        <>
          <a href={`${BASE}/invoices`}>All invoices</a>
          {current.customer ? (
            <>
              {" · "}
              <a href={`${BASE}/customers/${current.customer}`}>The customer</a>
            </>
          ) : null}
          {current.subscription ? (
            <>
              {" · "}
              <a href={`${BASE}/subscriptions/${current.subscription}`}>The subscription</a>
            </>
          ) : null}
        </>
      }
      actions={
        <>
          <button
            type="button"
            class="button"
            onClick={() => {
              invoice.reload();
              refunds.reload();
            }}
            disabled={invoice.loading}
          >
            Refresh
          </button>
          {offer.finalize ? (
            <button type="button" class="button button-primary" onClick={() => setOpen("finalize")}>
              Finalize
            </button>
          ) : null}
          {offer.pay ? (
            <button type="button" class="button" onClick={() => setOpen("pay")}>
              Pay now
            </button>
          ) : null}
          {offer.send ? (
            <button type="button" class="button" onClick={() => setOpen("send")}>
              Send
            </button>
          ) : null}
          {offer.mark_uncollectible ? (
            <button type="button" class="button" onClick={() => setOpen("mark_uncollectible")}>
              Mark uncollectible
            </button>
          ) : null}
          {offer.void ? (
            <button type="button" class="button button-danger" onClick={() => setOpen("void")}>
              Void
            </button>
          ) : null}
          {offer.refund ? (
            <button type="button" class="button button-danger" onClick={() => setOpen("refund")}>
              Refund
            </button>
          ) : null}
        </>
      }
    >
      <Card title="Summary">
        <Facts
          items={[
            ["Status", <InvoiceStatus key="s" invoice={current} />],
            ["Total", current.total_display],
            ["Amount remaining", money(current.amount_remaining)],
            [
              "Customer",
              current.customer ? (
                <a key="c" href={`${BASE}/customers/${current.customer}`}>
                  <code class="break">{current.customer}</code>
                </a>
              ) : (
                "—"
              ),
            ],
            [
              "Subscription",
              current.subscription ? (
                <a key="sub" href={`${BASE}/subscriptions/${current.subscription}`}>
                  <code class="break">{current.subscription}</code>
                </a>
              ) : (
                "One-off invoice"
              ),
            ],
            ["Number", current.number ?? "— (given when finalized)"],
            ["Collection", humanize(current.collection_method)],
            ["Billing reason", current.billing_reason ? humanize(current.billing_reason) : "—"],
            [
              "Period",
              current.period_start
                ? `${formatDate(current.period_start)} – ${formatDate(current.period_end)}`
                : "—",
            ],
            ["Due date", formatDate(current.due_date)],
            ["Description", current.description ?? "—"],
            ["Created", formatDateTime(current.created_at)],
            ["Finalized", formatDateTime(current.finalized_at)],
            ["Paid", formatDateTime(current.paid_at)],
            ["Voided", formatDateTime(current.voided_at)],
            ["Mode", current.livemode ? "Live" : "Test"],
            ["Invoice id", <code key="id">{current.id}</code>],
            ["Stripe invoice", <code key="st">{current.stripe_invoice_id}</code>],
          ]}
        />
      </Card>
      <ReceiptLinks invoice={current} />
      <Card title="Lines">
        <Table
          caption="Invoice lines"
          columns={lineColumns(current.currency)}
          rows={current.lines}
          rowKey={(line) => line.id}
          empty="No line."
        />
      </Card>
      <Card title="Totals">
        <Facts
          items={[
            ["Subtotal", money(current.subtotal)],
            [
              "Discount",
              current.discount_amount
                ? `−${money(current.discount_amount)}${current.discounts.length ? ` (${current.discounts.map((item) => item.coupon).join(", ")})` : ""}`
                : "—",
            ],
            ["Tax", money(current.tax)],
            ["Total", current.total_display],
            ["Amount due", current.amount_due_display],
            ["Amount paid", money(current.amount_paid)],
            ["Amount remaining", money(current.amount_remaining)],
            ["Refunded", money(current.amount_refunded)],
            [
              "Platform fee",
              current.application_fee_amount === null ? "—" : money(current.application_fee_amount),
            ],
          ]}
        />
      </Card>
      <PaymentAttempts invoice={current} />
      <Card title="Refunds" id="refunds">
        <ErrorMessage error={refunds.error} />
        {refunds.loading && !refunds.data ? <Loading /> : null}
        {refunds.data ? (
          <Table
            caption="Refunds of this invoice"
            columns={refundColumns}
            rows={refunds.data}
            rowKey={(row) => row.id}
            empty="No refund."
          />
        ) : null}
        <LoadMore hasMore={refunds.hasMore} loading={refunds.loadingMore} onLoad={refunds.loadMore} />
      </Card>
      <VerbDialog
        verb={open === "pay" || open === "refund" ? null : open}
        invoice={current}
        onClose={() => setOpen(null)}
        onDone={done}
      />
      <PayDialog open={open === "pay"} invoice={current} onClose={() => setOpen(null)} onDone={done} />
      <RefundDialog
        open={open === "refund"}
        invoice={current}
        onClose={() => setOpen(null)}
        onDone={(refund) => {
          done(`Refund of ${refund.amount_display} made`);
          refunds.reload();
        }}
      />
    </Page>
  );
}

/** Stripe's hosted invoice page and PDF, only those the API returns (drafts have none). */
function ReceiptLinks({ invoice }: { invoice: Invoice }) {
  const links = [
    invoice.hosted_invoice_url
      ? {
          href: invoice.hosted_invoice_url,
          text: invoice.status === "paid" ? "Receipt (hosted invoice page)" : "Hosted invoice page",
        }
      : null,
    invoice.invoice_pdf ? { href: invoice.invoice_pdf, text: "Invoice PDF" } : null,
  ].filter((link) => link !== null);
  return (
    <Card title="Receipt and links">
      {links.length ? (
        <ul class="plain-list">
          {links.map((link) => (
            <li key={link.href}>
              <a href={link.href} target="_blank" rel="noopener noreferrer">
                {link.text}
                <span class="visually-hidden"> (opens in a new tab)</span>
              </a>
            </li>
          ))}
        </ul>
      ) : (
        <p class="empty">
          {invoice.status === "draft"
            ? "A draft has no hosted page or PDF yet: Stripe makes them when it is finalized."
            : "Stripe gave no hosted page or PDF for this invoice."}
        </p>
      )}
    </Card>
  );
}

const lineColumns = (currency: string): Column<InvoiceLine>[] => [
  {
    label: "Description",
    render: (line) => `${line.description ?? "—"}${line.proration ? " (proration)" : ""}`,
  },
  { label: "Quantity", render: (line) => (line.quantity === null ? "—" : String(line.quantity)) },
  {
    label: "Period",
    render: (line) =>
      line.period_start ? `${formatDate(line.period_start)} – ${formatDate(line.period_end)}` : "—",
  },
  {
    label: "Discount",
    render: (line) => (line.discount_amount ? `−${formatMoney(line.discount_amount, currency)}` : "—"),
  },
  { label: "Amount", render: (line) => formatMoney(line.amount, line.currency || currency) },
];

const refundColumns: Column<Refund>[] = [
  { label: "Amount", render: (row) => row.amount_display },
  {
    label: "Status",
    render: (row) => (
      <span class="badges">
        <Badge value={row.status} />
        {row.failure_reason ? <small>{humanize(row.failure_reason)}</small> : null}
      </span>
    ),
  },
  { label: "Reason", render: (row) => (row.reason ? humanize(row.reason) : "—") },
  { label: "Fee refunded", render: (row) => (row.refund_application_fee ? "In proportion" : "No") },
  { label: "Created", render: (row) => formatDateTime(row.created_at) },
  { label: "Refund id", render: (row) => <code class="break">{row.id}</code> },
];

const stepColumns: Column<DunningStep>[] = [
  {
    label: "Step",
    render: (row) => (
      <Badge
        value={row.kind === "recovery" ? "succeeded" : row.kind === "failure" ? "failed" : "pending"}
        label={row.kind}
      />
    ),
  },
  { label: "Attempt", render: (row) => String(row.attempt) },
  { label: "Action", render: (row) => (row.action ? humanize(row.action) : "—") },
  { label: "Note", render: (row) => row.note },
  { label: "When", render: (row) => formatDateTime(row.created_at) },
];

/** Stripe's attempt count and next retry, and what dunning recorded about this invoice. */
function PaymentAttempts({ invoice }: { invoice: Invoice }) {
  const steps = usePagedList<DunningStep>(DUNNING_STEPS, { invoice: invoice.id });
  return (
    <Card title="Payment attempts">
      <Facts
        items={[
          ["Attempts", String(invoice.attempt_count)],
          ["Next attempt", formatDateTime(invoice.next_payment_attempt)],
        ]}
      />
      <ErrorMessage error={steps.error} />
      {steps.data?.length ? (
        <Table
          caption="Dunning steps of this invoice"
          columns={stepColumns}
          rows={steps.data}
          rowKey={(row) => row.id}
          empty="No failed payment."
        />
      ) : null}
      <LoadMore hasMore={steps.hasMore} loading={steps.loadingMore} onLoad={steps.loadMore} />
    </Card>
  );
}
