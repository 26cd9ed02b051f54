/** The same path as `webhooks` at 2.5 times the rate and more tenants: where does delivery saturate? */
export default {
  name: "webhooks-500",
  description: "5,000 tenant events over 10 s (500/s) across 50 tenants, the same path as webhooks",
  delivery: { tenants: 50, events: 5000, seconds: 10 },
};
