import { createHmac, randomUUID } from "node:crypto";

const SECRET = "whsec_bench_platform"; // STRIPE_WEBHOOK_SECRET in bench/lib/worker.mjs

/**
 * Incoming Stripe webhooks: every request is a new signed event (unique id), so each one is
 * verified (HMAC-SHA256 through SubtleCrypto), recorded once in D1, enqueued, and answered 200.
 * The events concern no tenant, so the consumer only marks them ignored.
 */
export default {
  name: "stripe-ingest",
  description:
    "`POST /webhooks/stripe`, a freshly signed event per request: verify + enqueue + 200 (the consumer's batched record-once insert runs in the same workerd and counts in its CPU)",
  async setup() {
    return {
      requests: [
        {
          method: "POST",
          path: "/webhooks/stripe",
          setupRequest: (request) => {
            const created = Math.floor(Date.now() / 1000);
            const body = JSON.stringify({
              id: `evt_bench_${randomUUID()}`,
              object: "event",
              api_version: "2026-10-28.endive",
              created,
              data: { object: { id: "cus_bench", object: "customer", metadata: {} } },
              livemode: false,
              pending_webhooks: 1,
              request: { id: null, idempotency_key: null },
              type: "customer.updated",
            });
            const signature = createHmac("sha256", SECRET).update(`${created}.${body}`).digest("hex");
            return {
              ...request,
              body,
              headers: {
                "content-type": "application/json",
                "stripe-signature": `t=${created},v1=${signature}`,
              },
            };
          },
        },
      ],
    };
  },
};
