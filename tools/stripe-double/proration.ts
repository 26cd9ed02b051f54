// Prorations as Stripe computes them: for a change at time `at` inside the period [start, end), the
// old item is credited and the new one charged for the unused part, per second:
// round(unit_amount × quantity × (end − at) / (end − start)).
import type { SubItem } from "./billing.ts";
import { day, roundAmount } from "./format.ts";
import type { LineSpec } from "./invoice-build.ts";
import { createInvoiceItem } from "./invoice-items.ts";
import type { Ctx } from "./router.ts";
import { find, type Json } from "./state.ts";

function name(ctx: Ctx, item: SubItem): string {
  const product = find(ctx.state, "product", String(item.price.product), ctx.scope)?.obj;
  const label = String(item.price.nickname ?? product?.name ?? item.price.product);
  return item.quantity === 1 ? label : `${item.quantity} × ${label}`;
}

function line(
  ctx: Ctx,
  sub: Json,
  item: SubItem,
  at: number,
  end: number,
  fraction: number,
  credit: boolean,
): LineSpec {
  const full = Number(item.price.unit_amount ?? 0) * item.quantity;
  const amount = roundAmount(full * fraction);
  return {
    amount: credit ? -amount : amount,
    currency: String(item.price.currency),
    description: `${credit ? "Unused" : "Remaining"} time on ${name(ctx, item)} after ${day(at)}`,
    period: { start: at, end },
    quantity: item.quantity,
    price: item.price,
    proration: true,
    subscription: sub.id as string,
    subscriptionItem: item.id,
    invoiceItem: null,
    discountable: true,
  };
}

/** The proration lines of moving the subscription from `before` to `after` items at `at`. */
export function prorationLines(
  ctx: Ctx,
  sub: Json,
  before: SubItem[],
  after: SubItem[],
  at: number,
): LineSpec[] {
  const start = Number(sub.current_period_start);
  const end = Number(sub.current_period_end);
  if (!(at >= start && at < end)) return [];
  const fraction = (end - at) / (end - start);
  const out: LineSpec[] = [];
  for (const old of before) {
    const now = after.find((it) => it.id === old.id);
    const changed = !now || now.price.id !== old.price.id || now.quantity !== old.quantity;
    if (!changed) continue;
    out.push(line(ctx, sub, old, at, end, fraction, true));
    if (now) out.push(line(ctx, sub, now, at, end, fraction, false));
  }
  for (const added of after.filter((it) => !before.some((o) => o.id === it.id))) {
    out.push(line(ctx, sub, added, at, end, fraction, false));
  }
  return out.filter((l) => l.amount !== 0);
}

/** Stores proration lines as pending invoice items of the subscription's customer. */
export function createProrationItems(ctx: Ctx, sub: Json, lines: LineSpec[]): Json[] {
  return lines.map((l) =>
    createInvoiceItem(ctx, {
      customer: sub.customer as string,
      amount: l.amount,
      currency: l.currency,
      description: l.description,
      period: l.period,
      quantity: l.quantity ?? 1,
      price: l.price,
      proration: true,
      subscription: sub.id as string,
      subscriptionItem: l.subscriptionItem,
      discountable: true,
      testClock: (sub.test_clock as string | null) ?? null,
    }),
  );
}
