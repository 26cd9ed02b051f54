// Checkout line items (`li_...`, `object: "item"`): validated from `line_items[n][price|quantity]`,
// kept in the double's notes, listed by GET .../line_items and `expand[]=line_items`.
import { invalid, missing } from "./errors.ts";
import type { FormObject } from "./form.ts";
import { arr, includable, int, str } from "./params.ts";
import type { Ctx } from "./router.ts";
import { clone, find, type Json, mustFind, newId } from "./state.ts";
import { recurringPrice } from "./subscription-items.ts";

/** Line items: `{price, quantity}` of prices in the request's scope; at least one recurring. */
export function lineItems(ctx: Ctx, p: FormObject): Json[] {
  const entries = arr(p, "line_items");
  if (!entries || entries.length === 0) throw missing("line_items");
  const items = entries.map((raw, i) => {
    const e = raw as FormObject;
    const priceId = str(e, "price", `line_items[${i}][price]`);
    if (!priceId) throw missing(`line_items[${i}][price]`);
    const stored = mustFind(ctx.state, "price", priceId, ctx.scope, "price", `line_items[${i}][price]`).obj;
    const price =
      stored.type === "recurring" ? recurringPrice(ctx, priceId, `line_items[${i}][price]`) : clone(stored);
    const quantity = int(e, "quantity", `line_items[${i}][quantity]`, 1) ?? 1;
    const product = find(ctx.state, "product", String(price.product), ctx.scope)?.obj;
    const amount = Number(price.unit_amount ?? 0) * quantity;
    return {
      id: newId("li"),
      object: "item",
      adjustable_quantity: null,
      amount_discount: 0,
      amount_subtotal: amount,
      amount_tax: 0,
      amount_total: amount,
      currency: price.currency,
      description: product?.name ?? null,
      metadata: {},
      price,
      quantity,
    };
  });
  if (!items.some((li) => (li.price as Json).type === "recurring")) {
    throw invalid(
      "line_items",
      "You must provide at least one recurring price in `subscription` mode when using prices.",
    );
  }
  return items;
}

includable("checkout.session", "line_items", (ctx, session) => {
  const data = (ctx.state.notes.get(session.id as string)?.line_items as Json[] | undefined) ?? [];
  return {
    object: "list",
    data,
    has_more: false,
    url: `/v1/checkout/sessions/${String(session.id)}/line_items`,
  };
});
