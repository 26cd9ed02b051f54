// What a run was measured on, so that two results files can be compared (or not) knowingly.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";

function cpuModel() {
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8")
      .split("\n")
      .find((text) => text.startsWith("model name"));
    if (line) return line.slice(line.indexOf(":") + 1).trim();
  } catch {
    // Not Linux: fall back to Node's view.
  }
  return os.cpus()[0]?.model?.trim() || "unknown";
}

/** Versions of the packages that serve the Worker, as installed (workerd via miniflare's own resolution). */
function packageVersions() {
  const require = createRequire(import.meta.url);
  const version = (name, from = require) => {
    try {
      return from(`${name}/package.json`).version;
    } catch {
      return "unknown";
    }
  };
  let workerd = "unknown";
  try {
    const fromMiniflare = createRequire(require.resolve("miniflare"));
    workerd = version("workerd", fromMiniflare);
  } catch {
    // miniflare missing: the run fails later anyway.
  }
  return {
    workerd,
    miniflare: version("miniflare"),
    wrangler: version("wrangler"),
    autocannon: version("autocannon"),
  };
}

function git(root, args) {
  try {
    return execFileSync("git", args, {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return null;
  }
}

/**
 * The machine and software of this run: CPU model, cores, memory, Node, workerd, Miniflare and
 * wrangler versions, the commit (and whether the Worker's sources differed from it), the date and
 * the load average when it started. Ratios are meant to travel between machines; these say how
 * far they travelled.
 */
export function machineInfo(root) {
  const dirty = git(root, ["status", "--porcelain", "--", "src", "migrations", "wrangler.toml"]);
  return {
    date: new Date().toISOString(),
    commit: git(root, ["rev-parse", "--short", "HEAD"]) ?? "unknown",
    dirty: Boolean(dirty),
    cpuModel: cpuModel(),
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.versions.node,
    ...packageVersions(),
    loadAverageAtStart: os.loadavg().map((value) => Math.round(value * 100) / 100),
  };
}
