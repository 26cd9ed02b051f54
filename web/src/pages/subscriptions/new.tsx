import { useEffect, useState } from "preact/hooks";
import { useLocation } from "preact-iso/router";
import { announce, ErrorMessage, Loading, Notice } from "../../components/feedback";
import { Form, SelectField, SubmitButton, TextField } from "../../components/form";
import { Card, Facts, Page } from "../../components/page";
import { CopyButton } from "../../components/secret";
import { type Page as ApiPage, api, CUSTOMERS, SUBSCRIPTIONS } from "../../lib/api";
import type { CreatedSubscription, Customer } from "../../lib/billing-types";
import { useAction, useApi, useDebounced } from "../../lib/hooks";
import { BASE } from "../../routes";
import { customerLabel } from "../customers/fields";
import { usePlans } from "./shared";

type PaymentBehavior = "default_incomplete" | "allow_incomplete" | "error_if_incomplete";

const PAYMENT_OPTIONS: readonly (readonly [PaymentBehavior, string])[] = [
  ["error_if_incomplete", "Charge the default payment method now; refuse if it fails"],
  ["allow_incomplete", "Charge the default payment method now; keep it incomplete if that fails"],
  ["default_incomplete", "The customer confirms the first payment on your page"],
];

/** Whole number from a text field, or NaN (the API then names the field). */
const whole = (text: string) => (text.trim() === "" ? undefined : Number(text));

/** Subscribe a customer to a plan: quantity, trial, coupon and how the first payment is taken. */
export default function NewSubscription() {
  const { query, route } = useLocation();
  const plans = usePlans();
  const active = plans.all.filter((plan) => plan.is_active);
  const [customer, setCustomer] = useState<Customer | null>(null);
  const [planId, setPlanId] = useState("");
  const [quantity, setQuantity] = useState("1");
  const [trialDays, setTrialDays] = useState("");
  const [coupon, setCoupon] = useState("");
  const [payment, setPayment] = useState<PaymentBehavior>("default_incomplete");
  const [created, setCreated] = useState<CreatedSubscription | null>(null);
  const plan = active.find((item) => item.id === planId);

  useEffect(() => {
    if (!planId && active[0]) setPlanId(active[0].id);
  }, [active.length]);
  useEffect(() => {
    if (plan) setTrialDays(String(plan.trial_days));
  }, [plan?.id]);
  useEffect(() => {
    setPayment(customer?.default_payment_method ? "error_if_incomplete" : "default_incomplete");
  }, [customer?.id]);

  const create = useAction(() => {
    if (!customer) throw new Error("Choose a customer");
    return api<CreatedSubscription>(SUBSCRIPTIONS, {
      body: {
        customer: customer.id,
        plan: planId,
        quantity: whole(quantity),
        trial_days: whole(trialDays),
        coupon: coupon.trim() || undefined,
        payment_behavior: payment,
      },
    });
  });

  if (created) return <Created subscription={created} />;
  return (
    <Page title="New subscription" lead={<a href={`${BASE}/subscriptions`}>All subscriptions</a>}>
      <Card>
        <Form
          label="New subscription"
          onSubmit={async () => {
            const answer = await create.run();
            if (!answer) return;
            announce("Subscription created");
            if (answer.client_secret) setCreated(answer);
            else route(`${BASE}/subscriptions/${answer.id}`);
          }}
        >
          <CustomerPicker presetId={query.customer} customer={customer} onCustomer={setCustomer} />
          <ErrorMessage error={plans.error} />
          {plans.loading ? <Loading label="Loading plans…" /> : null}
          {!plans.loading && !active.length ? (
            <Notice kind="warning">
              No active plan to subscribe to. <a href={`${BASE}/plans`}>Plans</a>
            </Notice>
          ) : null}
          <SelectField
            label="Plan"
            value={planId}
            onValue={setPlanId}
            options={active.map((item) => [item.id, `${item.name} (${item.price_display})`] as const)}
            error={create.error?.field("plan")}
          />
          <div class="field-row">
            <TextField
              label="Quantity"
              type="number"
              min={1}
              max={100000}
              required
              value={quantity}
              onValue={setQuantity}
              error={create.error?.field("quantity")}
            />
            <TextField
              label="Trial days"
              type="number"
              min={0}
              max={730}
              value={trialDays}
              onValue={setTrialDays}
              hint="The plan's trial by default; 0 for none. Trials count in MRR only once they convert."
              error={create.error?.field("trial_days")}
            />
          </div>
          <TextField
            label="Coupon"
            value={coupon}
            onValue={setCoupon}
            hint="Optional: the id of a coupon in your Stripe account."
            error={create.error?.field("coupon")}
          />
          <SelectField
            label="First payment"
            value={payment}
            onValue={setPayment}
            options={PAYMENT_OPTIONS}
            hint={
              customer && !customer.default_payment_method
                ? "This customer has no default payment method: add one on its page to charge it now."
                : undefined
            }
            error={create.error?.field("payment_behavior")}
          />
          <ErrorMessage error={create.error} />
          <SubmitButton pending={create.pending}>Create subscription</SubmitButton>
        </Form>
      </Card>
    </Page>
  );
}

