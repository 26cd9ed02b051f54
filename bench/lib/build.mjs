import { spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import path from "node:path";

/** wrangler's own entry, run with this Node (the project's Node 22), not whatever is on PATH. */
export const wranglerBin = (root) => path.join(root, "node_modules", "wrangler", "bin", "wrangler.js");

/**
 * Runs a wrangler command offline: no metrics, no colour, stdin closed (so it can never wait for
 * a login prompt), killed after `timeoutMs`. Resolves with its exit code and combined output.
 */
export function runWrangler(root, args, { timeoutMs = 120_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [wranglerBin(root), ...args], {
      cwd: root,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", FORCE_COLOR: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const collect = (chunk) => {
      output += chunk;
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? `killed by ${signal}` : "unknown"), output });
    });
  });
}

/**
 * Bundles the Worker the way `wrangler deploy` would, without uploading anything
 * (`wrangler deploy --dry-run --outdir`), and also writes the upload form (`--outfile`) that
 * `wrangler check startup --worker` profiles. Returns the bundled entry module, the upload form and
 * wrangler's own "Total Upload" line (KiB raw / gzip), when it printed one.
 */
export async function buildWorker({ root, outDir }) {
  rmSync(outDir, { recursive: true, force: true });
  const bundleFile = path.join(outDir, "worker.bundle");
  const { code, output } = await runWrangler(root, [
    "deploy",
    "--dry-run",
    "--outdir",
    outDir,
    "--outfile",
    bundleFile,
    "--config",
    path.join(root, "wrangler.toml"),
  ]);
  if (code !== 0) throw new Error(`wrangler deploy --dry-run exited with ${code}:\n${output}`);
  const entry = path.join(outDir, "index.js");
  if (!existsSync(entry)) throw new Error(`wrangler did not write ${entry}; its output was:\n${output}`);
  const upload = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(output);
  return {
    entry,
    bundleFile: existsSync(bundleFile) ? bundleFile : null,
    wranglerUpload: upload ? { kib: Number(upload[1]), gzipKib: Number(upload[2]) } : null,
  };
}
