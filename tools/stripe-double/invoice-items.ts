// Invoice items (`ii_...`): one-off amounts waiting for the customer's next invoice (`invoice: null`,
// "pending"), or attached to a draft invoice. Subscription prorations are invoice items too
// (`proration: true`, `parent.subscription_details`).
import type { Ctx } from "./router.ts";
import { type Json, newId, now, put } from "./state.ts";
import { emitFor } from "./webhooks.ts";

export interface ItemSpec {
  customer: string;
  amount: number;
  currency: string;
  description: string | null;
  period?: { start: number; end: number };
  quantity?: number;
  price?: Json | null;
  proration?: boolean;
  subscription?: string | null;
  subscriptionItem?: string | null;
  invoice?: string | null;
  discountable?: boolean;
  metadata?: Json;
  testClock?: string | null;
}

/** Stores a new invoice item and emits `invoiceitem.created`. */
export function createInvoiceItem(ctx: Ctx, spec: ItemSpec): Json {
  const t = now();
  const quantity = spec.quantity ?? 1;
  const item: Json = {
    id: newId("ii"),
    object: "invoiceitem",
    amount: spec.amount,
    currency: spec.currency,
    customer: spec.customer,
    customer_account: null,
    date: t,
    description: spec.description,
    discountable: spec.discountable ?? !spec.proration,
    discounts: [],
    invoice: spec.invoice ?? null,
    livemode: ctx.livemode,
    metadata: spec.metadata ?? {},
    net_amount: spec.amount,
    parent: spec.subscription
      ? {
          type: "subscription_details",
          subscription_details: {
            subscription: spec.subscription,
            subscription_item: spec.subscriptionItem ?? null,
          },
        }
      : null,
    period: spec.period ?? { start: t, end: t },
    pricing: spec.price
      ? {
          type: "price_details",
          price_details: { price: spec.price.id, product: spec.price.product },
          unit_amount_decimal: String(spec.price.unit_amount_decimal ?? spec.price.unit_amount),
        }
      : null,
    proration: spec.proration ?? false,
    proration_details: { credited_items: null, discount_amounts: [] },
    quantity,
    quantity_decimal: String(quantity),
    tax_rates: [],
    test_clock: spec.testClock ?? null,
  };
  put(ctx.state, "invoiceitem", ctx.scope, item);
  emitFor(ctx, "invoiceitem.created", item);
  return item;
}
