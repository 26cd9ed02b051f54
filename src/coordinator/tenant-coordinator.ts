import { DurableObject } from "cloudflare:workers";

/**
 * One instance per tenant (`idFromName(tenantId)`): the place where everything that must not
 * race for one tenant runs one at a time: suspension transitions and the tenant's webhook
 * delivery schedule. Called by RPC from the Worker and the queue consumer.
 */
export class TenantCoordinator extends DurableObject<Env> {
  /** The tenant this instance serves, remembered on first use so alarms know it. */
  async tenantId(): Promise<string | null> {
    return (await this.ctx.storage.get<string>("tenant_id")) ?? null;
  }

  async bind(tenantId: string): Promise<void> {
    const current = await this.tenantId();
    if (current && current !== tenantId) throw new Error("Coordinator already bound to another tenant");
    if (!current) await this.ctx.storage.put("tenant_id", tenantId);
  }
}

export function coordinatorFor(env: Env, tenantId: string) {
  return env.TENANT_COORDINATOR.getByName(tenantId);
}