/** A customer given in the address (`?customer=`), or one found by name or email. */
function CustomerPicker({
  presetId,
  customer,
  onCustomer,
}: {
  presetId: string | undefined;
  customer: Customer | null;
  onCustomer: (customer: Customer | null) => void;
}) {
  const preset = useApi<Customer>(presetId ? `${CUSTOMERS}/${presetId}` : null);
  const [search, setSearch] = useState("");
  const term = useDebounced(search.trim());
  const found = useApi<ApiPage<Customer>>(presetId ? null : CUSTOMERS, { search: term, limit: 20 });
  const options = found.data?.data ?? [];

  useEffect(() => {
    if (preset.data) onCustomer(preset.data);
  }, [preset.data]);
  useEffect(() => {
    if (presetId) return;
    if (!options.some((item) => item.id === customer?.id)) onCustomer(options[0] ?? null);
  }, [found.data]);

  if (presetId) {
    return (
      <div>
        <ErrorMessage error={preset.error} />
        {preset.data ? (
          <Facts
            items={[
              [
                "Customer",
                <a key="c" href={`${BASE}/customers/${preset.data.id}`}>
                  {customerLabel(preset.data)}
                </a>,
              ],
            ]}
          />
        ) : (
          <Loading label="Loading the customer…" />
        )}
      </div>
    );
  }
  return (
    <fieldset class="fieldset">
      <legend>Customer</legend>
      <TextField
        label="Find a customer"
        type="search"
        value={search}
        onValue={setSearch}
        hint="Name or email."
      />
      <ErrorMessage error={found.error} />
      <SelectField
        label="Customer"
        value={customer?.id ?? ""}
        onValue={(id) => onCustomer(options.find((item) => item.id === id) ?? null)}
        options={
          options.length
            ? options.map(
                (item) =>
                  [
                    item.id,
                    `${customerLabel(item)}${item.email && item.name ? ` <${item.email}>` : ""}`,
                  ] as const,
              )
            : [["", found.loading ? "Searching…" : "No customer found"] as const]
        }
      />
    </fieldset>
  );
}

function Created({ subscription }: { subscription: CreatedSubscription }) {
  return (
    <Page title="Subscription created">
      <Card title="The first payment waits for the customer">
        <Notice kind="info">
          The subscription is <strong>{subscription.status}</strong> until the customer pays its first
          invoice. Confirm the payment on your page with Stripe.js <code>confirmPayment</code> and this client
          secret, or send the customer the invoice.
        </Notice>
        <div class="secret">
          <span class="secret-label">Client secret</span>
          <code class="secret-value">{subscription.client_secret}</code>
          <CopyButton value={subscription.client_secret ?? ""} />
        </div>
        {subscription.latest_invoice?.hosted_invoice_url ? (
          <p>
            <a href={subscription.latest_invoice.hosted_invoice_url} target="_blank" rel="noopener">
              Open the invoice's payment page <span class="visually-hidden">(opens in a new tab)</span>
            </a>
          </p>
        ) : null}
        <p>
          <a class="button button-primary" href={`${BASE}/subscriptions/${subscription.id}`}>
            Open the subscription
          </a>
        </p>
      </Card>
    </Page>
  );
}
