// How big the deployed Worker is and how long it takes to start: the two costs every cold start
// pays before the first request, which no req/s figure shows.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { runWrangler } from "./build.mjs";
import { median } from "./stats.mjs";

/** Cloudflare's limit for a Worker on the paid plan is 10 MB gzip; ours is a tenth of it. */
export const BUNDLE_GOAL_GZIP_BYTES = 1_000_000;

/**
 * Raw and gzip size of what `wrangler deploy --dry-run --outdir` wrote, source maps, README and
 * the upload form left out: the modules that would be uploaded. Gzip at zlib's default level,
 * which is the figure wrangler prints as "Total Upload ... gzip".
 */
export function bundleSize(outDir) {
  const files = readdirSync(outDir).filter((file) => !/\.(map|md|bundle|cpuprofile)$/.test(file));
  let rawBytes = 0;
  let gzipBytes = 0;
  for (const file of files) {
    const content = readFileSync(path.join(outDir, file));
    rawBytes += content.length;
    gzipBytes += gzipSync(content).length;
  }
  return {
    files,
    rawBytes,
    gzipBytes,
    goalGzipBytes: BUNDLE_GOAL_GZIP_BYTES,
    withinGoal: gzipBytes < BUNDLE_GOAL_GZIP_BYTES,
  };
}

function parseStartupProfile(output) {
  const number = (pattern) => {
    const match = pattern.exec(output);
    return match ? Number(match[1]) : null;
  };
  return {
    activeMs: number(/Active: ([\d.]+) ms/),
    gcMs: number(/including ([\d.]+) ms garbage collection/),
    windowMs: number(/Profile window: ([\d.]+) ms/),
  };
}

/**
 * wrangler's own start-up figure: `wrangler check startup --worker <upload form>` runs the Worker's
 * start-up phase in a local workerd under the CPU profiler (offline, no account) and prints the
 * CPU time it was active. Runs it `runs` times and keeps the median; returns `error` instead when
 * wrangler failed or printed no figure (the benchmark goes on without it).
 */
export async function wranglerStartup({ root, bundleFile, profileFile, runs = 3 }) {
  if (!bundleFile) return { error: "no upload form (--skip-build reuses an older build)" };
  const profiles = [];
  for (let i = 0; i < runs; i++) {
    const args = [
      "check",
      "startup",
      "--config",
      path.join(root, "wrangler.toml"),
      "--worker",
      bundleFile,
      "--outfile",
      profileFile,
    ];
    const { code, output } = await runWrangler(root, args, { timeoutMs: 60_000 });
    const profile = parseStartupProfile(output);
    if (code !== 0 || profile.activeMs === null) {
      return {
        error: `wrangler check startup exited ${code}: ${output.trim().split("\n").slice(-3).join(" ")}`,
      };
    }
    profiles.push(profile);
  }
  return {
    runs,
    activeMs: median(profiles.map((profile) => profile.activeMs)),
    gcMs: median(profiles.map((profile) => profile.gcMs)),
    windowMs: median(profiles.map((profile) => profile.windowMs)),
    profileFile,
  };
}
