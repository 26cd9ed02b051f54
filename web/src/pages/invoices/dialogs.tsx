import { useEffect, useState } from "preact/hooks";
import { ActionDialog } from "../../components/dialog";
import { Checkbox, SelectField, TextField } from "../../components/form";
import { api, INVOICES, REFUNDS } from "../../lib/api";
import { type Invoice, REFUND_REASONS, type Refund, type RefundReason } from "../../lib/billing-types";
import { formatMoney, fromMinorUnits, humanize, toMinorUnits } from "../../lib/format";
import { useAction } from "../../lib/hooks";
import { invoiceLabel } from "./shared";

/** The verbs of an invoice's state machine that take no input beyond a confirmation. */
export type SimpleVerb = "finalize" | "send" | "void" | "mark_uncollectible";

const VERBS: Record<
  SimpleVerb,
  { title: string; message: string; confirm: string; done: string; danger?: boolean }
> = {
  finalize: {
    title: "Finalize the invoice",
    message:
      "The draft becomes open: it gets its number, hosted page and PDF, and can no longer be edited. Stripe then collects it (charges the default payment method about an hour later, or emails it).",
    confirm: "Finalize invoice",
    done: "Invoice finalized",
  },
  send: {
    title: "Send the invoice",
    message:
      "Stripe emails the customer a link to the invoice's hosted page (a draft is finalized first). It stays open until paid.",
    confirm: "Send invoice",
    done: "Invoice sent",
  },
  void: {
    title: "Void the invoice",
    message: "Nothing more is owed or collected on it. A voided invoice stays voided: this cannot be undone.",
    confirm: "Void invoice",
    done: "Invoice voided",
    danger: true,
  },
  mark_uncollectible: {
    title: "Mark the invoice uncollectible",
    message:
      "It is written off as bad debt: no more attempts are made to collect it. It can still be paid later, or voided.",
    confirm: "Mark uncollectible",
    done: "Invoice marked uncollectible",
    danger: true,
  },
};

/** Finalize, send, void or mark uncollectible, after a confirmation; the API's error stays inside. */
export function VerbDialog({
  verb,
  invoice,
  onClose,
  onDone,
}: {
  verb: SimpleVerb | null;
  invoice: Invoice;
  onClose: () => void;
  onDone: (message: string) => void;
}) {
  const text = verb ? VERBS[verb] : VERBS.finalize;
  const action = useAction(() =>
    api<Invoice>(`${INVOICES}/${invoice.id}/${verb ?? "finalize"}`, { method: "POST" }),
  );
  return (
    <ActionDialog
      open={verb !== null}
      title={text.title}
      message={text.message}
      confirmLabel={text.confirm}
      danger={text.danger}
      action={action}
      onClose={onClose}
      onDone={() => onDone(text.done)}
    />
  );
}

/** Pay now: charge the default payment method, or record a payment made outside Stripe. */
export function PayDialog({
  open,
  invoice,
  onClose,
  onDone,
}: {
  open: boolean;
  invoice: Invoice;
  onClose: () => void;
  onDone: (message: string) => void;
}) {
  const [outOfBand, setOutOfBand] = useState(false);
  useEffect(() => {
    if (open) setOutOfBand(false);
  }, [open]);
  const action = useAction(() =>
    api<Invoice>(`${INVOICES}/${invoice.id}/pay`, { body: outOfBand ? { paid_out_of_band: true } : {} }),
  );
  return (
    <ActionDialog
      open={open}
      title="Pay the invoice now"
      message={`${formatMoney(invoice.amount_remaining || invoice.amount_due, invoice.currency)} is charged to the customer's default payment method${invoice.status === "draft" ? " (the draft is finalized first)" : ""}. A decline shows the card issuer's reason and counts as an attempt.`}
      confirmLabel={outOfBand ? "Record payment" : "Charge now"}
      action={action}
      onClose={onClose}
      onDone={() => onDone(outOfBand ? "Payment recorded" : "Invoice paid")}
    >
      <Checkbox
        label="The customer paid outside Stripe (cash, bank transfer): record it, charge nothing"
        checked={outOfBand}
        onChecked={setOutOfBand}
      />
    </ActionDialog>
  );
}

const REASON_OPTIONS: readonly (readonly ["" | RefundReason, string])[] = [
  ["", "No reason given"],
  ...REFUND_REASONS.map((reason) => [reason, humanize(reason)] as const),
];

/**
 * Refund a paid invoice, all that is left or a part of it, with a reason. Stripe refunds the
 * platform's fee in the same proportion; the API refuses more than is left with its message.
 */
export function RefundDialog({
  open,
  invoice,
  onClose,
  onDone,
}: {
  open: boolean;
  invoice: Invoice;
  onClose: () => void;
  onDone: (refund: Refund) => void;
}) {
  const refundable = Math.max(0, invoice.amount_paid - invoice.amount_refunded);
  const [whole, setWhole] = useState<"full" | "partial">("full");
  const [amount, setAmount] = useState("");
  const [reason, setReason] = useState<"" | RefundReason>("requested_by_customer");
  useEffect(() => {
    if (!open) return;
    setWhole("full");
    setAmount(fromMinorUnits(refundable, invoice.currency));
    setReason("requested_by_customer");
  }, [open]);
  const action = useAction(() => {
    const minor = whole === "full" ? undefined : toMinorUnits(amount, invoice.currency);
    return api<Refund>(REFUNDS, {
      body: {
        invoice: invoice.id,
        // An amount the field cannot read goes as NaN → null: the API then names the field.
        amount: minor === undefined ? undefined : (minor ?? Number.NaN),
        reason: reason || undefined,
      },
    });
  });
  const left = formatMoney(refundable, invoice.currency);
  return (
    <ActionDialog
      open={open}
      title={`Refund invoice ${invoiceLabel(invoice)}`}
      message={`${left} of the ${formatMoney(invoice.amount_paid, invoice.currency)} paid is left to refund. The money goes back to the customer's payment method; the platform's fee is refunded in the same proportion. A refund cannot be undone.`}
      confirmLabel={whole === "full" ? `Refund ${left}` : "Refund"}
      danger
      action={action}
      onClose={onClose}
      onDone={onDone}
    >
      <SelectField
        label="Refund"
        value={whole}
        onValue={setWhole}
        options={[
          ["full", `All that is left (${left})`],
          ["partial", "Part of it"],
        ]}
      />
      {whole === "partial" ? (
        <TextField
          label={`Amount (${invoice.currency.toUpperCase()})`}
          inputMode="decimal"
          required
          value={amount}
          onValue={setAmount}
          hint={`At most ${left}.`}
          error={action.error?.field("amount")}
        />
      ) : null}
      <SelectField
        label="Reason"
        value={reason}
        onValue={setReason}
        options={REASON_OPTIONS}
        error={action.error?.field("reason")}
      />
    </ActionDialog>
  );
}
