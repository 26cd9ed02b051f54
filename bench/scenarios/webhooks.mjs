/** Tenant webhooks end to end at 200 events/s: emit → queue → tenant Durable Object → signed POST. */
export default {
  name: "webhooks",
  description:
    "2,000 tenant events over 10 s across 20 tenants: emit (one enqueue carrying the event) → queue consumer → tenant Durable Object (its row written in the run's D1 batch) → signed POST to a local receiver",
  delivery: { tenants: 20, events: 2000, seconds: 10 },
};
