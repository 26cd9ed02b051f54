import { createApp } from "./app";
import { database } from "./middleware/services";
import { handleQueueBatch, type QueueMessage } from "./queue";
import { purgeExpired } from "./scheduled";

export { TenantCoordinator } from "./coordinator/tenant-coordinator";

const app = createApp();

export default {
  fetch: app.fetch,
  queue: (batch, env, ctx) => handleQueueBatch(batch, env, ctx),
  scheduled: async (controller, env) => {
    await purgeExpired(database(env.DB), new Date(controller.scheduledTime));
  },
} satisfies ExportedHandler<Env, QueueMessage>;
