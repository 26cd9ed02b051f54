// `discounts` on subscriptions (create/update; `""` removes them all), on invoices and on previews,
// and DELETE /v1/subscriptions/:id/discount, DELETE /v1/customers/:id/discount.
import {
  activeDiscounts,
  discountEntries,
  endDiscount,
  makeDiscount,
  resolveDiscounts,
} from "./discount-objects.ts";
import { apiError } from "./errors.ts";
import type { FormObject } from "./form.ts";
import { type Ctx, type Reply, type Route, route } from "./router.ts";
import { type Json, mustFind, now } from "./state.ts";
import { enterCustomerTime } from "./test-clocks.ts";
import { emitFor } from "./webhooks.ts";

/** Replaces the subscription's discounts when `discounts` is given (`""` removes them all). */
export function applySubscriptionDiscounts(ctx: Ctx, sub: Json, p: FormObject): void {
  const entries = discountEntries(p);
  if (entries === undefined) return;
  const before = (sub.discounts as string[]) ?? [];
  const { ids, made } = resolveDiscounts(
    ctx,
    entries,
    { customer: sub.customer as string, subscription: sub.id as string },
    before,
  );
  sub.discounts = ids;
  for (const id of before.filter((d) => !ids.includes(d))) endDiscount(ctx, id);
  for (const id of made) {
    const discount = mustFind(ctx.state, "discount", id, ctx.scope).obj;
    emitFor(ctx, "customer.discount.created", discount);
  }
}

/** The discounts of a subscription's invoice for the period starting at `at`. */
export function subscriptionInvoiceDiscounts(ctx: Ctx, sub: Json, at: number): string[] {
  return activeDiscounts(ctx, sub, at);
}

/** The discounts a preview applies: its `discounts` param (not redeemed), else the subscription's. */
export function previewDiscounts(ctx: Ctx, sub: Json | null, p: FormObject): string[] {
  const entries = discountEntries(p);
  if (entries === undefined) return sub ? [...(sub.discounts as string[])] : [];
  return entries.map((e, i) =>
    "discount" in e
      ? e.discount
      : makeDiscount(ctx, e, { customer: (sub?.customer as string) ?? null }, `discounts[${i}]`, true),
  );
}

/** The discounts an invoice's `discounts` param sets (undefined when not given). */
export function invoiceDiscounts(ctx: Ctx, invoice: Json, p: FormObject): string[] | undefined {
  const entries = discountEntries(p);
  if (entries === undefined) return undefined;
  return resolveDiscounts(
    ctx,
    entries,
    { customer: invoice.customer as string, invoice: invoice.id as string },
    (invoice.discounts as string[]) ?? [],
  ).ids;
}

function noDiscount(what: string): never {
  throw apiError(404, {
    type: "invalid_request_error",
    code: "resource_missing",
    message: `This ${what} has no active discount.`,
  });
}

function deleteSubscriptionDiscount(ctx: Ctx): Reply {
  const sub = mustFind(ctx.state, "subscription", ctx.match[0] ?? "", ctx.scope).obj;
  enterCustomerTime(ctx, sub.customer);
  const ids = (sub.discounts as string[]) ?? [];
  if (ids.length === 0) noDiscount("subscription");
  sub.discounts = [];
  const deleted = ids.map((id) => endDiscount(ctx, id));
  return { status: 200, body: deleted[0] };
}

function deleteCustomerDiscount(ctx: Ctx): Reply {
  const customer = mustFind(ctx.state, "customer", ctx.match[0] ?? "", ctx.scope).obj;
  enterCustomerTime(ctx, customer.id);
  const discount = customer.discount as Json | null;
  if (!discount) noDiscount("customer");
  customer.discount = null;
  const deleted = { ...discount, deleted: true, end: now() };
  emitFor(ctx, "customer.discount.deleted", deleted);
  return { status: 200, body: deleted };
}

export const discountRoutes: Route[] = [
  route("DELETE", "/v1/subscriptions/:id/discount", deleteSubscriptionDiscount),
  route("DELETE", "/v1/customers/:id/discount", deleteCustomerDiscount),
];
