// `discounts` on subscriptions (see discount-objects.ts for how they are made and ended).
import type { FormObject } from "./form.ts";
import type { Ctx } from "./router.ts";
import type { Json } from "./state.ts";

/** Replaces the subscription's discounts when `discounts` is given (`""` removes them all). */
export function applySubscriptionDiscounts(ctx: Ctx, sub: Json, p: FormObject): void {
  void ctx;
  void sub;
  void p;
}

/** The discounts a preview applies: its `discounts` param, else the subscription's own. */
export function previewDiscounts(ctx: Ctx, sub: Json | null, p: FormObject): string[] {
  void ctx;
  void p;
  return sub ? [...(sub.discounts as string[])] : [];
}

/** The discounts an invoice's `discounts` param sets (undefined when not given). */
export function invoiceDiscounts(ctx: Ctx, invoice: Json, p: FormObject): string[] | undefined {
  void ctx;
  void invoice;
  return p.discounts === "" ? [] : undefined;
}
