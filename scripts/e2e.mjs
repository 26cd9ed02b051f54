#!/usr/bin/env node
// `npm run test:e2e`: the dashboard's journeys in a real headless Chromium (Debian's `chromium`,
// driven by Playwright; no browser download). Builds the dashboard and the Worker, starts the
// Worker with Miniflare behind its asset router (as `wrangler dev` serves it: run_worker_first and
// the static files), the local Stripe double and the webhook receiver in this process, runs
// test/e2e/ with Playwright's runner, prints one summary line and stops everything.
//   npm run test:e2e -- [playwright test arguments, e.g. --grep docs]
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";
import { buildWorker } from "../bench/lib/build.mjs";
import { applyMigrations, workerOptionsFromWrangler } from "../bench/lib/worker.mjs";
import { startReceiver } from "../tools/receiver/server.ts";
import { startStripeDouble } from "../tools/stripe-double/server.ts";

const root = path.resolve(import.meta.dirname, "..");
const output = path.join(root, "test", "e2e", "output");
const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Secrets for this run only; the operator token lets journeys set up platform plans through the API. */
const E2E_SECRETS = {
  JWT_SECRET: "e2e-only-jwt-secret-0123456789abcdef0123456789",
  PLATFORM_ADMIN_TOKEN: "e2e-only-platform-admin-token",
  STRIPE_WEBHOOK_SECRET: "whsec_e2e_platform",
  STRIPE_CONNECT_WEBHOOK_SECRET: "whsec_e2e_connect",
  STRIPE_CONNECT_CLIENT_ID: "ca_e2e_client",
  WEBHOOK_ALLOW_INSECURE_URLS: "true",
};

function run(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: "inherit", ...options });
    child.on("error", reject);
    child.on("close", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

if (!existsSync(chromium)) {
  console.error(
    `No Chromium at ${chromium}: install Debian's package (apt-get install -y chromium) or set CHROMIUM_PATH.`,
  );
  process.exit(1);
}
rmSync(output, { recursive: true, force: true });
mkdirSync(output, { recursive: true });

if ((await run(process.execPath, ["scripts/build-web.mjs"])) !== 0) process.exit(1);
const { entry: scriptPath } = await buildWorker({ root, outDir: path.join(output, ".worker") });

const [double, receiver, port] = await Promise.all([
  startStripeDouble({ port: 0 }),
  startReceiver({ port: 0 }),
  freePort(),
]);
const baseUrl = `http://localhost:${port}`;
const worker = workerOptionsFromWrangler({ root, scriptPath });
const { BENCH_BARE_ROUTE: _bench, ...benchFree } = worker.bindings;
worker.bindings = {
  ...benchFree,
  ...E2E_SECRETS,
  PUBLIC_BASE_URL: baseUrl,
  STRIPE_API_BASE: double.url,
  STRIPE_CONNECT_BASE: double.url,
};
// Through Miniflare's entry worker and the asset router: the same path a browser takes on
// `wrangler dev` and in production (run_worker_first, static files, then the Worker).
const mf = new Miniflare(
  convertV4MiniflareOptions({
    host: "127.0.0.1",
    port,
    logRequests: false,
    cf: false,
    log: new Log(process.env.E2E_VERBOSE ? LogLevel.DEBUG : LogLevel.WARN),
    workers: [worker],
  }),
);

let code = 1;
try {
  await mf.ready;
  await applyMigrations(mf, path.join(root, "migrations"));
  // The double signs its platform and Connect events and delivers them to this Worker.
  await fetch(`${double.url}/__double/webhooks`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      url: `http://127.0.0.1:${port}/webhooks/stripe`,
      secret: E2E_SECRETS.STRIPE_WEBHOOK_SECRET,
      connect_url: `http://127.0.0.1:${port}/webhooks/stripe/connect`,
      connect_secret: E2E_SECRETS.STRIPE_CONNECT_WEBHOOK_SECRET,
    }),
  });
  console.log(`e2e: Worker on ${baseUrl}, Stripe double on ${double.url}, receiver on ${receiver.url}`);
  const playwright = path.join(root, "node_modules", "@playwright", "test", "cli.js");
  code = await run(
    process.execPath,
    [playwright, "test", "--config", "test/e2e/playwright.config.ts", ...process.argv.slice(2)],
    {
      env: {
        ...process.env,
        E2E_BASE_URL: baseUrl,
        E2E_STRIPE_URL: double.url,
        E2E_RECEIVER_URL: receiver.url,
        E2E_ADMIN_TOKEN: E2E_SECRETS.PLATFORM_ADMIN_TOKEN,
        CHROMIUM_PATH: chromium,
      },
    },
  );
} finally {
  await mf.dispose().catch(() => undefined);
  await Promise.all([double.close(), receiver.close()]);
}

// One plain closing line, for tools that read it.
const resultsFile = path.join(output, "results.json");
if (existsSync(resultsFile)) {
  const { stats } = JSON.parse(readFileSync(resultsFile, "utf8"));
  const failed = (stats.unexpected ?? 0) + (stats.flaky ?? 0);
  console.log(`e2e: ${stats.expected ?? 0} passed, ${failed} failed, ${stats.skipped ?? 0} skipped`);
  if (!stats.expected && !failed) code = code || 1;
}
process.exit(code);
