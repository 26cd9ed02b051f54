import { spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import path from "node:path";

/**
 * Bundles the Worker the way `wrangler deploy` would, without uploading anything
 * (`wrangler deploy --dry-run --outdir`), and returns the path of the bundled entry module.
 */
export async function buildWorker({ root, outDir }) {
  rmSync(outDir, { recursive: true, force: true });
  // Run wrangler's own entry with this Node (the project's Node 22), not whatever is on PATH.
  const wrangler = path.join(root, "node_modules", "wrangler", "bin", "wrangler.js");
  const args = [
    wrangler,
    "deploy",
    "--dry-run",
    "--outdir",
    outDir,
    "--config",
    path.join(root, "wrangler.toml"),
  ];
  const output = await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: root,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_LOG: "warn", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let text = "";
    child.stdout.on("data", (chunk) => {
      text += chunk;
    });
    child.stderr.on("data", (chunk) => {
      text += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(text);
      else reject(new Error(`wrangler deploy --dry-run exited with ${code}:\n${text}`));
    });
  });
  const entry = path.join(outDir, "index.js");
  if (!existsSync(entry)) {
    throw new Error(`wrangler did not write ${entry}; its output was:\n${output}`);
  }
  return entry;
}
