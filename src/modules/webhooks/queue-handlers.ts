import { coordinatorFor } from "../../coordinator/tenant-coordinator";
import { onQueueMessages } from "../../queue";
import type { DeliverMessage } from "./events.service";

/** Hands each tenant's events to that tenant's coordinator, one call per tenant per batch. */
onQueueMessages("webhook.deliver", async (messages, env) => {
  const byTenant = new Map<string, Set<string>>();
  for (const message of messages) {
    const body = message.body as DeliverMessage;
    const ids = byTenant.get(body.tenant_id) ?? new Set<string>();
    for (const id of body.event_ids) ids.add(id);
    byTenant.set(body.tenant_id, ids);
  }
  await Promise.all(
    [...byTenant].map(([tenantId, ids]) =>
      coordinatorFor(env, tenantId).enqueueDeliveries(tenantId, [...ids]),
    ),
  );
  return undefined;
});
