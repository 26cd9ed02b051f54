// Load benchmark of the Worker: bundles it with wrangler, serves it with Miniflare (workerd) on
// 127.0.0.1, runs every scenario once per round (HTTP ones in alternating windows with the bare
// route) and reports each as a ratio to the bare route of the same run: median and spread over the
// rounds, plus req/s, latency and workerd CPU. Also the bundle size and start-up time.
// Usage: npm run bench -- --help
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { startStripeDouble } from "../tools/stripe-double/server.ts";
import { buildWorker } from "./lib/build.mjs";
import { bundleSize, wranglerStartup } from "./lib/bundle.mjs";
import { clockTicksPerSecond, findWorkerdPids } from "./lib/cpu.mjs";
import { prepareHttpScenario } from "./lib/http-scenario.mjs";
import { machineInfo } from "./lib/machine.mjs";
import { parseOptions, usage } from "./lib/options.mjs";
import { updateReadme } from "./lib/readme.mjs";
import { bundleLine, howToRead, markdownSection, startupLine, textTable } from "./lib/report.mjs";
import { runRounds, summarizeScenario } from "./lib/rounds.mjs";
import { measureStartup } from "./lib/startup.mjs";
import { applyMigrations, startWorker, stateRoot } from "./lib/worker.mjs";
import analyticsMrr from "./scenarios/analytics-mrr.mjs";
import analyticsSummary from "./scenarios/analytics-summary.mjs";
import apikeyCold from "./scenarios/apikey-cold.mjs";
import apikeyWarm from "./scenarios/apikey-warm.mjs";
import bare from "./scenarios/bare.mjs";
import customersSearch from "./scenarios/customers-search.mjs";
import health from "./scenarios/health.mjs";
import login from "./scenarios/login.mjs";
import stripeIngest from "./scenarios/stripe-ingest.mjs";
import subscriptionCreate from "./scenarios/subscription-create.mjs";
import subscriptionGet from "./scenarios/subscription-get.mjs";
import webhooks from "./scenarios/webhooks.mjs";
import webhooks500 from "./scenarios/webhooks-500.mjs";
import webhooksCapacity from "./scenarios/webhooks-capacity.mjs";

/** Every scenario, in run order within a round. Add a module under scenarios/ and list it here. */
const SCENARIOS = [
  bare,
  health,
  login,
  apikeyWarm,
  apikeyCold,
  stripeIngest,
  customersSearch,
  subscriptionGet,
  subscriptionCreate,
  analyticsSummary,
  analyticsMrr,
  webhooks,
  webhooks500,
  webhooksCapacity,
];

const ROOT = path.resolve(import.meta.dirname, "..");
const BUILD_DIR = path.join(ROOT, "bench", ".build");
const RESULTS_DIR = path.join(ROOT, "bench", "results");

const log = (message) => process.stderr.write(`[bench] ${message}\n`);

/** Upper bound of the whole run; past it the process exits (Miniflare's exit hook stops workerd). */
function budgetSeconds(options) {
  let perRound = 0;
  for (const scenario of options.scenarios) {
    perRound += scenario.delivery
      ? scenario.delivery.seconds + 60 + options.deliveryTimeout + options.settle + 30
      : 2 * (options.warmup + options.duration) + options.settle + 15;
  }
  return 600 + options.startups * 15 + options.runs * perRound;
}

/** Bundle size (and the build itself unless --skip-build). */
async function build(options) {
  if (options.skipBuild) {
    log(`reusing ${path.relative(ROOT, BUILD_DIR)}`);
    return { entry: path.join(BUILD_DIR, "index.js"), bundleFile: null, bundle: bundleSize(BUILD_DIR) };
  }
  log("bundling with wrangler deploy --dry-run");
  const built = await buildWorker({ root: ROOT, outDir: BUILD_DIR });
  return { ...built, bundle: bundleSize(BUILD_DIR) };
}

/** Start-up figures; a failure here is reported, not fatal (the load figures do not depend on it). */
async function startup(options, built) {
  if (options.startups === 0) return null;
  log(
    `start-up: wrangler check startup, then ${options.startups} fresh starts (with an empty Worker alternating)`,
  );
  const wrangler = await wranglerStartup({
    root: ROOT,
    bundleFile: built.bundleFile,
    profileFile: path.join(RESULTS_DIR, "worker-startup.cpuprofile"),
    runs: Math.min(options.startups, 3),
  });
  try {
    const timed = await measureStartup({
      root: ROOT,
      scriptPath: built.entry,
      socket: options.socket,
      state: options.state,
      starts: options.startups,
      log,
    });
    return { ...timed, wrangler };
  } catch (error) {
    log(`start-up measurement failed: ${error.message}`);
    return null;
  }
}

