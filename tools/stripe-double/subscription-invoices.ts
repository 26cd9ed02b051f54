// Invoices of subscriptions: the lines of a period (one per item, prorated when the period is
// partial), pending invoice items pulled in, and the "what will this attempt do" prediction that
// lets create/update refuse a payment before changing anything.
import { itemsOf, type SubItem } from "./billing.ts";
import { draftInvoice, type LineSpec, lineItem, priceDescription, setLines } from "./invoice-build.ts";
import { finalizeInvoice } from "./invoice-collect.ts";
import { cardOf } from "./payments.ts";
import type { Ctx } from "./router.ts";
import { all, find, type Json, put } from "./state.ts";
import { subscriptionInvoiceDiscounts } from "./subscription-discounts.ts";
import { emitFor } from "./webhooks.ts";

/** The regular line of an item for a period; `fraction` < 1 prorates it. */
export function itemLine(
  ctx: Ctx,
  sub: Json,
  item: SubItem,
  start: number,
  end: number,
  fraction = 1,
): LineSpec {
  const full = Number(item.price.unit_amount ?? 0) * item.quantity;
  return {
    amount: fraction === 1 ? full : Math.round(full * fraction),
    currency: String(item.price.currency),
    description: priceDescription(ctx, item.price, item.quantity),
    period: { start, end },
    quantity: item.quantity,
    price: item.price,
    proration: false,
    subscription: sub.id as string,
    subscriptionItem: item.id,
    invoiceItem: null,
    discountable: true,
  };
}

/** A pending invoice item as an invoice line. */
export function invoiceItemLine(ctx: Ctx, item: Json): LineSpec {
  const parent = item.parent as {
    subscription_details?: { subscription?: string; subscription_item?: string };
  } | null;
  const pricing = item.pricing as { price_details?: { price?: string } } | null;
  const priceId = pricing?.price_details?.price;
  return {
    amount: Number(item.amount),
    currency: String(item.currency),
    description: String(item.description ?? "Invoice item"),
    period: item.period as { start: number; end: number },
    quantity: Number(item.quantity ?? 1),
    price: priceId ? (find(ctx.state, "price", priceId, ctx.scope)?.obj ?? null) : null,
    proration: item.proration === true,
    subscription: parent?.subscription_details?.subscription ?? null,
    subscriptionItem: parent?.subscription_details?.subscription_item ?? null,
    invoiceItem: item.id as string,
    discountable: item.discountable !== false,
    metadata: item.metadata as Json,
  };
}

/** Pending invoice items of the customer that this subscription's next invoice takes. */
export function pendingItemsFor(ctx: Ctx, customerId: string, subId: string | null): Json[] {
  return all(ctx.state, "invoiceitem", ctx.scope)
    .map((s) => s.obj)
    .filter((ii) => {
      if (ii.customer !== customerId || ii.invoice !== null || ii.deleted === true) return false;
      const owner =
        (ii.parent as { subscription_details?: { subscription?: string } } | null)?.subscription_details
          ?.subscription ?? null;
      return owner === null || owner === subId;
    })
    .reverse();
}

export interface SubscriptionInvoiceSpec {
  id?: string;
  reason: string;
  periodStart: number;
  periodEnd: number;
  /** The items' regular lines for the period (false: only the `extra` lines and pending items). */
  regular: boolean;
  /** Fraction of the period the regular lines charge (a first period up to a billing anchor). */
  fraction?: number;
  extra?: LineSpec[];
  /** Take the customer's pending invoice items (default true). */
  pending?: boolean;
  /** Leave the invoice a draft (paused collection, unpaid subscriptions). */
  draft?: boolean;
}

/** Creates, stores and (unless `draft`) finalizes an invoice of the subscription. */
export function invoiceSubscription(ctx: Ctx, sub: Json, spec: SubscriptionInvoiceSpec): Json {
  const customer = find(ctx.state, "customer", sub.customer as string, ctx.scope)?.obj ?? {
    id: sub.customer,
  };
  const invoice = draftInvoice(ctx, {
    id: spec.id,
    customer,
    currency: String(sub.currency),
    billingReason: spec.reason,
    collectionMethod: sub.collection_method as string,
    subscription: sub,
    periodStart: spec.periodStart,
    periodEnd: spec.periodEnd,
    autoAdvance: true,
    daysUntilDue: (sub.days_until_due as number | null) ?? null,
    discounts: subscriptionInvoiceDiscounts(ctx, sub, spec.periodStart),
  });
  const specs: LineSpec[] = spec.regular
    ? itemsOf(sub).map((item) => itemLine(ctx, sub, item, spec.periodStart, spec.periodEnd, spec.fraction))
    : [];
  const items = spec.pending === false ? [] : pendingItemsFor(ctx, sub.customer as string, sub.id as string);
  const lines = [...(spec.extra ?? []), ...items.map((ii) => invoiceItemLine(ctx, ii)), ...specs].map((l) =>
    lineItem(ctx, l, invoice.id as string),
  );
  setLines(ctx, invoice, lines);
  for (const ii of items) ii.invoice = invoice.id;
  if (spec.draft) invoice.auto_advance = false;
  put(ctx.state, "invoice", ctx.scope, invoice);
  emitFor(ctx, "invoice.created", invoice);
  if (!spec.draft) finalizeInvoice(ctx, invoice);
  return invoice;
}

/** What charging `pmId` will do, known before anything is created. */
export function predictCharge(ctx: Ctx, pmId: string | null): "succeeds" | "declines" | "requires_action" {
  const card = cardOf(ctx, pmId);
  if (card && card.declines !== "never") return "declines";
  if (card?.auth === "always") return "requires_action";
  return "succeeds";
}
