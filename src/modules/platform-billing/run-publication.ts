import type { RequestContext } from "../../context";
import { republishAfterCommit } from "../api-keys/api-keys.service";
import type { EdgeDebt } from "../api-keys/edge-debts";
import { dispatchEvents, type PreparedEvent } from "../webhooks/events.service";

/**
 * What a billing run hands on once its D1 batch committed: the tenant events to their delivery
 * (a failed hand-off is left to the sweep) and, when the tenant's status or Connect account
 * changed, the API keys' edge records, clearing the debt its batch recorded (`edge-debts.ts`).
 * The run is done by then, so neither may fail it: a run marked failed is retried, finds its
 * events processed and publishes nothing, and KV would keep the old tenant status for a day.
 * Answers whether the edge records still lack the committed state; the tenant's coordinator then
 * owes them (`coordinator/key-republish.ts`) and publishes them again until that works.
 */
export async function publishCommittedRun(
  ctx: RequestContext,
  events: PreparedEvent[],
  keysOwed: EdgeDebt | null,
): Promise<{ keysUnpublished: boolean }> {
  await dispatchEvents(ctx, events);
  const published = !keysOwed || (await republishAfterCommit(ctx, keysOwed, "a billing run"));
  return { keysUnpublished: !published };
}
