import type { RequestContext } from "../context";
import { errorFields } from "../lib/logger";
import { refreshTenantKeyRecords } from "../modules/api-keys/api-keys.service";

/**
 * The API keys' edge records a billing run committed a change for but could not publish (KV
 * down): owed in the coordinator's storage, so the debt survives the run, the request and an
 * eviction, and paid from its alarm, again and again with backoff until KV takes them. They are
 * published from D1 as it is then, so a later change is never undone by an older debt.
 */
const OWED_KEY = "key_records_owed";

/** Backoff between attempts: 2, 4, 8 ... seconds, at most 5 minutes. */
const retryDelayMs = (attempts: number) => Math.min(300, 2 ** attempts) * 1000;

/** Records the debt; answers when (system time) the alarm should try to pay it. */
export async function oweKeyRecords(storage: DurableObjectStorage, now: number): Promise<number> {
  const attempts = (await storage.get<number>(OWED_KEY)) ?? 0;
  await storage.put(OWED_KEY, attempts);
  return now + retryDelayMs(attempts);
}

/**
 * Publishes the owed records, if any. Answers when to try again (system time), or null when
 * nothing is owed any more.
 */
export async function payOwedKeyRecords(
  ctx: RequestContext,
  storage: DurableObjectStorage,
  tenantId: string,
  now: number,
): Promise<number | null> {
  const attempts = await storage.get<number>(OWED_KEY);
  if (attempts === undefined) return null;
  try {
    await refreshTenantKeyRecords(ctx, tenantId);
    await storage.delete(OWED_KEY);
    return null;
  } catch (error) {
    ctx.log.error("owed API key records still not republished; retrying", {
      tenant_id: tenantId,
      attempts: attempts + 1,
      ...errorFields(error),
    });
    await storage.put(OWED_KEY, attempts + 1);
    return now + retryDelayMs(attempts + 1);
  }
}
