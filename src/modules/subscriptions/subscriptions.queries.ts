import { and, desc, eq, gte, lte } from "drizzle-orm";
import type { RequestContext } from "../../context";
import { type CustomerSubscriptionRow, customerSubscriptions } from "../../db/schema";
import { afterCursor, decodeCursor, toPage } from "../../lib/pagination";
import { inMode, readScope } from "../../lib/scope";
import { findCustomer } from "../customers/customers.queries";

export interface SubscriptionFilters {
  limit: number;
  cursor?: string | undefined;
  status?: CustomerSubscriptionRow["status"] | undefined;
  customer?: string | undefined;
  plan?: string | undefined;
  "created[gte]"?: string | undefined;
  "created[lte]"?: string | undefined;
}

export async function listSubscriptions(ctx: RequestContext, filters: SubscriptionFilters) {
  const scope = readScope(ctx);
  const customerId = filters.customer ? (await findCustomer(ctx, filters.customer)).id : undefined;
  const rows = await ctx.db
    .select()
    .from(customerSubscriptions)
    .where(
      and(
        eq(customerSubscriptions.tenantId, scope.tenantId),
        inMode(customerSubscriptions.livemode, scope),
        filters.status ? eq(customerSubscriptions.status, filters.status) : undefined,
        customerId ? eq(customerSubscriptions.customerId, customerId) : undefined,
        filters.plan ? eq(customerSubscriptions.planId, filters.plan) : undefined,
        filters["created[gte]"]
          ? gte(customerSubscriptions.createdAt, new Date(filters["created[gte]"]))
          : undefined,
        filters["created[lte]"]
          ? lte(customerSubscriptions.createdAt, new Date(filters["created[lte]"]))
          : undefined,
        afterCursor(customerSubscriptions.createdAt, customerSubscriptions.id, decodeCursor(filters.cursor)),
      ),
    )
    .orderBy(desc(customerSubscriptions.createdAt), desc(customerSubscriptions.id))
    .limit(filters.limit + 1);
  return toPage(rows, filters.limit);
}
