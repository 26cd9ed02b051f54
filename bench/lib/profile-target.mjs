// What both profilers (bench/profile.mjs, bench/native-profile.mjs) profile: the bundled Worker in
// its own workerd with migrations applied, and HTTP scenarios seeded, set up and warmed up as the
// bench does them.
import path from "node:path";
import { buildWorker } from "./build.mjs";
import { findWorkerdPids } from "./cpu.mjs";
import { prepareHttpScenario } from "./http-scenario.mjs";
import { autocannonOptions, runAutocannon, waitForIdle } from "./load.mjs";
import { applyMigrations, launchMiniflare, workerOptionsFromWrangler } from "./worker.mjs";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const BUILD_DIR = path.join(ROOT, "bench", ".build");

/**
 * Bundles the Worker (unless `skipBuild`: the last bundle in bench/.build), starts it with its
 * state in tmpfs and applies the migrations. Returns Miniflare, the Worker's URL and workerd's pids.
 */
export async function startProfiledWorker({ skipBuild = false, inspectorPort, log }) {
  if (!skipBuild) {
    log("bundling");
    await buildWorker({ root: ROOT, outDir: BUILD_DIR });
  }
  const workerOptions = workerOptionsFromWrangler({
    root: ROOT,
    scriptPath: path.join(BUILD_DIR, "index.js"),
    assets: false,
  });
  const { mf, baseUrl } = await launchMiniflare(workerOptions, { inspectorPort, state: "memory" });
  await applyMigrations(mf, path.join(ROOT, "migrations"));
  return { mf, baseUrl, pids: findWorkerdPids() };
}

/**
 * The HTTP scenario `name` of bench/scenarios, seeded and set up, then warmed up for `warmup`
 * seconds and left idle; `load(seconds)` runs it with autocannon and answers autocannon's result.
 */
export async function warmedScenario(name, { mf, baseUrl, pids, seconds, warmup, log }) {
  const { default: scenario } = await import(`../scenarios/${name}.mjs`);
  const prepared = await prepareHttpScenario(scenario, {
    baseUrl,
    mf,
    options: { runs: 1, duration: seconds, warmup },
    log,
  });
  const load = (duration) =>
    runAutocannon(
      autocannonOptions(baseUrl, prepared.request, { duration, connections: prepared.connections }),
    );
  await load(warmup);
  await waitForIdle(pids);
  return { load };
}
