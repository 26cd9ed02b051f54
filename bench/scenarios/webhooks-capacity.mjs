/**
 * The same path, emitting faster than it can deliver: the backlog drains at the pipeline's
 * capacity, which its rate/s then reports (emit and delivery share the machine, as in production
 * a busy Worker's isolate does). The goal compares it with the 2,000-event scenario's 200/s.
 */
export default {
  name: "webhooks-capacity",
  description:
    "6,000 tenant events over 6 s (1,000/s) across 50 tenants, faster than delivery: rate/s is the pipeline's capacity",
  delivery: { tenants: 50, events: 6000, seconds: 6 },
};
