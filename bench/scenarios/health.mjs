/** The cheapest real route: full Hono app and middleware stack, no storage. */
export default {
  name: "health",
  description: "GET /health through the full middleware stack, no D1 or KV",
  async setup() {
    return { method: "GET", path: "/health" };
  },
};
