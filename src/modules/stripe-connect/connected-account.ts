import type { RequestContext } from "../../context";
import type { TenantRow } from "../../db/schema";
import { loadTenant } from "../../db/tenants";
import { ApiError } from "../../lib/errors";

/** A tenant with a connected Stripe account: everything sold to its customers lives there. */
export type ConnectedTenant = TenantRow & { stripeConnectAccountId: string };

/** The tenant, or 409 `stripe_not_connected` saying what needs the connection. */
export async function connectedTenant(
  ctx: RequestContext,
  tenantId: string,
  forWhat: string,
): Promise<ConnectedTenant> {
  const tenant = await loadTenant(ctx.db, tenantId);
  if (!isConnected(tenant)) {
    throw new ApiError("stripe_not_connected", `Connect a Stripe account before ${forWhat}`);
  }
  return tenant;
}

const isConnected = (tenant: TenantRow): tenant is ConnectedTenant => tenant.stripeConnectAccountId !== null;
