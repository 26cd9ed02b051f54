import { createApp } from "./app";
import { benchRoute } from "./bench-routes";
import { database } from "./middleware/services";
import { handleQueueBatch, type QueueMessage } from "./queue";
import "./modules/webhooks/queue-handlers";
import "./modules/platform-billing/queue-handlers";
import { sweepUnprocessedStripeEvents } from "./modules/stripe-events/ingest.service";
import { sweepStalePending } from "./modules/webhooks/events.service";
import { purgeExpired } from "./scheduled";

export { TenantCoordinator } from "./coordinator/tenant-coordinator";

const app = createApp();

export default {
  async fetch(request, env, ctx) {
    return (env.BENCH_BARE_ROUTE === "1" && (await benchRoute(request, env))) || app.fetch(request, env, ctx);
  },
  queue: (batch, env, ctx) => handleQueueBatch(batch, env, ctx),
  scheduled: async (controller, env) => {
    const now = new Date(controller.scheduledTime);
    await purgeExpired(database(env.DB), now);
    const deps = { db: database(env.DB), queue: env.EVENTS_QUEUE, clock: { now: () => now } };
    await sweepStalePending(deps);
    await sweepUnprocessedStripeEvents(deps);
  },
} satisfies ExportedHandler<Env, QueueMessage>;
