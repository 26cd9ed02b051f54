import type { RequestContext } from "../../context";
import type { DeliverMessage } from "../../queue/messages";

/** Hands each tenant's events to that tenant's coordinator, one call per tenant per batch. */
export async function deliverToCoordinators(ctx: RequestContext, messages: Message<DeliverMessage>[]) {
  const byTenant = new Map<string, Set<string>>();
  for (const { body } of messages) {
    const ids = byTenant.get(body.tenant_id) ?? new Set<string>();
    for (const id of body.event_ids) ids.add(id);
    byTenant.set(body.tenant_id, ids);
  }
  await Promise.all(
    [...byTenant].map(([tenantId, ids]) =>
      ctx.coordinator(tenantId).enqueueDeliveries({ tenantId, eventIds: [...ids], requestId: ctx.requestId }),
    ),
  );
  return undefined;
}
