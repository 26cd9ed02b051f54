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

/**
 * The debt: failed payments so far, and which debt it is. Each new debt gets the next number, so
 * a payment that read an older one does not clear one a run recorded while it was publishing
 * (a coordinator takes other calls while it waits on D1 and KV): that one may hold a change the
 * payment's read of D1 came too early to see.
 */
interface Debt {
  attempts: number;
  debt: number;
}

/** Records the debt; answers when (system time) the alarm should try to pay it. */
export async function oweKeyRecords(storage: DurableObjectStorage, now: number): Promise<number> {
  const owed = await storage.get<Debt>(OWED_KEY);
  const attempts = owed?.attempts ?? 0;
  await storage.put(OWED_KEY, { attempts, debt: (owed?.debt ?? 0) + 1 } satisfies Debt);
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
  const owed = await storage.get<Debt>(OWED_KEY);
  if (owed === undefined) return null;
  try {
    await refreshTenantKeyRecords(ctx, tenantId);
  } catch (error) {
    ctx.log.error("owed API key records still not republished; retrying", {
      tenant_id: tenantId,
      attempts: owed.attempts + 1,
      ...errorFields(error),
    });
    const current = (await storage.get<Debt>(OWED_KEY)) ?? owed;
    await storage.put(OWED_KEY, { ...current, attempts: owed.attempts + 1 } satisfies Debt);
    return now + retryDelayMs(owed.attempts + 1);
  }
  const current = await storage.get<Debt>(OWED_KEY);
  if (current?.debt !== owed.debt) return now; // renewed meanwhile: pay that one too, now
  await storage.delete(OWED_KEY);
  return null;
}
