// Discount objects (`di_...`): made from `discounts` params (`[{coupon}|{promotion_code}|{discount}]`)
// with redemption limits enforced (the coupon's and the promotion code's `times_redeemed` count
// them), their terms noted for the invoice arithmetic. `repeating` discounts end after
// `duration_in_months` (`end`); `once` discounts end with the first invoice they apply to.
import { addInterval } from "./billing.ts";
import { refreshValid } from "./coupons.ts";
import type { DiscountTerms } from "./discounts.ts";
import { apiError, invalid } from "./errors.ts";
import type { FormObject } from "./form.ts";
import { arr, str } from "./params.ts";
import type { Ctx } from "./router.ts";
import { all, find, type Json, mustFind, newId, note, now, put } from "./state.ts";
import { emitFor } from "./webhooks.ts";

export interface DiscountOwner {
  customer: string | null;
  subscription?: string | null;
  invoice?: string | null;
}

export type DiscountEntry = { coupon: string } | { promotion_code: string } | { discount: string };

/** The `discounts` param: undefined when absent, [] for `""`. */
export function discountEntries(p: FormObject, name = "discounts"): DiscountEntry[] | undefined {
  if (p[name] === undefined) return undefined;
  if (p[name] === "") return [];
  return (arr(p, name) ?? []).map((raw, i) => {
    const e = (typeof raw === "object" && !Array.isArray(raw) ? raw : {}) as FormObject;
    const coupon = str(e, "coupon", `${name}[${i}][coupon]`);
    const promo = str(e, "promotion_code", `${name}[${i}][promotion_code]`);
    const discount = str(e, "discount", `${name}[${i}][discount]`);
    if ([coupon, promo, discount].filter(Boolean).length !== 1) {
      throw invalid(
        `${name}[${i}]`,
        `You must specify exactly one of coupon, promotion_code or discount in ${name}[${i}].`,
      );
    }
    return coupon ? { coupon } : promo ? { promotion_code: promo } : { discount: discount ?? "" };
  });
}

function refuse(param: string, message: string, code?: string): never {
  throw apiError(400, { type: "invalid_request_error", param, message, ...(code ? { code } : {}) });
}

function hasPaid(ctx: Ctx, customer: string | null): boolean {
  return all(ctx.state, "invoice", ctx.scope).some(
    (s) => s.obj.customer === customer && s.obj.status === "paid" && Number(s.obj.amount_paid) > 0,
  );
}

/** Checks an entry can be redeemed by `customer`; returns its coupon and promotion code. */
export function checkEntry(
  ctx: Ctx,
  entry: DiscountEntry,
  customer: string | null,
  param: string,
): { coupon: Json; promo: Json | null } {
  let promo: Json | null = null;
  let couponId: string;
  if ("promotion_code" in entry) {
    const p = `${param}[promotion_code]`;
    promo = mustFind(ctx.state, "promotion_code", entry.promotion_code, ctx.scope, "promotion code", p).obj;
    const code = String(promo.code);
    if (promo.active !== true) refuse(p, `The promotion code \`${code}\` is inactive.`);
    if (typeof promo.expires_at === "number" && promo.expires_at <= now())
      refuse(p, `The promotion code \`${code}\` has expired.`);
    if (promo.max_redemptions !== null && Number(promo.times_redeemed) >= Number(promo.max_redemptions)) {
      refuse(p, `The promotion code \`${code}\` has reached its maximum number of redemptions.`);
    }
    if (promo.customer && promo.customer !== customer)
      refuse(p, "This promotion code cannot be redeemed by this customer.");
    if ((promo.restrictions as Json).first_time_transaction === true && hasPaid(ctx, customer)) {
      refuse(
        p,
        "This promotion code cannot be redeemed because the associated customer has prior transactions.",
      );
    }
    couponId = String((promo.promotion as Json).coupon);
  } else couponId = "coupon" in entry ? entry.coupon : "";
  const coupon = mustFind(ctx.state, "coupon", couponId, ctx.scope, "coupon", `${param}[coupon]`).obj;
  if (!refreshValid(coupon)) refuse(`${param}[coupon]`, `Coupon expired: ${couponId}`, "coupon_expired");
  return { coupon, promo };
}

