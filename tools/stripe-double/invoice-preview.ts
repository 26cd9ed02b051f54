// POST /v1/invoices/create_preview: the invoice Stripe would make, computed and answered without
// storing or emitting anything. With `subscription` (and `subscription_details` changes): the
// upcoming renewal (`create_prorations`, default: the prorations of the change plus the next period)
// or the immediate invoice (`always_invoice`); with only `subscription_details[items]`: the first
// invoice of a new subscription; with only pending invoice items: a one-off invoice.
import { itemsOf, periodEnd, type SubItem } from "./billing.ts";
import { apiError, invalid, missing } from "./errors.ts";
import type { FormObject } from "./form.ts";
import { draftInvoice, type LineSpec, lineItem, setLines } from "./invoice-build.ts";
import { allow, arr, bool, int, obj, oneOf, reply, str } from "./params.ts";
import { liveCustomer } from "./payments.ts";
import { prorationLines } from "./proration.ts";
import type { Ctx, Reply } from "./router.ts";
import { type Json, mustFind, newId, now } from "./state.ts";
import { newItems } from "./subscription-changes.ts";
import { previewDiscounts } from "./subscription-discounts.ts";
import { invoiceItemLine, itemLine, pendingItemsFor } from "./subscription-invoices.ts";
import { newItem, PRORATIONS, recurringPrice } from "./subscription-items.ts";

function noUpcoming(customer: string): never {
  throw apiError(404, {
    type: "invalid_request_error",
    code: "invoice_upcoming_none",
    message: `No upcoming invoices for customer: ${customer}`,
  });
}

/** `invoice_items[n]`: extra one-off lines of the preview. */
function extraItems(ctx: Ctx, p: FormObject, currency: string, t: number): LineSpec[] {
  return (arr(p, "invoice_items") ?? []).map((raw, i) => {
    const e = raw as FormObject;
    const label = `invoice_items[${i}]`;
    const priceId = str(e, "price", `${label}[price]`);
    const price = priceId
      ? mustFind(ctx.state, "price", priceId, ctx.scope, "price", `${label}[price]`).obj
      : null;
    const quantity = int(e, "quantity", `${label}[quantity]`, 0) ?? 1;
    const amount =
      int(e, "amount", `${label}[amount]`) ?? (price ? Number(price.unit_amount) * quantity : undefined);
    if (amount === undefined) throw missing(`${label}[amount]`);
    return {
      amount,
      currency: (
        str(e, "currency", `${label}[currency]`) ?? String(price?.currency ?? currency)
      ).toLowerCase(),
      description: str(e, "description", `${label}[description]`) ?? "Invoice item",
      period: { start: t, end: t },
      quantity,
      price,
      proration: false,
      subscription: null,
      subscriptionItem: null,
      invoiceItem: null,
      discountable: bool(e, "discountable", `${label}[discountable]`) ?? true,
    };
  });
}

export function createPreview(ctx: Ctx): Reply {
  allow(ctx, [
    "customer",
    "subscription",
    "subscription_details",
    "discounts",
    "invoice_items",
    "currency",
    "automatic_tax",
    "customer_details",
    "issuer",
    "on_behalf_of",
    "preview_mode",
    "schedule",
    "schedule_details",
    "customer_account",
  ]);
  const p = ctx.params;
  const subId = str(p, "subscription");
  const sub = subId
    ? mustFind(ctx.state, "subscription", subId, ctx.scope, "subscription", "subscription").obj
    : null;
  const customerId = str(p, "customer") ?? (sub?.customer as string | undefined);
  if (!customerId) throw missing("customer");
  const customer = liveCustomer(ctx, customerId);
  if (sub && sub.customer !== customerId)
    throw invalid("subscription", `The subscription ${subId} does not belong to customer ${customerId}.`);
  const details = obj(p, "subscription_details") ?? {};
  const t = int(details, "proration_date", "subscription_details[proration_date]") ?? now();
  const proration =
    oneOf(details, "proration_behavior", PRORATIONS, "subscription_details[proration_behavior]") ??
    "create_prorations";
  const cancelNow = bool(details, "cancel_now", "subscription_details[cancel_now]") === true;
  let lines: LineSpec[] = [];
  let reason = "manual";
  let periodStart = now();
  let end = periodStart;
  let owner: Json | null = sub;
  if (sub) {
    if (sub.status === "canceled") noUpcoming(customerId);
    const before = itemsOf(sub);
    const after: SubItem[] = details.items !== undefined ? newItems(ctx, sub, details) : before;
    const live = ["active", "past_due", "unpaid"].includes(String(sub.status));
    const prorations =
      live && proration !== "none" ? prorationLines(ctx, sub, before, cancelNow ? [] : after, t) : [];
    const pending = pendingItemsFor(ctx, customerId, sub.id as string).map((ii) => invoiceItemLine(ctx, ii));
    if (proration === "always_invoice" || cancelNow) {
      reason = "subscription_update";
      lines = [...prorations, ...pending];
      periodStart = t;
      end = t;
    } else {
      if (sub.cancel_at_period_end === true && prorations.length === 0 && pending.length === 0)
        noUpcoming(customerId);
      reason = "subscription_cycle";
      periodStart = Number(sub.current_period_end);
      const preview = { ...sub, items: { ...(sub.items as Json), data: after } };
      end = periodEnd(preview, periodStart);
      lines = [...prorations, ...pending, ...after.map((it) => itemLine(ctx, preview, it, periodStart, end))];
    }
  } else if (details.items !== undefined) {
    const entries = arr(details, "items") ?? [];
    const id = newId("sub");
    const items = entries.map((e, i) => {
      const item = newItem(ctx, id, e as FormObject, i);
      recurringPrice(ctx, item.price.id as string, `subscription_details[items][${i}][price]`);
      return item;
    });
    owner = { id, metadata: {}, items: { data: items }, customer: customerId };
    reason = "subscription_create";
    end = periodEnd(owner, periodStart);
    lines = items.map((it) => ({
      ...itemLine(ctx, owner as Json, it, periodStart, end),
      subscription: null,
    }));
    owner = null;
  } else {
    lines = pendingItemsFor(ctx, customerId, null).map((ii) => invoiceItemLine(ctx, ii));
  }
  const currency = String(lines[0]?.currency ?? sub?.currency ?? str(p, "currency") ?? "usd");
  lines.push(...extraItems(ctx, p, currency, periodStart));
  if (lines.length === 0) noUpcoming(customerId);
  const invoice = draftInvoice(ctx, {
    customer,
    currency,
    billingReason: reason,
    subscription: owner,
    periodStart,
    periodEnd: end,
    autoAdvance: owner !== null,
    collectionMethod: (sub?.collection_method as string | undefined) ?? "charge_automatically",
    preview: true,
    discounts: previewDiscounts(ctx, sub, p),
  });
  if (sub && invoice.parent)
    ((invoice.parent as Json).subscription_details as Json).subscription_proration_date = t;
  if (reason === "subscription_cycle") invoice.next_payment_attempt = periodStart + 3600;
  const built = lines.map((l) => ({ ...lineItem(ctx, l, null), id: newId("il_tmp") }));
  setLines(ctx, invoice, built);
  return reply(ctx, invoice);
}
