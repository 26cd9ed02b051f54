import { useState } from "preact/hooks";
import { useRoute } from "preact-iso/router";
import { ActionDialog } from "../../components/dialog";
import { announce, Badge, ErrorMessage, Loading } from "../../components/feedback";
import { Card, Facts, Page } from "../../components/page";
import { api, SUBSCRIPTIONS, segment } from "../../lib/api";
import type { Subscription } from "../../lib/billing-types";
import { formatDateTime, formatMoney, humanize } from "../../lib/format";
import { useAction, useApi } from "../../lib/hooks";
import { useCan } from "../../lib/permissions";
import { BASE } from "../../routes";
import { InvoicesSection } from "../invoices/shared";
import { CancelDialog, ChangeDialog, PauseDialog } from "./dialogs";
import { SubscriptionStatus, usePlans } from "./shared";

const ENDED = ["canceled", "incomplete_expired"];

type Open = "change" | "cancel" | "resume" | "pause" | "unpause" | null;

/** One subscription: period, trial, cancellation, pause, latest invoice; and every change to it. */
export default function SubscriptionDetail() {
  const { params } = useRoute();
  const path = `${SUBSCRIPTIONS}/${segment(params.id)}`;
  const subscription = useApi<Subscription>(path);
  const plans = usePlans();
  const can = useCan();
  const [open, setOpen] = useState<Open>(null);
  const resume = useAction(() => api<Subscription>(`${path}/resume`, { method: "POST" }));
  const unpause = useAction(() => api<Subscription>(`${path}/unpause`, { method: "POST" }));
  const current = subscription.data;
  if (!current) {
    return (
      <Page title="Subscription">
        <ErrorMessage error={subscription.error} />
        {subscription.loading ? <Loading /> : null}
      </Page>
    );
  }
  const done = (message: string) => {
    setOpen(null);
    announce(message);
    subscription.reload();
  };
  const live = !ENDED.includes(current.status);
  const manage = can("subscriptions.manage") && live;
  const cancelling = current.cancel_at_period_end || current.cancel_at !== null;
  const planName = plans.name(current.plan);

  return (
    <Page
      title={`${planName} subscription`}
      lead={
        <>
          <a href={`${BASE}/subscriptions`}>All subscriptions</a> ·{" "}
          <a href={`${BASE}/customers/${current.customer}`}>The customer</a>
        </>
      }
      actions={
        <>
          <button type="button" class="button" onClick={subscription.reload} disabled={subscription.loading}>
            Refresh
          </button>
          {manage ? (
            <>
              <button type="button" class="button" onClick={() => setOpen("change")}>
                Change plan or quantity
              </button>
              {current.pause_collection ? (
                <button type="button" class="button" onClick={() => setOpen("unpause")}>
                  Resume collection
                </button>
              ) : (
                <button type="button" class="button" onClick={() => setOpen("pause")}>
                  Pause collection
                </button>
              )}
              {cancelling ? (
                <button type="button" class="button" onClick={() => setOpen("resume")}>
                  Keep subscription
                </button>
              ) : null}
              <button type="button" class="button button-danger" onClick={() => setOpen("cancel")}>
                Cancel subscription
              </button>
            </>
          ) : null}
        </>
      }
    >
      <Card title="Summary">
        <Facts
          items={[
            ["Status", <SubscriptionStatus key="s" subscription={current} />],
            [
              "Plan",
              current.plan ? (
                <a key="p" href={`${BASE}/plans/${current.plan}`}>
                  {planName}
                </a>
              ) : (
                "—"
              ),
            ],
            ["Amount", current.amount_display],
            ["Quantity", String(current.quantity)],
            [
              "Current period",
              `${formatDateTime(current.current_period_start)} – ${formatDateTime(current.current_period_end)}`,
            ],
            [
              "Trial",
              current.trial_end
                ? `${formatDateTime(current.trial_start)} – ${formatDateTime(current.trial_end)}`
                : "—",
            ],
            [
              "Cancels at",
              cancelling ? formatDateTime(current.cancel_at ?? current.current_period_end) : "—",
            ],
            ["Canceled", formatDateTime(current.canceled_at)],
            ["Ended", formatDateTime(current.ended_at)],
            [
              "Collection",
              current.pause_collection
                ? `Paused (${humanize(current.pause_collection.behavior)})${current.pause_collection.resumes_at ? `, resumes ${formatDateTime(current.pause_collection.resumes_at)}` : ""}`
                : "Active",
            ],
            ["Discount", discountText(current)],
            [
              "Platform fee",
              current.application_fee_percent === null ? "—" : `${current.application_fee_percent} %`,
            ],
            ["Mode", current.livemode ? "Live" : "Test"],
            ["Subscription id", <code key="id">{current.id}</code>],
            ["Stripe subscription", <code key="st">{current.stripe_subscription_id}</code>],
            ["Created", formatDateTime(current.created_at)],
          ]}
        />
      </Card>
      <LatestInvoice subscription={current} />
      <InvoicesSection
        query={{ subscription: current.id }}
        showCustomer={false}
        empty="No invoice of this subscription yet."
      />
      <ErrorMessage error={resume.error ?? unpause.error} />
      <ChangeDialog
        open={open === "change"}
        subscription={current}
        plans={plans.all}
        onClose={() => setOpen(null)}
        onDone={() => done("Subscription changed")}
      />
      <CancelDialog
        open={open === "cancel"}
        subscription={current}
        onClose={() => setOpen(null)}
        onDone={(now) => done(now ? "Subscription canceled" : "Cancellation scheduled for the period end")}
      />
      <PauseDialog
        open={open === "pause"}
        subscription={current}
        onClose={() => setOpen(null)}
        onDone={() => done("Payment collection paused")}
      />
      <ActionDialog
        open={open === "resume"}
        title="Keep the subscription"
        message="The cancellation scheduled for the period end is taken back: the subscription renews as usual."
        confirmLabel="Keep subscription"
        action={resume}
        onClose={() => setOpen(null)}
        onDone={() => done("Cancellation taken back")}
      />
      <ActionDialog
        open={open === "unpause"}
        title="Resume payment collection"
        message="Invoices are collected again from the next one on."
        confirmLabel="Resume collection"
        action={unpause}
        onClose={() => setOpen(null)}
        onDone={() => done("Payment collection resumed")}
      />
    </Page>
  );
}

