// Subscription items and the parameters shared by creating and updating a subscription.
import type { SubItem } from "./billing.ts";
import { invalid, missing } from "./errors.ts";
import type { FormObject } from "./form.ts";
import { applyMetadata, arr, int, num, str } from "./params.ts";
import type { Ctx } from "./router.ts";
import { clone, type Json, mustFind, newId, now } from "./state.ts";

export const PAYMENT_BEHAVIORS = [
  "allow_incomplete",
  "default_incomplete",
  "error_if_incomplete",
  "pending_if_incomplete",
] as const;
export const PRORATIONS = ["create_prorations", "none", "always_invoice"] as const;
export const COMMON = [
  "metadata",
  "default_payment_method",
  "application_fee_percent",
  "proration_behavior",
  "payment_behavior",
  "cancel_at_period_end",
  "cancel_at",
  "trial_end",
  "description",
  "collection_method",
  "off_session",
  "proration_date",
  "billing_cycle_anchor",
  "automatic_tax",
  "payment_settings",
  "cancellation_details",
  "days_until_due",
  "default_tax_rates",
  "discounts",
  "trial_settings",
  "pause_collection",
  "add_invoice_items",
  "trial_from_plan",
  "invoice_settings",
  "on_behalf_of",
  "transfer_data",
  "pending_invoice_item_interval",
  "billing_thresholds",
  "billing_mode",
];

export function recurringPrice(ctx: Ctx, priceId: string, param: string): Json {
  const price = mustFind(ctx.state, "price", priceId, ctx.scope, "price", param).obj;
  if (price.active === false)
    throw invalid(param, "The price specified is inactive. This field only accepts active prices.");
  if (price.type !== "recurring") {
    throw invalid(
      param,
      "The price specified is set to `type=one_time` but this field only accepts prices with `type=recurring`.",
    );
  }
  return clone(price);
}

export function newItem(ctx: Ctx, subId: string, entry: FormObject, i: number): SubItem {
  const label = `items[${i}][price]`;
  const priceId = str(entry, "price", label);
  if (!priceId) throw missing(label);
  return {
    id: newId("si", 14),
    object: "subscription_item",
    created: now(),
    current_period_start: 0,
    current_period_end: 0,
    discounts: [],
    metadata: applyMetadata({}, entry),
    price: recurringPrice(ctx, priceId, label),
    quantity: int(entry, "quantity", `items[${i}][quantity]`, 0) ?? 1,
    subscription: subId,
    tax_rates: [],
  };
}

export function itemEntries(p: FormObject): FormObject[] | undefined {
  return arr(p, "items")?.map((e, i) => {
    if (typeof e !== "object" || Array.isArray(e)) throw invalid(`items[${i}]`, "Invalid object");
    return e;
  });
}

export function checkItems(items: SubItem[]): void {
  if (items.length === 0) throw invalid("items", "A subscription must have at least one active item.");
  const [first] = items;
  const key = (it: SubItem) =>
    JSON.stringify([
      it.price.currency,
      (it.price.recurring as Json).interval,
      (it.price.recurring as Json).interval_count,
    ]);
  if (first && items.some((it) => key(it) !== key(first))) {
    throw invalid("items", "Currency and interval fields must match across all plans on this subscription.");
  }
  const prices = items.map((it) => it.price.id);
  if (new Set(prices).size !== prices.length)
    throw invalid("items", "Cannot add multiple subscription items with the same price.");
}

/** `application_fee_percent`: only on behalf of a connected account, as Stripe requires. */
export function feePercent(ctx: Ctx): number | null | undefined {
  const raw = str(ctx.params, "application_fee_percent");
  if (raw === undefined) return undefined;
  if (raw === "") return null;
  if (!ctx.scope) {
    throw invalid(
      "application_fee_percent",
      "Can only apply an application_fee_percent when the request is made on behalf of another account (using an OAuth key or the Stripe-Account header).",
    );
  }
  if (/\.\d{3,}$/.test(raw)) {
    throw invalid(
      "application_fee_percent",
      `Invalid decimal: ${raw}. The value can have at most 2 decimal places.`,
      "parameter_invalid_decimal",
    );
  }
  const n = num(ctx.params, "application_fee_percent") ?? 0;
  if (n < 0 || n > 100)
    throw invalid("application_fee_percent", "application_fee_percent must be between 0 and 100.");
  return n;
}

/** `trial_settings[end_behavior][missing_payment_method]`, or undefined when not given. */
export function trialSettings(p: FormObject): Json | undefined {
  const settings = p.trial_settings;
  if (settings === undefined) return undefined;
  const end = typeof settings === "object" && !Array.isArray(settings) ? settings.end_behavior : undefined;
  const missing =
    typeof end === "object" && !Array.isArray(end)
      ? str(end, "missing_payment_method", "trial_settings[end_behavior][missing_payment_method]")
      : undefined;
  if (!missing || !["cancel", "create_invoice", "pause"].includes(missing)) {
    throw invalid(
      "trial_settings[end_behavior][missing_payment_method]",
      "Invalid trial_settings[end_behavior][missing_payment_method]: must be one of cancel, create_invoice, or pause",
    );
  }
  return { end_behavior: { missing_payment_method: missing } };
}
