import { useEffect, useState } from "preact/hooks";
import { ConfirmDialog } from "../../components/dialog";
import { ErrorMessage, Loading } from "../../components/feedback";
import { Checkbox, SelectField, TextField } from "../../components/form";
import { type Column, Table } from "../../components/table";
import { api, SUBSCRIPTIONS } from "../../lib/api";
import type { ProrationBehavior, Subscription, SubscriptionPreview } from "../../lib/billing-types";
import { localToIso } from "../../lib/dates";
import { formatDate, formatMoney } from "../../lib/format";
import { useAction, useDebounced } from "../../lib/hooks";
import type { Plan } from "../../lib/types";

interface DialogProps {
  open: boolean;
  subscription: Subscription;
  onClose: () => void;
}

const PRORATION_OPTIONS: readonly (readonly [ProrationBehavior, string])[] = [
  ["create_prorations", "Prorate on the next invoice"],
  ["always_invoice", "Prorate and invoice now"],
  ["none", "No proration"],
];

/** Plan and quantity, with the cost previewed (Stripe's invoice preview) before anything changes. */
export function ChangeDialog({
  open,
  subscription,
  plans,
  onClose,
  onDone,
}: DialogProps & { plans: Plan[]; onDone: () => void }) {
  const [planId, setPlanId] = useState(subscription.plan ?? "");
  const [quantity, setQuantity] = useState(String(subscription.quantity));
  const [proration, setProration] = useState<ProrationBehavior>("create_prorations");
  useEffect(() => {
    if (!open) return;
    setPlanId(subscription.plan ?? "");
    setQuantity(String(subscription.quantity));
    setProration("create_prorations");
  }, [open, subscription]);

  const changes = () => {
    const count = Number(quantity);
    return {
      ...(planId && planId !== subscription.plan ? { plan: planId } : {}),
      ...(count !== subscription.quantity ? { quantity: quantity.trim() === "" ? Number.NaN : count } : {}),
      proration_behavior: proration,
    };
  };
  const path = `${SUBSCRIPTIONS}/${subscription.id}`;
  const preview = useAction(() => api<SubscriptionPreview>(`${path}/preview`, { body: changes() }));
  const save = useAction(() => api<Subscription>(path, { method: "PATCH", body: changes() }));
  const [shown, setShown] = useState<SubscriptionPreview | null>(null);
  const key = useDebounced(`${open}|${planId}|${quantity}|${proration}`, 400);
  useEffect(() => {
    if (!open) return;
    setShown(null);
    void preview.run().then((answer) => setShown(answer ?? null));
  }, [key]);

  const choices = plans.filter((plan) => plan.is_active || plan.id === subscription.plan);
  return (
    <ConfirmDialog
      open={open}
      title="Change plan or quantity"
      message="The preview shows what the change costs before anything changes."
      confirmLabel="Apply change"
      pending={save.pending}
      error={save.error}
      onClose={() => {
        save.reset();
        onClose();
      }}
      onConfirm={async () => {
        if (await save.run()) onDone();
      }}
    >
      <SelectField
        label="Plan"
        value={planId}
        onValue={setPlanId}
        options={choices.map((plan) => [plan.id, `${plan.name} (${plan.price_display})`] as const)}
        error={save.error?.field("plan")}
      />
      <TextField
        label="Quantity"
        type="number"
        min={1}
        max={100000}
        required
        value={quantity}
        onValue={setQuantity}
        error={save.error?.field("quantity")}
      />
      <SelectField label="Proration" value={proration} onValue={setProration} options={PRORATION_OPTIONS} />
      <section class="preview" aria-live="polite" aria-busy={preview.pending} aria-label="Preview">
        {preview.pending ? <Loading label="Previewing the cost…" /> : null}
        <ErrorMessage error={preview.error} title="Preview" />
        {shown && !preview.pending ? <PreviewFigures preview={shown} /> : null}
      </section>
    </ConfirmDialog>
  );
}

const lineColumns = (currency: string): Column<SubscriptionPreview["lines"][number]>[] => [
  { label: "Line", render: (line) => `${line.description ?? "—"}${line.proration ? " (proration)" : ""}` },
  { label: "Amount", render: (line) => formatMoney(line.amount, currency) },
];