function discountText(subscription: Subscription) {
  const discount = subscription.discount;
  if (!discount) return "—";
  const off =
    discount.percent_off !== null
      ? `${discount.percent_off} % off`
      : discount.amount_off !== null
        ? `${formatMoney(discount.amount_off, subscription.currency)} off`
        : "";
  return `${discount.coupon}: ${off}, ${discount.duration}${discount.end ? ` until ${formatDateTime(discount.end)}` : ""}`;
}

function LatestInvoice({ subscription }: { subscription: Subscription }) {
  const invoice = subscription.latest_invoice;
  return (
    <Card title="Latest invoice">
      {invoice ? (
        <Facts
          items={[
            [
              "Invoice",
              // Stripe's id until the invoice mirror holds it: no page of ours yet.
              invoice.id ? (
                <a key="id" href={`${BASE}/invoices/${invoice.id}`}>
                  <code class="break">{invoice.id}</code>
                </a>
              ) : (
                <code key="id" class="break">
                  {invoice.stripe_invoice_id}
                </code>
              ),
            ],
            [
              "Status",
              <Badge
                key="s"
                value={invoice.status === "paid" ? "succeeded" : invoice.status}
                label={invoice.status}
              />,
            ],
            ["Amount due", formatMoney(invoice.amount_due, invoice.currency)],
            ["Paid", formatMoney(invoice.amount_paid, invoice.currency)],
            [
              "Payment page",
              invoice.hosted_invoice_url ? (
                <a key="u" href={invoice.hosted_invoice_url} target="_blank" rel="noopener">
                  Open <span class="visually-hidden">the invoice's payment page (opens in a new tab)</span>
                </a>
              ) : (
                "—"
              ),
            ],
          ]}
        />
      ) : (
        <p class="empty">No invoice yet.</p>
      )}
    </Card>
  );
}
