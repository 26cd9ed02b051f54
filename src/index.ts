import { createApp } from "./app";
import { benchRoute } from "./bench-routes";
import { benchRoutesEnabled } from "./config";
import { runCron } from "./cron";
import { handleQueueBatch } from "./queue/consumer";
import type { QueueMessage } from "./queue/messages";

export { TenantCoordinator } from "./coordinator/tenant-coordinator";

const app = createApp();

export default {
  async fetch(request, env, ctx) {
    return (benchRoutesEnabled(env) && (await benchRoute(request, env))) || app.fetch(request, env, ctx);
  },
  queue: handleQueueBatch,
  scheduled: (controller, env, ctx) => runCron(env, controller.scheduledTime, ctx),
} satisfies ExportedHandler<Env, QueueMessage>;
