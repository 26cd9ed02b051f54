import { createApp } from "./app";
import { benchRoute, withD1RowsRead } from "./bench-routes";
import { benchRoutesEnabled } from "./config";
import { runCron } from "./cron";
import { fastVerify } from "./modules/api-keys/fast-verify";
import { handleQueueBatch } from "./queue/consumer";
import type { QueueMessage } from "./queue/messages";

export { TenantCoordinator } from "./coordinator/tenant-coordinator";

const app = createApp();

export default {
  async fetch(request, env, ctx) {
    // The hottest public path is answered before the app's router; anything else goes to the app.
    const handle = (env: Env) => fastVerify(request, env, ctx) ?? app.fetch(request, env, ctx);
    if (benchRoutesEnabled(env)) {
      const bench = (await benchRoute(request, env)) ?? withD1RowsRead(request, env, handle);
      if (bench) return bench;
    }
    return handle(env);
  },
  queue: handleQueueBatch,
  scheduled: (controller, env, ctx) => runCron(env, controller.scheduledTime, ctx),
} satisfies ExportedHandler<Env, QueueMessage>;
