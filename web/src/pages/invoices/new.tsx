import { useState } from "preact/hooks";
import { useLocation } from "preact-iso/router";
import { announce, ErrorMessage, Loading } from "../../components/feedback";
import { Form, SelectField, SubmitButton, TextField } from "../../components/form";
import { Card, Page } from "../../components/page";
import { api, INVOICES } from "../../lib/api";
import type { Customer, Invoice } from "../../lib/billing-types";
import { formatMoney, toMinorUnits } from "../../lib/format";
import { useAction } from "../../lib/hooks";
import { BASE } from "../../routes";
import { CustomerPicker } from "../customers/picker";
import { usePlans } from "../subscriptions/shared";

interface Item {
  key: number;
  kind: "plan" | "amount";
  plan: string;
  amount: string;
  description: string;
  quantity: string;
}

type Collection = "charge_automatically" | "send_invoice";

const COLLECTION_OPTIONS: readonly (readonly [Collection, string])[] = [
  ["charge_automatically", "Charge the customer's default payment method"],
  ["send_invoice", "Email the invoice; the customer pays on its hosted page"],
];

/** Whole number from a text field, or NaN (the API then names the field). */
const whole = (text: string) => (text.trim() === "" ? undefined : Number(text));

let nextKey = 1;
const newItem = (kind: Item["kind"], plan = ""): Item => ({
  key: nextKey++,
  kind,
  plan,
  amount: "",
  description: "",
  quantity: "1",
});

/**
 * A one-off invoice for a customer: items from a plan's price or an amount, each × quantity.
 * It is made as a draft, to finalize (and collect) from its page.
 */
export default function NewInvoice() {
  const { query, route } = useLocation();
  const plans = usePlans();
  const active = plans.all.filter((plan) => plan.is_active);
  const [customer, setCustomer] = useState<Customer | null>(null);
  const [items, setItems] = useState<Item[]>(() => [newItem("amount")]);
  const [currency, setCurrency] = useState("usd");
  const [collection, setCollection] = useState<Collection>("charge_automatically");
  const [days, setDays] = useState("30");
  const [coupon, setCoupon] = useState("");
  const [description, setDescription] = useState("");
  const onlyAmounts = items.every((item) => item.kind === "amount");

  const update = (key: number, change: Partial<Item>) =>
    setItems((rows) => rows.map((row) => (row.key === key ? { ...row, ...change } : row)));

  const create = useAction(() => {
    if (!customer) throw new Error("Choose a customer");
    return api<Invoice>(INVOICES, {
      body: {
        customer: customer.id,
        items: items.map((item) =>
          item.kind === "plan"
            ? {
                plan: item.plan,
                quantity: whole(item.quantity),
                description: item.description.trim() || undefined,
              }
            : {
                unit_amount: toMinorUnits(item.amount, currency) ?? Number.NaN,
                quantity: whole(item.quantity),
                description: item.description.trim() || undefined,
              },
        ),
        currency: onlyAmounts ? currency.trim().toLowerCase() : undefined,
        collection_method: collection,
        days_until_due: collection === "send_invoice" ? whole(days) : undefined,
        coupon: coupon.trim() || undefined,
        description: description.trim() || undefined,
      },
    });
  });
  const itemError = (index: number, field: string) => create.error?.field(`items.${index}.${field}`);

  return (
    <Page title="New invoice" lead={<a href={`${BASE}/invoices`}>All invoices</a>}>
      <Card>
        <Form
          label="New invoice"
          onSubmit={async () => {
            const answer = await create.run();
            if (!answer) return;
            announce("Draft invoice created");
            route(`${BASE}/invoices/${answer.id}`);
          }}
        >
          <CustomerPicker presetId={query.customer} customer={customer} onCustomer={setCustomer} />
          <ErrorMessage error={plans.error} />
          {plans.loading ? <Loading label="Loading plans…" /> : null}
          {items.map((item, index) => (
            <fieldset class="fieldset" key={item.key}>
              <legend>Item {index + 1}</legend>
              <SelectField
                label={`Item ${index + 1}: kind`}
                value={item.kind}
                onValue={(kind) =>
                  update(item.key, { kind, plan: kind === "plan" ? (active[0]?.id ?? "") : "" })
                }
                options={[
                  ["amount", "An amount"],
                  ...(active.length ? [["plan", "A plan's price"] as const] : []),
                ]}
              />
              {item.kind === "plan" ? (
                <SelectField
                  label={`Item ${index + 1}: plan`}
                  value={item.plan}
                  onValue={(plan) => update(item.key, { plan })}
                  options={active.map((plan) => [plan.id, `${plan.name} (${plan.price_display})`] as const)}
                  error={itemError(index, "plan")}
                />
              ) : (
                <TextField
                  label={`Item ${index + 1}: unit amount (${currency.toUpperCase() || "currency"})`}
                  inputMode="decimal"
                  required
                  value={item.amount}
                  onValue={(amount) => update(item.key, { amount })}
                  hint={
                    toMinorUnits(item.amount, currency) && currency
                      ? formatMoney(toMinorUnits(item.amount, currency) ?? 0, currency)
                      : undefined
                  }
                  error={itemError(index, "unit_amount")}
                />
              )}
              <div class="field-row">
                <TextField
                  label={`Item ${index + 1}: quantity`}
                  type="number"
                  min={1}
                  max={10000}
                  required
                  value={item.quantity}
                  onValue={(quantity) => update(item.key, { quantity })}
                  error={itemError(index, "quantity")}
                />
                <TextField
                  label={`Item ${index + 1}: description`}
                  required={item.kind === "amount"}
                  maxLength={500}
                  value={item.description}
                  onValue={(text) => update(item.key, { description: text })}
                  hint={item.kind === "plan" ? "Optional: the plan's name by default." : undefined}
                  error={itemError(index, "description")}
                />
              </div>
              {items.length > 1 ? (
                <button
                  type="button"
                  class="button button-small"
                  onClick={() => setItems((rows) => rows.filter((row) => row.key !== item.key))}
                >
                  Remove item {index + 1}
                </button>
              ) : null}
            </fieldset>
          ))}
          <div class="button-row">
            <button
              type="button"
              class="button button-small"
              onClick={() => setItems((rows) => [...rows, newItem("amount")])}
            >
              Add an item
            </button>
          </div>
          {onlyAmounts ? (
            <TextField
              label="Currency"
              required
              maxLength={3}
              value={currency}
              onValue={setCurrency}
              hint="Three letters (usd, eur, …). With a plan's item, the plan's currency is used."
              error={create.error?.field("currency")}
            />
          ) : null}
          <SelectField
            label="Collection"
            value={collection}
            onValue={setCollection}
            options={COLLECTION_OPTIONS}
            error={create.error?.field("collection_method")}
          />
          {collection === "send_invoice" ? (
            <TextField
              label="Days until due"
              type="number"
              min={1}
              max={365}
              required
              value={days}
              onValue={setDays}
              error={create.error?.field("days_until_due")}
            />
          ) : null}
          <TextField
            label="Coupon"
            value={coupon}
            onValue={setCoupon}
            hint="Optional: one of your coupons; else the customer's own coupon applies."
            error={create.error?.field("coupon")}
          />
          <TextField
            label="Description"
            maxLength={1000}
            value={description}
            onValue={setDescription}
            hint="Optional: shown on the invoice."
            error={create.error?.field("description")}
          />
          <ErrorMessage error={create.error} />
          <SubmitButton pending={create.pending}>Create draft invoice</SubmitButton>
        </Form>
      </Card>
    </Page>
  );
}
