import { useEffect, useState } from "preact/hooks";
import { ActionDialog } from "../components/dialog";
import { announce, Badge, ErrorMessage, Loading, Notice } from "../components/feedback";
import { Form, SelectField, SubmitButton, TextField } from "../components/form";
import { Card, Facts, Page } from "../components/page";
import { api, TENANTS } from "../lib/api";
import { formatDate, humanize } from "../lib/format";
import { useAction, useApi } from "../lib/hooks";
import { useCan } from "../lib/permissions";
import { reloadIdentity } from "../lib/session";
import type { PlatformPlan, PlatformSubscription, UsageLimits } from "../lib/types";

const SUBSCRIPTION = `${TENANTS}/subscription`;
/** Statuses with no live subscription behind them: the owner subscribes (again). */
const ENDED = ["none", "cancelled", "canceled", "incomplete_expired"];
/** Statuses with an invoice Stripe could not collect: the owner pays it. */
const PAYMENT_DUE = ["past_due", "unpaid", "incomplete"];

const limitText = (value: number | null) => (value === null ? "Unlimited" : value.toLocaleString());
const limitFacts = (limits: UsageLimits): [string, string][] => [
  ["API requests per minute, per key", limits.api_requests_per_minute.toLocaleString()],
  ["API requests per month", limitText(limits.api_requests_per_month)],
  ["Active plans", limitText(limits.plans)],
  ["Users", limitText(limits.users)],
  ["Webhook endpoints", limitText(limits.webhook_endpoints)],
];

/** The tenant's own subscription to the platform: plan, change with proration, cancel. */
export default function Billing() {
  const subscription = useApi<PlatformSubscription>(SUBSCRIPTION);
  const plans = useApi<{ data: PlatformPlan[] }>(`${SUBSCRIPTION}/plans`);
  const can = useCan();
  const [cancelling, setCancelling] = useState(false);
  const current = subscription.data;
  const ended = !current || ENDED.includes(current.status);
  const updated = (message: string) => {
    announce(message);
    subscription.reload();
    void reloadIdentity();
  };

  return (
    <Page title="Platform plan" lead="Your subscription to Edge Billing: it sets your tier and its limits.">
      <ErrorMessage error={subscription.error} />
      {subscription.loading && !current ? <Loading /> : null}
      {current ? (
        <Card title="Your subscription">
          {current.tenant_status === "suspended" ? (
            <Notice kind="warning">
              Your account is suspended{current.suspended_reason ? ` (${current.suspended_reason})` : ""}.
              {!can("billing.manage")
                ? " Its owner can reactivate it from this page."
                : PAYMENT_DUE.includes(current.status)
                  ? " Paying the open invoice below reactivates it."
                  : " Subscribing again with a working payment method reactivates it."}
            </Notice>
          ) : null}
          {current.cancel_at_period_end ? (
            <Notice kind="warning">The subscription ends on {formatDate(current.current_period_end)}.</Notice>
          ) : null}
          <Facts
            items={[
              ["Plan", current.plan ? `${current.plan.name} (${current.plan.price_display})` : "Free tier"],
              ["Tier", humanize(current.tier)],
              ["Status", <Badge key="s" value={current.status} />],
              [
                "Current period",
                current.current_period_start
                  ? `${formatDate(current.current_period_start)} – ${formatDate(current.current_period_end)}`
                  : "—",
              ],
              ["Trial ends", formatDate(current.trial_end)],
              ...limitFacts(current.limits),
            ]}
          />
          {can("billing.manage") && !ended && !current.cancel_at_period_end ? (
            <div class="button-row">
              <button type="button" class="button button-danger" onClick={() => setCancelling(true)}>
                Cancel subscription
              </button>
            </div>
          ) : null}
          {!can("billing.manage") ? <p class="hint">Only an owner can change the platform plan.</p> : null}
        </Card>
      ) : null}
      {current && PAYMENT_DUE.includes(current.status) && can("billing.manage") ? (
        <PayForm onDone={updated} />
      ) : null}
      <ErrorMessage error={plans.error} />
      {current && plans.data && can("billing.manage") ? (
        ended ? (
          <SubscribeForm plans={plans.data.data} onDone={updated} />
        ) : (
          <ChangePlanForm plans={plans.data.data} current={current} onDone={updated} />
        )
      ) : null}
      {plans.data && !can("billing.manage") ? <PlanList plans={plans.data.data} /> : null}
      <CancelDialog
        open={cancelling}
        onClose={() => setCancelling(false)}
        onDone={(message) => {
          setCancelling(false);
          updated(message);
        }}
      />
    </Page>
  );
}

function PlanList({ plans }: { plans: PlatformPlan[] }) {
  return (
    <Card title="Available plans">
      <ul class="plain-list">
        {plans.map((plan) => (
          <li key={plan.id}>
            <strong>{plan.name}</strong> — {plan.price_display}
            {plan.description ? `: ${plan.description}` : ""}
          </li>
        ))}
      </ul>
    </Card>
  );
}

/** A plan's price a month, to tell an upgrade (charged now) from a downgrade, as the API does. */
const perMonth = (plan: PlatformPlan) =>
  plan.billing_interval === "year" ? plan.price_cents / 12 : plan.price_cents;

const planOptions = (plans: PlatformPlan[]) =>
  plans.map((plan) => [plan.id, `${plan.name} — ${plan.price_display}`] as const);

