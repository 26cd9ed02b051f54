#!/usr/bin/env node
// `npm run dev`: everything needed to run the API locally, with no account and no key.
// 1. `.dev.vars` from `.dev.vars.example` when missing (local secrets with dev values),
// 2. D1 migrations applied to the local database,
// 3. without STRIPE_SECRET_KEY: the local Stripe double on http://127.0.0.1:12111, with the
//    Worker pointed at it and its signed webhooks pointed at the Worker,
// 4. `wrangler dev` on http://localhost:8787 with local D1, KV, Queues and Durable Objects.
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const wrangler = join(root, "node_modules", ".bin", "wrangler");
const port = process.env.PORT ?? "8787";

if (!existsSync(join(root, ".dev.vars"))) {
  copyFileSync(join(root, ".dev.vars.example"), join(root, ".dev.vars"));
  console.log("Created .dev.vars from .dev.vars.example (local development values).");
}

const migrate = spawnSync(wrangler, ["d1", "migrations", "apply", "DB", "--local"], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, CI: "true" },
});
if (migrate.status !== 0) {
  console.error("Applying local D1 migrations failed.");
  process.exit(migrate.status ?? 1);
}

/** The settings of `.dev.vars` (KEY=value lines), so we know whether a real Stripe key is set. */
function devVars() {
  const vars = {};
  for (const line of readFileSync(join(root, ".dev.vars"), "utf8").split("\n")) {
    const match = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (match) vars[match[1]] = match[2].replace(/^"(.*)"$/, "$1");
  }
  return { ...vars, ...process.env };
}

const vars = devVars();
const extraVars = [];
let stripeDouble = null;
if (!vars.STRIPE_SECRET_KEY) {
  const { startStripeDouble } = await import("../tools/stripe-double/server.ts");
  const doublePort = Number(process.env.STRIPE_DOUBLE_PORT ?? 12111);
  stripeDouble = await startStripeDouble({ port: doublePort, host: "127.0.0.1" });
  const apiBase = vars.STRIPE_API_BASE || stripeDouble.url;
  extraVars.push(
    "--var",
    `STRIPE_API_BASE:${apiBase}`,
    "--var",
    `STRIPE_CONNECT_BASE:${vars.STRIPE_CONNECT_BASE || apiBase}`,
  );
  await fetch(`${stripeDouble.url}/__double/webhooks`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      url: `http://127.0.0.1:${port}/webhooks/stripe`,
      secret: vars.STRIPE_WEBHOOK_SECRET,
      connect_url: `http://127.0.0.1:${port}/webhooks/stripe/connect`,
      connect_secret: vars.STRIPE_CONNECT_WEBHOOK_SECRET,
    }),
  });
  console.log(`No STRIPE_SECRET_KEY: using the local Stripe double at ${stripeDouble.url}`);
}

const args = ["dev", "--port", port, "--ip", "127.0.0.1", ...extraVars, ...process.argv.slice(2)];
const dev = spawn(wrangler, args, { cwd: root, stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => dev.kill(signal));
dev.on("exit", async (code) => {
  await stripeDouble?.close();
  process.exit(code ?? 0);
});