/** Seeds and sets up every selected HTTP scenario once; delivery scenarios need nothing up front. */
async function prepare(options, ctx) {
  const prepared = [];
  const notRun = [];
  for (const scenario of options.scenarios) {
    if (scenario.delivery) {
      prepared.push({ scenario });
      continue;
    }
    try {
      prepared.push(await prepareHttpScenario(scenario, { ...ctx, options, log }));
    } catch (error) {
      if (scenario.name === "bare") throw error;
      log(error.message);
      notRun.push({ name: scenario.name, description: scenario.description, error: error.message });
    }
  }
  return { prepared, notRun };
}

function writeResults(report, markdown) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const stamp = report.machine.date.replaceAll(":", "").replace(/\.\d+Z$/, "Z");
  writeFileSync(path.join(RESULTS_DIR, "latest.json"), json);
  writeFileSync(path.join(RESULTS_DIR, `${stamp}-${report.machine.commit}.json`), json);
  writeFileSync(path.join(RESULTS_DIR, "latest.md"), `# Benchmark: latest run\n\n${markdown}\n`);
}

async function main() {
  let options;
  try {
    options = parseOptions(SCENARIOS);
  } catch (error) {
    console.error(`${error.message}\n\n${usage(SCENARIOS)}`);
    return 2;
  }
  if (options.help) {
    console.log(usage(SCENARIOS));
    return 0;
  }
  const budgetS = budgetSeconds(options);
  setTimeout(() => {
    console.error(`[bench] gave up after ${budgetS} s`);
    process.exit(1);
  }, budgetS * 1000).unref();

  let mf;
  let stripeDouble;
  const stop = async (signal) => {
    log(`${signal}: stopping`);
    await mf?.dispose().catch(() => {});
    await stripeDouble?.close().catch(() => {});
    process.exit(130);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);

  try {
    const machine = machineInfo(ROOT);
    const built = await build(options);
    const startupFigures = await startup(options, built);

    // The Stripe double (in this process, on 127.0.0.1) stands in for Stripe's API and Connect
    // hosts, as in tests: scenarios that create Stripe objects go through it.
    stripeDouble = await startStripeDouble({ port: 0 });
    const started = await startWorker({
      root: ROOT,
      scriptPath: built.entry,
      socket: options.socket,
      state: options.state,
      verbose: options.verbose,
      bindings: { STRIPE_API_BASE: stripeDouble.url, STRIPE_CONNECT_BASE: stripeDouble.url },
    });
    mf = started.mf;
    const { baseUrl } = started;
    const statements = await applyMigrations(mf, path.join(ROOT, "migrations"));
    log(
      `workerd serving on ${baseUrl} (${options.socket} socket, state in ${stateRoot(options.state)}); ${statements} migration statements applied`,
    );
    const pids = findWorkerdPids();
    const ticksPerSecond = clockTicksPerSecond();
    if (pids.length === 0) log("WARNING: workerd process not found under this process; CPU figures are n/a");

    const ctx = { baseUrl, mf, pids, ticksPerSecond, options, log };
    const { prepared, notRun } = await prepare(options, ctx);
    const runs = await runRounds(prepared, ctx);
    const summaries = prepared.map((entry) => summarizeScenario(entry, runs.get(entry.scenario.name)));
    const rows = options.scenarios.map(
      (scenario) =>
        summaries.find((row) => row.name === scenario.name) ??
        notRun.find((row) => row.name === scenario.name),
    );

    const section = markdownSection({
      machine,
      options,
      rows,
      bundle: built.bundle,
      startup: startupFigures,
    });
    const settings = { ...options, scenarios: options.scenarios.map((scenario) => scenario.name) };
    const runsByScenario = Object.fromEntries(runs);
    writeResults(
      {
        machine: { ...machine, clockTicks: ticksPerSecond },
        settings,
        bundle: built.bundle,
        wranglerUpload: built.wranglerUpload ?? null,
        startup: startupFigures,
        scenarios: rows,
        runs: runsByScenario,
      },
      section,
    );
    const failed = notRun.length > 0 || summaries.some((row) => row.failedRuns.length === row.runs);
    const writeReadme = options.readme ?? (options.complete && !failed);
    if (writeReadme && updateReadme(path.join(ROOT, "README.md"), section))
      log("README.md updated between the bench markers");

    const plain = (markdown) => markdown.replaceAll("**", "").replaceAll("`", "");
    console.log(`\n${textTable(rows)}\n`);
    console.log(
      plain(`${howToRead(options)}\n\n${bundleLine(built.bundle)}\n${startupLine(startupFigures)}`),
    );
    console.log(`\nResults: bench/results/latest.{json,md}`);
    return failed ? 1 : 0;
  } catch (error) {
    console.error(`[bench] FAILED: ${error.stack ?? error}`);
    return 1;
  } finally {
    await mf?.dispose().catch((error) => log(`dispose failed: ${error.message}`));
    await stripeDouble?.close().catch(() => {});
  }
}

process.exitCode = await main();
