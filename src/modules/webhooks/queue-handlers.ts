import type { RequestContext } from "../../context";
import type { CarriedEvent, DeliverMessage } from "../../queue/messages";

/**
 * Hands each tenant's events to that tenant's coordinator, one call per tenant per batch, with
 * the payloads the messages carried.
 */
export async function deliverToCoordinators(ctx: RequestContext, messages: Message<DeliverMessage>[]) {
  const byTenant = new Map<string, { ids: Set<string>; events: CarriedEvent[] }>();
  for (const { body } of messages) {
    let tenant = byTenant.get(body.tenant_id);
    if (!tenant) {
      tenant = { ids: new Set<string>(), events: [] };
      byTenant.set(body.tenant_id, tenant);
    }
    for (const id of body.event_ids) tenant.ids.add(id);
    if (body.events) tenant.events.push(...body.events);
  }
  await Promise.all(
    [...byTenant].map(([tenantId, { ids, events }]) =>
      ctx.coordinator(tenantId).enqueueDeliveries({
        tenantId,
        eventIds: [...ids],
        ...(events.length ? { events } : {}),
        requestId: ctx.requestId,
      }),
    ),
  );
  return undefined;
}
