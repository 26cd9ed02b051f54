// Invoice objects: the draft skeleton, its line items (from subscription items and invoice items)
// and the arithmetic: subtotal, discounts, total, amount due and the application fee.
import { applyDiscounts } from "./discounts.ts";
import { money } from "./format.ts";
import type { Ctx } from "./router.ts";
import { find, type Json, newId, now } from "./state.ts";

/** What one line of an invoice is made of. */
export interface LineSpec {
  amount: number;
  currency: string;
  description: string;
  period: { start: number; end: number };
  quantity: number | null;
  price: Json | null;
  proration: boolean;
  subscription: string | null;
  subscriptionItem: string | null;
  /** The invoice item behind the line (null for a subscription item's own charge). */
  invoiceItem: string | null;
  discountable: boolean;
  metadata?: Json;
}

export interface InvoiceSpec {
  id?: string;
  customer: Json;
  currency: string;
  billingReason: string;
  collectionMethod?: string;
  subscription?: Json | null;
  periodStart?: number;
  periodEnd?: number;
  autoAdvance?: boolean;
  daysUntilDue?: number | null;
  dueDate?: number | null;
  description?: string | null;
  metadata?: Json;
  discounts?: string[];
  applicationFeeAmount?: number | null;
  defaultPaymentMethod?: string | null;
  /** Preview invoices get an `upcoming_in_...` id and are never stored. */
  preview?: boolean;
}

/** "1 × Pro (at $15.00 / month)". */
export function priceDescription(ctx: Ctx, price: Json, quantity: number): string {
  const product = find(ctx.state, "product", String(price.product), ctx.scope)?.obj;
  const name = String(price.nickname ?? product?.name ?? price.product);
  const recurring = price.recurring as Json | null;
  const every = recurring
    ? ` / ${Number(recurring.interval_count) > 1 ? `every ${String(recurring.interval_count)} ${String(recurring.interval)}s` : String(recurring.interval)}`
    : "";
  return `${quantity} × ${name} (at ${money(Number(price.unit_amount ?? 0), price.currency)}${every})`;
}

/** A `line_item` of invoice `invoiceId` (null for previews). */
export function lineItem(ctx: Ctx, spec: LineSpec, invoiceId: string | null): Json {
  const fromSubscription = spec.subscriptionItem !== null;
  const details = { credited_items: null };
  const parent = fromSubscription
    ? {
        type: "subscription_item_details",
        invoice_item_details: null,
        subscription_item_details: {
          invoice_item: spec.invoiceItem,
          proration: spec.proration,
          proration_details: details,
          subscription: spec.subscription,
          subscription_item: spec.subscriptionItem,
        },
      }
    : {
        type: "invoice_item_details",
        invoice_item_details: {
          invoice_item: spec.invoiceItem,
          proration: spec.proration,
          proration_details: details,
          subscription: spec.subscription,
        },
        subscription_item_details: null,
      };
  const unit = spec.price ? String(spec.price.unit_amount_decimal ?? spec.price.unit_amount) : null;
  return {
    id: newId("il"),
    object: "line_item",
    amount: spec.amount,
    currency: spec.currency,
    description: spec.description,
    discount_amounts: [],
    discountable: spec.discountable,
    discounts: [],
    invoice: invoiceId,
    livemode: ctx.livemode,
    metadata: spec.metadata ?? {},
    parent,
    period: spec.period,
    pretax_credit_amounts: [],
    pricing: spec.price
      ? {
          type: "price_details",
          price_details: { price: spec.price.id, product: spec.price.product },
          unit_amount_decimal: unit,
        }
      : null,
    quantity: spec.quantity,
    quantity_decimal: spec.quantity === null ? null : String(spec.quantity),
    subscription: spec.subscription,
    subtotal: spec.amount,
    taxes: [],
  };
}

