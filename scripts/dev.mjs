#!/usr/bin/env node
// `npm run dev`: everything needed to run the API locally, with no account and no key.
// 1. `.dev.vars` from `.dev.vars.example` when missing (local secrets with dev values),
// 2. D1 migrations applied to the local database,
// 3. `wrangler dev` on http://localhost:8787 with local D1, KV, Queues and Durable Objects.
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";
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

const args = ["dev", "--port", port, "--ip", "127.0.0.1", ...process.argv.slice(2)];
const dev = spawn(wrangler, args, { cwd: root, stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code) => process.exit(code ?? 0));
