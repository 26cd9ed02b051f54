// Billing periods and amounts of subscriptions, and which payment method pays an invoice.
import type { Ctx } from "./router.ts";
import { find, type Json } from "./state.ts";

/** `ts` moved by `count` intervals; month and year steps clamp to the end of shorter months. */
export function addInterval(ts: number, interval: string, count: number): number {
  const d = new Date(ts * 1000);
  if (interval === "day" || interval === "week") {
    d.setUTCDate(d.getUTCDate() + count * (interval === "week" ? 7 : 1));
    return Math.floor(d.getTime() / 1000);
  }
  const months = interval === "year" ? 12 * count : count;
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, last));
  return Math.floor(d.getTime() / 1000);
}

export interface SubItem extends Json {
  id: string;
  price: Json;
  quantity: number;
}

export function itemsOf(sub: Json): SubItem[] {
  return (sub.items as { data: SubItem[] }).data;
}

/** The recurring interval of a subscription (its first item's price). */
export function periodEnd(sub: Json, start: number): number {
  const recurring = itemsOf(sub)[0]?.price.recurring as Json | undefined;
  return addInterval(start, String(recurring?.interval ?? "month"), Number(recurring?.interval_count ?? 1));
}

export function subscriptionAmount(sub: Json): number {
  return itemsOf(sub).reduce((sum, item) => sum + Number(item.price.unit_amount ?? 0) * item.quantity, 0);
}

/** Sets the billing period on the subscription and on each of its items. */
export function setPeriod(sub: Json, start: number, end: number): void {
  sub.current_period_start = start;
  sub.current_period_end = end;
  for (const item of itemsOf(sub)) {
    item.current_period_start = start;
    item.current_period_end = end;
  }
}

export function paymentMethodOf(ctx: Ctx, sub: Json): string | null {
  if (sub.default_payment_method) return sub.default_payment_method as string;
  const customer = find(ctx.state, "customer", sub.customer as string, ctx.scope)?.obj;
  const settings = customer?.invoice_settings as Json | undefined;
  return (settings?.default_payment_method as string | null | undefined) ?? null;
}

/** The payment method an invoice is charged with: its own, its subscription's, its customer's. */
export function invoicePaymentMethod(ctx: Ctx, invoice: Json): string | null {
  if (invoice.default_payment_method) return invoice.default_payment_method as string;
  const sub = invoice.subscription
    ? find(ctx.state, "subscription", invoice.subscription as string, ctx.scope)?.obj
    : undefined;
  if (sub) return paymentMethodOf(ctx, sub);
  const customer = find(ctx.state, "customer", invoice.customer as string, ctx.scope)?.obj;
  return ((customer?.invoice_settings as Json | undefined)?.default_payment_method as string | null) ?? null;
}
