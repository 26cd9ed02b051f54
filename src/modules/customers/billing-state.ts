import { z } from "@hono/zod-openapi";
import { and, eq, type SQL, sql } from "drizzle-orm";
import type { RequestContext } from "../../context";
import { customers, invoices } from "../../db/schema";
import { moneyDisplay } from "../../lib/money";

/**
 * A customer's billing state, derived from its open invoices in the mirror when read (never
 * stored, so it is right whatever order Stripe's events came in, and as time passes due dates):
 * an open invoice is overdue once a payment attempt of it failed (charged automatically) or its
 * due date passed (sent); a customer with an overdue invoice is `delinquent`, as Stripe's flag.
 */
export const BillingStateSchema = z
  .object({
    delinquent: z.boolean(),
    open_invoices: z.number().int(),
    overdue_invoices: z.number().int(),
    amount_due: z
      .array(z.object({ currency: z.string(), amount: z.number().int(), amount_display: z.string() }))
      .openapi({ description: "What the open invoices still ask, per currency" }),
    amount_overdue: z
      .array(z.object({ currency: z.string(), amount: z.number().int(), amount_display: z.string() }))
      .openapi({ description: "What the overdue invoices still ask, per currency" }),
  })
  .openapi("CustomerBillingState");

export type BillingState = z.infer<typeof BillingStateSchema>;

export const EMPTY_BILLING_STATE: BillingState = {
  delinquent: false,
  open_invoices: 0,
  overdue_invoices: 0,
  amount_due: [],
  amount_overdue: [],
};

/** An open invoice that is overdue at `now`, as SQL over `invoices`. */
const overdue = (now: Date) =>
  sql`((${invoices.collectionMethod} = 'charge_automatically' AND ${invoices.attemptCount} > 0) OR (${invoices.dueDate} IS NOT NULL AND ${invoices.dueDate} < ${now.getTime()}))`;

/** The billing states of these customers, in one grouped read of their open invoices. */
export async function billingStates(ctx: RequestContext, customerIds: string[]) {
  const states = new Map<string, BillingState>(
    customerIds.map((id) => [id, structuredClone(EMPTY_BILLING_STATE)]),
  );
  if (!customerIds.length) return states;
  const now = ctx.clock.now();
  const rows = await ctx.db
    .select({
      customerId: invoices.customerId,
      currency: invoices.currency,
      open: sql<number>`count(*)`,
      due: sql<number>`sum(${invoices.amountRemaining})`,
      overdue: sql<number>`sum(CASE WHEN ${overdue(now)} THEN 1 ELSE 0 END)`,
      overdueAmount: sql<number>`sum(CASE WHEN ${overdue(now)} THEN ${invoices.amountRemaining} ELSE 0 END)`,
    })
    .from(invoices)
    .where(
      and(
        sql`${invoices.customerId} IN (SELECT value FROM json_each(${JSON.stringify(customerIds)}))`,
        eq(invoices.status, "open"),
      ),
    )
    .groupBy(invoices.customerId, invoices.currency);
  for (const row of rows) {
    const state = row.customerId ? states.get(row.customerId) : undefined;
    if (!state) continue;
    state.open_invoices += row.open;
    state.overdue_invoices += row.overdue;
    state.delinquent ||= row.overdue > 0;
    state.amount_due.push({
      currency: row.currency,
      amount: row.due,
      amount_display: moneyDisplay(row.due, row.currency),
    });
    if (row.overdueAmount > 0)
      state.amount_overdue.push({
        currency: row.currency,
        amount: row.overdueAmount,
        amount_display: moneyDisplay(row.overdueAmount, row.currency),
      });
  }
  return states;
}

export async function billingState(ctx: RequestContext, customerId: string): Promise<BillingState> {
  return (await billingStates(ctx, [customerId])).get(customerId) ?? structuredClone(EMPTY_BILLING_STATE);
}

/**
 * The list filter `delinquent=true|false`, as a condition on `customers`: driven by the tenant's
 * open invoices (an index range), not by a scan of its customers.
 */
export function delinquentCondition(tenantId: string, delinquent: boolean, now: Date): SQL {
  const overdueCustomers = sql`SELECT ${invoices.customerId} FROM ${invoices} WHERE ${invoices.tenantId} = ${tenantId} AND ${invoices.status} = 'open' AND ${invoices.customerId} IS NOT NULL AND ${overdue(now)}`;
  return delinquent
    ? sql`${customers.id} IN (${overdueCustomers})`
    : sql`${customers.id} NOT IN (${overdueCustomers})`;
}