/** A draft invoice with no lines yet. */
export function draftInvoice(ctx: Ctx, spec: InvoiceSpec): Json {
  const id = spec.id ?? (spec.preview ? `upcoming_${newId("in")}` : newId("in"));
  const created = now();
  const customer = spec.customer;
  const sub = spec.subscription ?? null;
  const collection = spec.collectionMethod ?? "charge_automatically";
  const autoAdvance = spec.autoAdvance ?? false;
  const dueDate =
    collection === "send_invoice"
      ? (spec.dueDate ?? (spec.daysUntilDue != null ? created + spec.daysUntilDue * 86400 : null))
      : null;
  return {
    id,
    object: "invoice",
    account_country: "US",
    account_name: null,
    account_tax_ids: null,
    amount_due: 0,
    amount_overpaid: 0,
    amount_paid: 0,
    amount_remaining: 0,
    amount_shipping: 0,
    application: null,
    application_fee_amount: spec.applicationFeeAmount ?? null,
    attempt_count: 0,
    attempted: false,
    auto_advance: autoAdvance,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null, provider: null, status: null },
    automatically_finalizes_at: autoAdvance && !spec.preview ? created + 3600 : null,
    billing_reason: spec.billingReason,
    collection_method: collection,
    created,
    currency: spec.currency,
    custom_fields: null,
    customer: customer.id,
    customer_account: null,
    customer_address: customer.address ?? null,
    customer_email: customer.email ?? null,
    customer_name: customer.name ?? null,
    customer_phone: customer.phone ?? null,
    customer_shipping: customer.shipping ?? null,
    customer_tax_exempt: customer.tax_exempt ?? "none",
    customer_tax_ids: [],
    default_payment_method: spec.defaultPaymentMethod ?? null,
    default_source: null,
    default_tax_rates: [],
    description: spec.description ?? null,
    discounts: spec.discounts ?? [],
    due_date: dueDate,
    effective_at: null,
    ending_balance: null,
    footer: null,
    from_invoice: null,
    hosted_invoice_url: null,
    invoice_pdf: null,
    issuer: { type: "self" },
    last_finalization_error: null,
    latest_revision: null,
    lines: { object: "list", data: [], has_more: false, total_count: 0, url: `/v1/invoices/${id}/lines` },
    livemode: ctx.livemode,
    metadata: spec.metadata ?? {},
    next_payment_attempt: null,
    number: null,
    on_behalf_of: null,
    parent: sub
      ? {
          type: "subscription_details",
          quote_details: null,
          subscription_details: { metadata: { ...(sub.metadata as Json) }, subscription: sub.id },
        }
      : null,
    payment_settings: { default_mandate: null, payment_method_options: null, payment_method_types: null },
    period_end: spec.periodEnd ?? created,
    period_start: spec.periodStart ?? created,
    post_payment_credit_notes_amount: 0,
    pre_payment_credit_notes_amount: 0,
    receipt_number: null,
    rendering: null,
    shipping_cost: null,
    shipping_details: null,
    starting_balance: 0,
    statement_descriptor: null,
    status: "draft",
    status_transitions: { finalized_at: null, marked_uncollectible_at: null, paid_at: null, voided_at: null },
    subscription: sub ? sub.id : null,
    subtotal: 0,
    subtotal_excluding_tax: 0,
    test_clock: customer.test_clock ?? null,
    total: 0,
    total_discount_amounts: [],
    total_excluding_tax: 0,
    total_pretax_credit_amounts: [],
    total_taxes: [],
    webhooks_delivered_at: null,
  };
}

export function linesOf(invoice: Json): Json[] {
  return (invoice.lines as { data: Json[] }).data;
}

/** Replaces (or appends to) the invoice's lines and recomputes its amounts. */
export function setLines(ctx: Ctx, invoice: Json, lines: Json[], append = false): void {
  const list = invoice.lines as Json;
  const data = append ? [...linesOf(invoice), ...lines] : lines;
  for (const line of data) line.invoice = invoice.id;
  Object.assign(list, { data, total_count: data.length });
  recompute(ctx, invoice);
}

/**
 * Subtotal, discounts (per line, as Stripe: `round(amount × percent / 100)` or a capped
 * `amount_off`), total, amount due (with the customer's balance once applied), and the
 * application fee of a subscription invoice on a connected account: `round(total × percent / 100)`.
 */
export function recompute(ctx: Ctx, invoice: Json): void {
  const lines = linesOf(invoice);
  const subtotal = lines.reduce((sum, l) => sum + Number(l.amount), 0);
  const discounted = applyDiscounts(ctx, invoice, lines);
  const total = subtotal - discounted;
  const due = Math.max(0, total + Number(invoice.starting_balance ?? 0));
  Object.assign(invoice, {
    subtotal,
    subtotal_excluding_tax: subtotal,
    total,
    total_excluding_tax: total,
    amount_due: due,
    amount_remaining: Math.max(0, due - Number(invoice.amount_paid)),
  });
  const sub = invoice.subscription
    ? find(ctx.state, "subscription", invoice.subscription as string, ctx.scope)?.obj
    : null;
  const percent = sub?.application_fee_percent;
  if (typeof percent === "number")
    invoice.application_fee_amount = Math.round((Math.max(0, total) * percent) / 100);
}
