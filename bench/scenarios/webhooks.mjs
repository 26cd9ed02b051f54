/** Tenant webhooks end to end at 200 events/s: emit → queue → tenant Durable Object → signed POST. */
export default {
  name: "webhooks",
  description:
    "2,000 tenant events over 10 s across 20 tenants: emit (D1 write + enqueue) → queue consumer → tenant Durable Object → signed POST to a local receiver",
  delivery: { tenants: 20, events: 2000, seconds: 10 },
};
