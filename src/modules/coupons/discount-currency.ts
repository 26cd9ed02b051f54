// The one currency rule of discounts: an amount-off coupon applies only to money in its currency.
import { validationError } from "../../lib/errors";

/** What the rule reads of a resolved discount (`ResolvedDiscount`). */
export interface DiscountCurrencyInput {
  coupon: { id: string; currency: string | null };
  promotionCode: { code: string } | null;
}

/**
 * An amount-off coupon takes its amount off in its own currency only (a percent-off one has
 * none): applied to a subscription or invoice in another, Stripe refuses it or the tenant is
 * billed without it. Every path that applies a coupon or promotion code the caller named checks it
 * here before Stripe is asked: 400 on the field that names it (the customer's own discount is left
 * out where it does not apply: `discountsFor`).
 */
export function assertDiscountCurrency(discount: DiscountCurrencyInput | null, currency: string): void {
  if (!discount || discountAppliesIn(discount, currency)) return;
  const own = discount.coupon.currency;
  const field = discount.promotionCode ? "promotion_code" : "coupon";
  const named = discount.promotionCode
    ? `promotion code ${discount.promotionCode.code} (coupon ${discount.coupon.id})`
    : `coupon ${discount.coupon.id}`;
  throw validationError(field, `The ${named} takes an amount off in ${own}, not in ${currency}`);
}

/** Whether the discount takes money off in `currency`: a percent off anywhere, an amount off in its own. */
export function discountAppliesIn(discount: DiscountCurrencyInput, currency: string): boolean {
  const own = discount.coupon.currency;
  return !own || own === currency.toLowerCase();
}
