/**
 * Baseline: the Worker answering before any routing or middleware (needs BENCH_BARE_ROUTE=1).
 * Always runs: in alternating windows with every run of another HTTP scenario, whose figures are
 * divided by it.
 */
export default {
  name: "bare",
  description: "`GET /__bench/bare`, answered by the Worker's fetch handler before Hono (the ceiling)",
  async setup() {
    return { method: "GET", path: "/__bench/bare" };
  },
};
