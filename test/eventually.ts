export interface EventuallyOptions {
  /** How long to keep trying, from the first attempt (default 5 s). */
  timeoutMs?: number;
  /** The pause between two attempts (default 50 ms). */
  intervalMs?: number;
}

/**
 * Retries `probe` (an assertion, or a read that throws until the state is reached) until it
 * returns without throwing, and returns what it returned. When the time is up, throws the last
 * error, so a failure shows the assertion that did not come true rather than a timeout. The one
 * way tests wait for asynchronous work (queues, coordinators, `waitUntil`); never a bare sleep.
 */
export async function eventually<T>(
  probe: () => T | Promise<T>,
  { timeoutMs = 5_000, intervalMs = 50 }: EventuallyOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await probe();
    } catch (error) {
      if (Date.now() + intervalMs > deadline) {
        if (error instanceof Error) {
          error.message += ` (still failing after ${attempt} attempt${attempt === 1 ? "" : "s"} in ${timeoutMs} ms)`;
        }
        throw error;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
