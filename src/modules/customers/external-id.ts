import { and, eq, ne } from "drizzle-orm";
import type { RequestContext } from "../../context";
import { withNameClaim } from "../../coordinator/client";
import { customers } from "../../db/schema";
import { ApiError } from "../../lib/errors";

// A customer's external_id (the tenant's own id for it) is one customer's per mode.

export const externalIdTaken = () =>
  new ApiError("conflict", "Another customer of this tenant already has this external_id");

/**
 * Runs `work` (a create or change that gives a customer `externalId`) holding the tenant's claim
 * on that id, from its check to its D1 write: of requests at once with one external id, one calls
 * Stripe, the others are 409 before they make or change a customer there that the undo would
 * have to take back (a create's undo deletes it, and the mirror then tells the tenant of a
 * customer created and deleted).
 */
export function withExternalIdClaim<T>(
  ctx: RequestContext,
  scope: { tenantId: string; livemode: boolean },
  externalId: string,
  work: () => Promise<T>,
): Promise<T> {
  return withNameClaim(
    ctx,
    scope.tenantId,
    `customer-external-id:${scope.livemode ? "live" : "test"}:${externalId}`,
    () =>
      new ApiError(
        "conflict",
        "Another request is creating or changing a customer with this external_id; retry shortly",
        {
          headers: { "Retry-After": "1" },
        },
      ),
    work,
  );
}

export async function assertExternalIdFree(
  ctx: RequestContext,
  scope: { tenantId: string; livemode: boolean },
  externalId: string,
  exceptId?: string,
) {
  const clash = await ctx.db
    .select({ id: customers.id })
    .from(customers)
    .where(
      and(
        eq(customers.tenantId, scope.tenantId),
        eq(customers.livemode, scope.livemode),
        eq(customers.externalId, externalId),
        exceptId ? ne(customers.id, exceptId) : undefined,
      ),
    )
    .get();
  if (clash) throw externalIdTaken();
}
