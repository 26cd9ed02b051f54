import { createApp } from "./app";
import { benchRoute } from "./bench-routes";
import { benchRoutesEnabled } from "./config";
import { runCron } from "./cron";
import { fastVerify } from "./modules/api-keys/fast-verify";
import { handleQueueBatch } from "./queue/consumer";
import type { QueueMessage } from "./queue/messages";

export { TenantCoordinator } from "./coordinator/tenant-coordinator";

const app = createApp();

/** Methods that change nothing, whose work may stop when their client goes away. */
const READS = new Set(["GET", "HEAD", "OPTIONS"]);

/** How production serves a request: the hottest public path before the app's router, then the app. */
function serve(request: Request, env: Env, execution: ExecutionContext): Response | Promise<Response> {
  const verified = fastVerify(request, env, execution);
  if (verified) return verified;
  const answer = app.fetch(request, env, execution);
  // The runtime cancels a request's unfinished work when its client disconnects, unless it is
  // registered with waitUntil. A write cut there would be half done: D1 committed and the API
  // keys' edge records or the tenant event not handed on, or Stripe's object made and its row not
  // written. So a write runs to its end whoever is still listening.
  if (!READS.has(request.method)) execution.waitUntil(Promise.resolve(answer).catch(() => undefined));
  return answer;
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
