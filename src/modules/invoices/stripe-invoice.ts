import type { InvoiceLine, InvoiceRow, InvoiceStatus } from "../../db/schema";
import { tenantMetadataOf } from "../../lib/metadata";

/** Reading a Stripe invoice (an API answer or an event's snapshot) into the mirror's fields. */
type Obj = Record<string, unknown>;

const obj = (value: unknown): Obj => (value && typeof value === "object" ? (value as Obj) : {});
const str = (value: unknown): string | null => (typeof value === "string" ? value : null);
const num = (value: unknown): number | null => (typeof value === "number" ? value : null);
const idOf = (value: unknown): string | null => str(value) ?? str(obj(value).id);
const ms = (seconds: number | null) => (seconds === null ? null : new Date(seconds * 1000));
const list = (value: unknown): Obj[] => {
  const data = Array.isArray(value) ? value : obj(value).data;
  return Array.isArray(data) ? data.map(obj) : [];
};

const STATUSES: readonly InvoiceStatus[] = ["draft", "open", "paid", "uncollectible", "void"];

/** Our own keys in an invoice's Stripe metadata (what finds it again); the rest is the tenant's. */
export const INVOICE_OWN_KEYS = ["tenant_id", "invoice_id", "customer_id"];

export type StripeInvoiceFields = Omit<
  InvoiceRow,
  | "id"
  | "tenantId"
  | "customerId"
  | "subscriptionId"
  | "amountRefunded"
  | "deletedAt"
  | "lastEventCreated"
  | "createdAt"
  | "updatedAt"
>;

/** The subscription an invoice belongs to, across API versions. */
export function invoiceSubscriptionId(invoice: Obj): string | null {
  return (
    idOf(invoice.subscription) ??
    idOf(obj(obj(invoice.parent).subscription_details).subscription) ??
    idOf(obj(invoice.subscription_details).subscription)
  );
}

function lineOf(line: Obj): InvoiceLine {
  const period = obj(line.period);
  const pricing = obj(obj(line.pricing).price_details);
  const proration =
    line.proration === true ||
    obj(obj(line.parent).subscription_item_details).proration === true ||
    obj(obj(line.parent).invoice_item_details).proration === true;
  const discounts = list(line.discount_amounts);
  return {
    id: str(line.id) ?? "",
    description: str(line.description),
    amount: num(line.amount) ?? 0,
    currency: str(line.currency) ?? "usd",
    quantity: num(line.quantity),
    price_id: idOf(line.price) ?? idOf(pricing.price),
    proration,
    period_start: num(period.start),
    period_end: num(period.end),
    discount_amount: discounts.reduce((sum, entry) => sum + (num(entry.amount) ?? 0), 0),
  };
}

/** The charge and PaymentIntent that paid an invoice, from `payments` (current API) or the old top-level fields. */
function paymentOf(invoice: Obj): { paymentIntentId: string | null; chargeId: string | null } {
  const payments = list(invoice.payments);
  const paid = payments.find((entry) => entry.status === "paid") ?? payments[0];
  const payment = obj(paid?.payment);
  return {
    paymentIntentId: idOf(payment.payment_intent) ?? idOf(invoice.payment_intent),
    chargeId: idOf(payment.charge) ?? idOf(invoice.charge),
  };
}

export function invoiceFields(invoice: Obj): StripeInvoiceFields {
  const status = str(invoice.status) as InvoiceStatus | null;
  const transitions = obj(invoice.status_transitions);
  const taxes =
    list(invoice.total_taxes).reduce((sum, tax) => sum + (num(tax.amount) ?? 0), 0) ||
    (num(invoice.tax) ?? 0);
  const discountAmounts = list(invoice.total_discount_amounts);
  const collection = str(invoice.collection_method);
  return {
    livemode: invoice.livemode === true,
    stripeInvoiceId: str(invoice.id) ?? "",
    stripeCustomerId: idOf(invoice.customer) ?? "",
    stripeSubscriptionId: invoiceSubscriptionId(invoice),
    number: str(invoice.number),
    status: status && STATUSES.includes(status) ? status : "draft",
    billingReason: str(invoice.billing_reason),
    collectionMethod: collection === "send_invoice" ? "send_invoice" : "charge_automatically",
    currency: str(invoice.currency) ?? "usd",
    subtotal: num(invoice.subtotal) ?? 0,
    discountAmount: discountAmounts.reduce((sum, entry) => sum + (num(entry.amount) ?? 0), 0),
    tax: taxes,
    total: num(invoice.total) ?? 0,
    amountDue: num(invoice.amount_due) ?? 0,
    amountPaid: num(invoice.amount_paid) ?? 0,
    amountRemaining: num(invoice.amount_remaining) ?? 0,
    applicationFeeAmount: num(invoice.application_fee_amount),
    attemptCount: num(invoice.attempt_count) ?? 0,
    nextPaymentAttempt: ms(num(invoice.next_payment_attempt)),
    dueDate: ms(num(invoice.due_date)),
    periodStart: ms(num(invoice.period_start)),
    periodEnd: ms(num(invoice.period_end)),
    description: str(invoice.description),
    hostedInvoiceUrl: str(invoice.hosted_invoice_url),
    invoicePdf: str(invoice.invoice_pdf),
    ...paymentOf(invoice),
    lines: list(invoice.lines).map(lineOf),
    discounts: discountAmounts.map((entry) => ({
      coupon: idOf(entry.discount) ?? "",
      amount: num(entry.amount) ?? 0,
    })),
    metadata: tenantMetadataOf(invoice.metadata, INVOICE_OWN_KEYS),
    finalizedAt: ms(num(transitions.finalized_at)),
    paidAt: ms(num(transitions.paid_at)),
    voidedAt: ms(num(transitions.voided_at)),
  };
}