function termsFrom(coupon: Json): DiscountTerms & { duration: string } {
  return {
    percentOff: (coupon.percent_off as number | null) ?? null,
    amountOff: (coupon.amount_off as number | null) ?? null,
    currency: (coupon.currency as string | null) ?? null,
    products: ((coupon.applies_to as Json | undefined)?.products as string[] | undefined) ?? null,
    duration: String(coupon.duration),
  };
}

/** A new discount for `owner` (redeemed: counts against the limits). `preview` stores nothing. */
export function makeDiscount(
  ctx: Ctx,
  entry: DiscountEntry,
  owner: DiscountOwner,
  param: string,
  preview = false,
): string {
  const { coupon, promo } = checkEntry(ctx, entry, owner.customer, param);
  const start = now();
  const id = newId(preview ? "di_preview" : "di");
  note(ctx.state, id).terms = termsFrom(coupon);
  if (preview) return id;
  const discount: Json = {
    id,
    object: "discount",
    checkout_session: null,
    customer: owner.customer,
    customer_account: null,
    end:
      coupon.duration === "repeating" ? addInterval(start, "month", Number(coupon.duration_in_months)) : null,
    invoice: owner.invoice ?? null,
    invoice_item: null,
    promotion_code: promo ? promo.id : null,
    source: { coupon: coupon.id, type: "coupon" },
    start,
    subscription: owner.subscription ?? null,
    subscription_item: null,
  };
  put(ctx.state, "discount", ctx.scope, discount);
  coupon.times_redeemed = Number(coupon.times_redeemed) + 1;
  refreshValid(coupon);
  if (promo) promo.times_redeemed = Number(promo.times_redeemed) + 1;
  return id;
}

/** The discount ids `entries` resolve to (existing ones kept by `{discount}`, new ones made). */
export function resolveDiscounts(
  ctx: Ctx,
  entries: DiscountEntry[],
  owner: DiscountOwner,
  existing: string[],
  name = "discounts",
): { ids: string[]; made: string[] } {
  for (const [i, e] of entries.entries()) {
    if ("discount" in e && !existing.includes(e.discount))
      refuse(`${name}[${i}][discount]`, `No such discount: '${e.discount}'`, "resource_missing");
    if (!("discount" in e)) checkEntry(ctx, e, owner.customer, `${name}[${i}]`);
  }
  const made: string[] = [];
  const ids = entries.map((e, i) => {
    if ("discount" in e) return e.discount;
    const id = makeDiscount(ctx, e, owner, `${name}[${i}]`);
    made.push(id);
    return id;
  });
  return { ids, made };
}

export function discountObject(ctx: Ctx, id: string): Json | undefined {
  return find(ctx.state, "discount", id, ctx.scope)?.obj;
}

/** Ends a subscription's or customer's discount: `customer.discount.deleted`. */
export function endDiscount(ctx: Ctx, id: string): Json | null {
  const discount = discountObject(ctx, id);
  if (!discount) return null;
  const deleted = { ...discount, deleted: true };
  emitFor(ctx, "customer.discount.deleted", deleted);
  return deleted;
}

/** A subscription's discounts still running at `at`; ended `repeating` ones are removed. */
export function activeDiscounts(ctx: Ctx, sub: Json, at: number): string[] {
  const ids = (sub.discounts as string[]) ?? [];
  const ended = ids.filter((id) => {
    const end = discountObject(ctx, id)?.end;
    return typeof end === "number" && end <= at;
  });
  if (ended.length === 0) return [...ids];
  sub.discounts = ids.filter((id) => !ended.includes(id));
  for (const id of ended) endDiscount(ctx, id);
  return [...(sub.discounts as string[])];
}

/** Called when an invoice is finalized: `once` discounts of its subscription end with it. */
export function consumeDiscounts(ctx: Ctx, invoice: Json): void {
  if (Number(invoice.subtotal) === 0 || typeof invoice.subscription !== "string") return;
  const sub = find(ctx.state, "subscription", invoice.subscription, ctx.scope)?.obj;
  if (!sub) return;
  const used = (invoice.discounts as string[]).filter(
    (id) => (ctx.state.notes.get(id)?.terms as { duration?: string } | undefined)?.duration === "once",
  );
  const current = sub.discounts as string[];
  const ending = used.filter((id) => current.includes(id));
  if (ending.length === 0) return;
  sub.discounts = current.filter((id) => !ending.includes(id));
  for (const id of ending) endDiscount(ctx, id);
}
