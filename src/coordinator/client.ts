import type { RequestContext } from "../context";
import { ApiError } from "../lib/errors";
import { errorFields } from "../lib/logger";
import { limitReached } from "../lib/tiers";
import type { LimitSlotKind } from "./limit-slots";
import type { TenantCoordinator } from "./tenant-coordinator";

/** The typed RPC stub of a tenant's coordinator; modules reach it through `ctx.coordinator()`. */
export type CoordinatorStub = DurableObjectStub<TenantCoordinator>;

/**
 * Runs `work`, which creates the row `rowId`, holding a slot under a count limit of the tenant's
 * platform plan (`limit` null: unlimited, no slot needed), and releases it afterwards whether
 * `work` committed or failed (Stripe down, D1 error). 402 `plan_limit_reached` when it is reached.
 */
export async function withLimitSlot<T>(
  ctx: RequestContext,
  tenantId: string,
  slot: { kind: LimitSlotKind; limit: number | null; rowId: string; what: string },
  work: () => Promise<T>,
): Promise<T> {
  const { kind, limit, rowId } = slot;
  if (limit === null) return work();
  const coordinator = ctx.coordinator(tenantId);
  const reserved = await coordinator.reserveLimitSlot({
    tenantId,
    kind,
    limit,
    rowId,
    requestId: ctx.requestId,
  });
  if (!reserved) throw limitReached(limit, kind, slot.what);
  try {
    return await work();
  } finally {
    await coordinator.releaseLimitSlot(rowId);
  }
}

/** What the work under a subscribe claim gets: the attempt number, and how the attempt ended. */
export interface SubscribeClaim {
  readonly attempt: number;
  /** Set while Stripe may hold a subscription D1 does not know of: the attempt number then stays. */
  outcomeUnknown: boolean;
}

/**
 * Runs `work` holding the tenant's one subscribe claim (`./subscribe-claim`), released afterwards
 * whether `work` succeeded or failed; 409 `conflict` when another request holds it.
 */
export async function withSubscribeClaim<T>(
  ctx: RequestContext,
  tenantId: string,
  work: (claim: SubscribeClaim) => Promise<T>,
): Promise<T> {
  const coordinator = ctx.coordinator(tenantId);
  const claimId = crypto.randomUUID();
  const attempt = await coordinator.claimSubscribe({ tenantId, claimId, requestId: ctx.requestId });
  if (attempt === null) {
    throw new ApiError("conflict", "Another subscribe request of this tenant is in progress");
  }
  const claim: SubscribeClaim = { attempt, outcomeUnknown: false };
  try {
    return await work(claim);
  } finally {
    // The work's outcome is the answer: a claim not released lapses after CLAIM_TTL_MS.
    await coordinator
      .releaseSubscribe({ claimId, outcomeKnown: !claim.outcomeUnknown })
      .catch((error: unknown) => ctx.log.error("subscribe claim not released", errorFields(error)));
  }
}

/**
 * Runs `work` holding the tenant's claim on `name` (`./name-claims`), released afterwards whether
 * `work` succeeded or failed; `refused` is thrown, before `work` runs, while another request
 * holds it.
 */
export async function withNameClaim<T>(
  ctx: RequestContext,
  tenantId: string,
  name: string,
  refused: () => ApiError,
  work: () => Promise<T>,
): Promise<T> {
  const coordinator = ctx.coordinator(tenantId);
  const claimId = crypto.randomUUID();
  if (!(await coordinator.claimName({ tenantId, name, claimId, requestId: ctx.requestId }))) throw refused();
  try {
    return await work();
  } finally {
    // The work's outcome is the answer: a claim not released lapses after NAME_CLAIM_TTL_MS.
    await coordinator
      .releaseName({ name, claimId })
      .catch((error: unknown) => ctx.log.error("name claim not released", errorFields(error)));
  }
}
