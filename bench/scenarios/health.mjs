/** The cheapest real route: full Hono app and middleware stack, no storage. */
export default {
  name: "health",
  description: "`GET /health` through the whole middleware stack, no storage",
  async setup() {
    return { method: "GET", path: "/health" };
  },
};