function SubscribeForm({ plans, onDone }: { plans: PlatformPlan[]; onDone: (message: string) => void }) {
  const [planId, setPlanId] = useState(plans[0]?.id ?? "");
  const [paymentMethod, setPaymentMethod] = useState("");
  useEffect(() => {
    if (!planId && plans[0]) setPlanId(plans[0].id);
  }, [plans, planId]);
  const action = useAction(() =>
    api<PlatformSubscription>(SUBSCRIPTION, {
      body: { plan_id: planId, payment_method_id: paymentMethod.trim() },
    }),
  );
  if (!plans.length) {
    return (
      <Card title="Subscribe">
        <p>No platform plan is on offer yet.</p>
      </Card>
    );
  }
  return (
    <Card title="Subscribe">
      <Form
        label="Subscribe to a platform plan"
        onSubmit={async () => {
          const answer = await action.run();
          if (answer) onDone(`Subscribed to ${answer.plan?.name ?? planId}`);
        }}
      >
        <SelectField
          label="Plan"
          value={planId}
          onValue={setPlanId}
          options={planOptions(plans)}
          error={action.error?.field("plan_id")}
        />
        <TextField
          label="Payment method"
          required
          placeholder="pm_…"
          value={paymentMethod}
          onValue={setPaymentMethod}
          hint="The id of a payment method saved at Stripe (pm_…). In test mode, pm_card_visa is a working card."
          error={action.error?.field("payment_method_id")}
        />
        <ErrorMessage error={action.error} />
        <SubmitButton pending={action.pending}>Subscribe</SubmitButton>
      </Form>
    </Card>
  );
}

/** Pays the invoices Stripe could not collect, with a new card or the one on file. */
function PayForm({ onDone }: { onDone: (message: string) => void }) {
  const [paymentMethod, setPaymentMethod] = useState("");
  const action = useAction(() =>
    api<PlatformSubscription>(`${SUBSCRIPTION}/pay`, {
      body: paymentMethod.trim() ? { payment_method_id: paymentMethod.trim() } : {},
    }),
  );
  return (
    <Card title="Payment due">
      <p>Stripe could not collect your last invoice. Pay it to keep your subscription.</p>
      <Form
        label="Pay the open invoice"
        onSubmit={async () => {
          if (await action.run()) onDone("Invoice paid");
        }}
      >
        <TextField
          label="New payment method"
          placeholder="pm_…"
          value={paymentMethod}
          onValue={setPaymentMethod}
          hint="Optional: a payment method saved at Stripe (pm_…) becomes your card once it pays. Empty: the card on file is charged again."
          error={action.error?.field("payment_method_id")}
        />
        <ErrorMessage error={action.error} />
        <SubmitButton pending={action.pending}>Pay now</SubmitButton>
      </Form>
    </Card>
  );
}

function ChangePlanForm({
  plans,
  current,
  onDone,
}: {
  plans: PlatformPlan[];
  current: PlatformSubscription;
  onDone: (message: string) => void;
}) {
  const others = plans.filter((plan) => plan.id !== current.plan?.id);
  const [planId, setPlanId] = useState(others[0]?.id ?? "");
  const [confirming, setConfirming] = useState(false);
  const action = useAction(() =>
    api<PlatformSubscription>(SUBSCRIPTION, { method: "PATCH", body: { plan_id: planId } }),
  );
  if (!others.length) return null;
  const target = plans.find((plan) => plan.id === planId);
  return (
    <Card title="Change plan">
      <Form label="Change plan" onSubmit={() => setConfirming(true)}>
        <SelectField label="New plan" value={planId} onValue={setPlanId} options={planOptions(others)} />
        <SubmitButton pending={false}>Change plan…</SubmitButton>
      </Form>
      <ActionDialog
        open={confirming}
        title={`Switch to ${target?.name ?? planId}`}
        message={
          target && current.plan && current.status !== "trialing" && perMonth(target) > perMonth(current.plan)
            ? `An upgrade to ${target.price_display}: the difference for the rest of this period is charged now, and the new plan and limits apply once it is paid.`
            : `You switch now to ${target?.price_display ?? "the new price"}; Stripe credits or charges the difference on your next invoice. New limits apply at once.`
        }
        confirmLabel="Change plan"
        action={action}
        onClose={() => setConfirming(false)}
        onDone={(answer) => {
          setConfirming(false);
          onDone(`Plan changed to ${answer.plan?.name ?? planId}`);
        }}
      />
    </Card>
  );
}

function CancelDialog({
  open,
  onClose,
  onDone,
}: {
  open: boolean;
  onClose: () => void;
  onDone: (message: string) => void;
}) {
  const [when, setWhen] = useState<"period_end" | "now">("period_end");
  const action = useAction(() =>
    api<PlatformSubscription>(SUBSCRIPTION, {
      method: "DELETE",
      body: { at_period_end: when === "period_end" },
    }),
  );
  return (
    <ActionDialog
      open={open}
      title="Cancel the platform subscription"
      message="At the end of the period your account keeps working until then. Cancelling now suspends your account at once: API keys answer 402 until you subscribe again."
      confirmLabel="Cancel subscription"
      danger
      action={action}
      onClose={onClose}
      onDone={() =>
        onDone(when === "now" ? "Subscription cancelled" : "Subscription ends at the period's end")
      }
    >
      <SelectField
        label="When"
        value={when}
        onValue={setWhen}
        options={[
          ["period_end", "At the end of the current period"],
          ["now", "Now (suspends the account)"],
        ]}
      />
    </ActionDialog>
  );
}
