/** Baseline: the Worker answering before any routing or middleware (needs BENCH_BARE_ROUTE=1). */
export default {
  name: "bare",
  description: "GET /__bench/bare: the Worker's fetch handler returns before Hono (the ceiling)",
  async setup() {
    return { method: "GET", path: "/__bench/bare" };
  },
};
