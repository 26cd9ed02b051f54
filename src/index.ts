import { createApp } from "./app";
import { benchRoute } from "./bench-routes";
import { benchRoutesEnabled } from "./config";
import { runCron } from "./cron";
import { fastVerify } from "./modules/api-keys/fast-verify";
import { handleQueueBatch } from "./queue/consumer";
import type { QueueMessage } from "./queue/messages";

export { TenantCoordinator } from "./coordinator/tenant-coordinator";

const app = createApp();

export default {
  async fetch(request, env, ctx) {
    if (benchRoutesEnabled(env)) {
      const bench = await benchRoute(request, env);
      if (bench) return bench;
    }
    // The hottest public path is answered before the app's router; anything else goes to the app.
    return fastVerify(request, env, ctx) ?? app.fetch(request, env, ctx);
  },
  queue: handleQueueBatch,
  scheduled: (controller, env, ctx) => runCron(env, controller.scheduledTime, ctx),
} satisfies ExportedHandler<Env, QueueMessage>;
