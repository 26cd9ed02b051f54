import { useEffect, useState } from "preact/hooks";
import { ActionDialog } from "../../components/dialog";
import { SelectField, TextField } from "../../components/form";
import { api, PLANS } from "../../lib/api";
import { fromMinorUnits, toMinorUnits } from "../../lib/format";
import { useAction } from "../../lib/hooks";
import { type BillingInterval, INTERVALS, type Plan } from "../../lib/types";

export const INTERVAL_OPTIONS = INTERVALS.map((interval) => [interval, `Every ${interval}`] as const);

/** Duplicate a plan with a new name and price (the way to change a price: Stripe prices are immutable). */
export function DuplicateDialog({
  plan,
  onClose,
  onDone,
}: {
  plan: Plan | null;
  onClose: () => void;
  onDone: (copy: Plan) => void;
}) {
  const [name, setName] = useState("");
  const [amount, setAmount] = useState("");
  const [currency, setCurrency] = useState("usd");
  const [interval, setInterval] = useState<BillingInterval>("month");
  useEffect(() => {
    if (!plan) return;
    setName(`${plan.name} (copy)`);
    setAmount(fromMinorUnits(plan.price_cents, plan.currency));
    setCurrency(plan.currency);
    setInterval(plan.billing_interval);
  }, [plan]);
  const action = useAction(() => {
    const price = toMinorUnits(amount, currency);
    if (price === null) throw new Error("Enter the price as a number, e.g. 29.99");
    return api<Plan>(`${PLANS}/${plan?.id}/duplicate`, {
      body: {
        name: name.trim(),
        price_cents: price,
        currency: currency.trim().toLowerCase(),
        billing_interval: interval,
      },
    });
  });
  return (
    <ActionDialog
      open={plan !== null}
      title={`Duplicate ${plan?.name ?? "plan"}`}
      message="The copy gets its own Stripe product and price; the original plan and its subscribers stay as they are."
      confirmLabel="Create copy"
      action={action}
      onClose={onClose}
      onDone={onDone}
    >
      <TextField
        label="Name"
        required
        maxLength={100}
        value={name}
        onValue={setName}
        error={action.error?.field("name")}
      />
      <div class="field-row">
        <TextField
          label="Price"
          inputMode="decimal"
          required
          value={amount}
          onValue={setAmount}
          error={action.error?.field("price_cents")}
        />
        <TextField
          label="Currency"
          required
          maxLength={3}
          value={currency}
          onValue={setCurrency}
          error={action.error?.field("currency")}
        />
      </div>
      <SelectField
        label="Billing interval"
        value={interval}
        onValue={setInterval}
        options={INTERVAL_OPTIONS}
      />
    </ActionDialog>
  );
}

/** Deactivate (soft delete): archived at Stripe, existing subscriptions go on. */
export function DeactivateDialog({
  plan,
  onClose,
  onDone,
}: {
  plan: Plan | null;
  onClose: () => void;
  onDone: () => void;
}) {
  const action = useAction(() => api<unknown>(`${PLANS}/${plan?.id}`, { method: "DELETE" }));
  return (
    <ActionDialog
      open={plan !== null}
      title={`Deactivate ${plan?.name ?? "plan"}`}
      message="New customers can no longer subscribe to it and its Stripe product is archived. Existing subscriptions continue."
      confirmLabel="Deactivate"
      danger
      action={action}
      onClose={onClose}
      onDone={() => onDone()}
    />
  );
}
