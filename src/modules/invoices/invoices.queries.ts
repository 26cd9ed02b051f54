import { and, desc, eq, gte, isNull, lte } from "drizzle-orm";
import type { RequestContext } from "../../context";
import { customerSubscriptions, invoices } from "../../db/schema";
import { notFound } from "../../lib/errors";
import { afterCursor, decodeCursor, toPage } from "../../lib/pagination";
import { inMode, readScope, visibleIn } from "../../lib/scope";
import { findCustomer } from "../customers/customers.queries";

/**
 * An invoice of the caller's tenant (and, for a key, its mode); another tenant's is 404, and so is
 * a draft deleted at Stripe (as Stripe answers for it).
 */
export async function findInvoice(ctx: RequestContext, id: string) {
  const scope = readScope(ctx);
  const row = await ctx.db
    .select()
    .from(invoices)
    .where(and(eq(invoices.id, id), eq(invoices.tenantId, scope.tenantId), isNull(invoices.deletedAt)))
    .get();
  if (!row || !visibleIn(row, scope)) throw notFound("Invoice");
  return row;
}

export interface InvoiceFilters {
  limit: number;
  cursor?: string | undefined;
  status?: (typeof invoices.$inferSelect)["status"] | undefined;
  customer?: string | undefined;
  subscription?: string | undefined;
  [range: string]: string | number | undefined;
}

const at = (value: string | number | undefined) => (typeof value === "string" ? new Date(value) : undefined);

/**
 * Invoices newest first, with Stripe's filters: `status`, `customer` (id or `ext:`),
 * `subscription`, `created[gte|lte]`, `due_date[gte|lte]`. An unknown customer or subscription is
 * 404, as Stripe answers for a filter naming a missing object. Deleted drafts are not listed.
 */
export async function listInvoices(ctx: RequestContext, filters: InvoiceFilters) {
  const scope = readScope(ctx);
  const customerId = filters.customer ? (await findCustomer(ctx, filters.customer)).id : undefined;
  if (filters.subscription) {
    const subscription = await ctx.db
      .select({ tenantId: customerSubscriptions.tenantId, livemode: customerSubscriptions.livemode })
      .from(customerSubscriptions)
      .where(eq(customerSubscriptions.id, filters.subscription))
      .get();
    if (!subscription || !visibleIn(subscription, scope)) throw notFound("Subscription");
  }
  const createdFrom = at(filters["created[gte]"]);
  const createdTo = at(filters["created[lte]"]);
  const dueFrom = at(filters["due_date[gte]"]);
  const dueTo = at(filters["due_date[lte]"]);
  const rows = await ctx.db
    .select()
    .from(invoices)
    .where(
      and(
        eq(invoices.tenantId, scope.tenantId),
        inMode(invoices.livemode, scope),
        isNull(invoices.deletedAt),
        filters.status ? eq(invoices.status, filters.status) : undefined,
        customerId ? eq(invoices.customerId, customerId) : undefined,
        filters.subscription ? eq(invoices.subscriptionId, filters.subscription) : undefined,
        createdFrom ? gte(invoices.createdAt, createdFrom) : undefined,
        createdTo ? lte(invoices.createdAt, createdTo) : undefined,
        dueFrom ? gte(invoices.dueDate, dueFrom) : undefined,
        dueTo ? lte(invoices.dueDate, dueTo) : undefined,
        afterCursor(invoices.createdAt, invoices.id, decodeCursor(filters.cursor)),
      ),
    )
    .orderBy(desc(invoices.createdAt), desc(invoices.id))
    .limit(filters.limit + 1);
  return toPage(rows, filters.limit);
}
