import { createApp } from "./app";
import { benchRoute } from "./bench-routes";
import { benchRoutesEnabled } from "./config";
import { runCron } from "./cron";
import { fastVerify } from "./modules/api-keys/fast-verify";
import { handleQueueBatch } from "./queue/consumer";
import type { QueueMessage } from "./queue/messages";

export { TenantCoordinator } from "./coordinator/tenant-coordinator";

const app = createApp();

/** How production serves a request: the hottest public path before the app's router, then the app. */
function serve(request: Request, env: Env, execution: ExecutionContext): Response | Promise<Response> {
  return fastVerify(request, env, execution) ?? app.fetch(request, env, execution);
}

export default {
  fetch(request, env, execution) {
    return (
      (benchRoutesEnabled(env) && benchRoute(request, env, execution, serve)) ||
      serve(request, env, execution)
    );
  },
  queue: handleQueueBatch,
  scheduled: (controller, env, ctx) => runCron(env, controller.scheduledTime, ctx),
} satisfies ExportedHandler<Env, QueueMessage>;