function PreviewFigures({ preview }: { preview: SubscriptionPreview }) {
  return (
    <div data-testid="change-preview">
      <p>
        Next invoice: <strong>{preview.amount_due_display}</strong>
        {preview.period_end ? ` (period ending ${formatDate(preview.period_end)})` : ""}. Proration:{" "}
        <strong>{formatMoney(preview.proration_amount, preview.currency)}</strong>.
      </p>
      <Table
        caption="Preview lines"
        columns={lineColumns(preview.currency)}
        rows={preview.lines}
        rowKey={(line) => `${line.description}-${line.amount}-${line.proration}`}
        empty="No line."
      />
    </div>
  );
}

/** Cancel at the period end (default, can be taken back) or now. */
export function CancelDialog({
  open,
  subscription,
  onClose,
  onDone,
}: DialogProps & { onDone: (now: boolean) => void }) {
  const [when, setWhen] = useState<"period_end" | "now">("period_end");
  const [prorate, setProrate] = useState(false);
  const [invoiceNow, setInvoiceNow] = useState(false);
  useEffect(() => {
    if (open) setWhen(subscription.cancel_at_period_end ? "now" : "period_end");
  }, [open]);
  const now = when === "now";
  const action = useAction(() =>
    api<Subscription>(`${SUBSCRIPTIONS}/${subscription.id}/cancel`, {
      body: now ? { at_period_end: false, prorate, invoice_now: invoiceNow } : { at_period_end: true },
    }),
  );
  const options: readonly (readonly ["period_end" | "now", string])[] = subscription.cancel_at_period_end
    ? [["now", "Now"]]
    : [
        ["period_end", `At the end of the period (${formatDate(subscription.current_period_end)})`],
        ["now", "Now"],
      ];
  return (
    <ConfirmDialog
      open={open}
      title="Cancel the subscription"
      message="At the period end, the customer keeps access until then and you can take it back. Now ends it at once: it cannot be undone."
      confirmLabel={now ? "Cancel now" : "Cancel at period end"}
      danger
      pending={action.pending}
      error={action.error}
      onClose={() => {
        action.reset();
        onClose();
      }}
      onConfirm={async () => {
        if (await action.run()) onDone(now);
      }}
    >
      <SelectField label="When" value={when} onValue={setWhen} options={options} />
      {now ? (
        <>
          <Checkbox label="Credit the unused time (prorate)" checked={prorate} onChecked={setProrate} />
          <Checkbox
            label="Invoice pending usage and prorations now"
            checked={invoiceNow}
            onChecked={setInvoiceNow}
          />
        </>
      ) : null}
    </ConfirmDialog>
  );
}

type PauseBehavior = "void" | "keep_as_draft" | "mark_uncollectible";

const PAUSE_OPTIONS: readonly (readonly [PauseBehavior, string])[] = [
  ["void", "Void the invoices made while paused"],
  ["keep_as_draft", "Keep them as drafts"],
  ["mark_uncollectible", "Mark them uncollectible"],
];

/** Pause payment collection (the subscription goes on; its invoices are not collected). */
export function PauseDialog({ open, subscription, onClose, onDone }: DialogProps & { onDone: () => void }) {
  const [behavior, setBehavior] = useState<PauseBehavior>("void");
  const [resumesAt, setResumesAt] = useState("");
  const action = useAction(() =>
    api<Subscription>(`${SUBSCRIPTIONS}/${subscription.id}/pause`, {
      body: { behavior, resumes_at: localToIso(resumesAt) || undefined },
    }),
  );
  return (
    <ConfirmDialog
      open={open}
      title="Pause payment collection"
      message="The subscription stays as it is, but its invoices are not collected until you resume collection (or until the date you set)."
      confirmLabel="Pause collection"
      pending={action.pending}
      error={action.error}
      onClose={() => {
        action.reset();
        onClose();
      }}
      onConfirm={async () => {
        if (await action.run()) onDone();
      }}
    >
      <SelectField
        label="Invoices while paused"
        value={behavior}
        onValue={setBehavior}
        options={PAUSE_OPTIONS}
      />
      <TextField
        label="Resume automatically on"
        type="datetime-local"
        value={resumesAt}
        onValue={setResumesAt}
        hint="Optional."
        error={action.error?.field("resumes_at")}
      />
    </ConfirmDialog>
  );
}
