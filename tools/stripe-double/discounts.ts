// Discount arithmetic on invoice lines. A discount's terms (its coupon's percent or amount, what it
// applies to) are kept in the double's notes when the discount is made, so deleting the coupon
// later changes nothing, as at Stripe.
import { roundAmount } from "./format.ts";
import type { Ctx } from "./router.ts";
import { type Json, note } from "./state.ts";

export interface DiscountTerms {
  percentOff: number | null;
  amountOff: number | null;
  currency: string | null;
  /** Products the coupon is restricted to, or null for all. */
  products: string[] | null;
}

export function termsOf(ctx: Ctx, discountId: string): DiscountTerms | null {
  return (note(ctx.state, discountId).terms as DiscountTerms | undefined) ?? null;
}

function productOf(line: Json): string | null {
  const pricing = line.pricing as { price_details?: { product?: string } } | null;
  return pricing?.price_details?.product ?? null;
}

/**
 * Sets each line's `discount_amounts` and the invoice's `total_discount_amounts` for the invoice's
 * discounts (stacked in order, each on what the previous left); returns the total discount.
 */
export function applyDiscounts(ctx: Ctx, invoice: Json, lines: Json[]): number {
  const remaining = new Map<Json, number>();
  for (const line of lines) {
    line.discount_amounts = [];
    remaining.set(line, Number(line.amount));
  }
  const totals: Array<{ amount: number; discount: string }> = [];
  for (const id of (invoice.discounts as unknown[]).map(String)) {
    const terms = termsOf(ctx, id);
    if (!terms) continue;
    const eligible = lines.filter(
      (l) =>
        l.discountable !== false &&
        (!terms.products || terms.products.includes(productOf(l) ?? "")) &&
        (terms.currency === null || terms.currency === l.currency),
    );
    const amounts = new Map<Json, number>();
    if (terms.percentOff !== null) {
      for (const l of eligible)
        amounts.set(l, roundAmount(((remaining.get(l) ?? 0) * terms.percentOff) / 100));
    } else if (terms.amountOff !== null) {
      const base = eligible.reduce((s, l) => s + (remaining.get(l) ?? 0), 0);
      const off = Math.min(terms.amountOff, Math.max(0, base));
      let left = off;
      eligible.forEach((l, i) => {
        const share =
          i === eligible.length - 1 ? left : Math.floor((off * (remaining.get(l) ?? 0)) / Math.max(1, base));
        amounts.set(l, share);
        left -= share;
      });
    }
    let sum = 0;
    for (const [line, amount] of amounts) {
      (line.discount_amounts as Json[]).push({ amount, discount: id });
      remaining.set(line, (remaining.get(line) ?? 0) - amount);
      sum += amount;
    }
    totals.push({ amount: sum, discount: id });
  }
  invoice.total_discount_amounts = totals;
  return totals.reduce((s, t) => s + t.amount, 0);
}
