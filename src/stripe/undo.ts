import type { RequestContext } from "../context";
import { errorFields } from "../lib/logger";

/**
 * What to undo at Stripe if a change fails after Stripe already made its part: a service that
 * creates Stripe objects and then writes D1 pushes one undo step per object it made (archive the
 * product, delete the account, cancel the subscription); if anything after fails, the steps run,
 * newest first, best effort, and the error that caused them is what the caller gets.
 */
export class StripeUndo {
  readonly #steps: { what: string; run: () => Promise<unknown> }[] = [];

  push(what: string, run: () => Promise<unknown>) {
    this.#steps.push({ what, run });
  }

  async run(ctx: RequestContext) {
    for (const step of [...this.#steps].reverse()) {
      try {
        await step.run();
      } catch (error) {
        ctx.log.error("Stripe undo failed; the object is left at Stripe", {
          undo: step.what,
          ...errorFields(error),
        });
      }
    }
  }
}

/** Runs `work` with an undo log; if it throws, the log runs and the error is rethrown. */
export async function withStripeUndo<T>(
  ctx: RequestContext,
  work: (undo: StripeUndo) => Promise<T>,
): Promise<T> {
  const undo = new StripeUndo();
  try {
    return await work(undo);
  } catch (error) {
    await undo.run(ctx);
    throw error;
  }
}
