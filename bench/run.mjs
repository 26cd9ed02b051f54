// Load benchmark of the Worker: bundles it with wrangler, serves it with Miniflare (workerd) on
// 127.0.0.1, drives each scenario with autocannon and reports req/s, latency and workerd CPU per
// request. Usage: npm run bench -- [--duration 5] [--warmup 1] [--connections 32] [--only a,b]
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { buildWorker } from "./lib/build.mjs";
import { clockTicksPerSecond, cpuTicks, findWorkerdPids } from "./lib/cpu.mjs";
import { autocannonOptions, percentile, preflight, runAutocannon, waitForIdle } from "./lib/load.mjs";
import { flagFor, markdownReport, textTable } from "./lib/report.mjs";
import { runWebhookDelivery, webhookDeliveryTable } from "./lib/webhook-delivery.mjs";
import { applyMigrations, startWorker } from "./lib/worker.mjs";
import apikeyCold from "./scenarios/apikey-cold.mjs";
import apikeyWarm from "./scenarios/apikey-warm.mjs";
import bare from "./scenarios/bare.mjs";
import health from "./scenarios/health.mjs";
import login from "./scenarios/login.mjs";
import stripeIngest from "./scenarios/stripe-ingest.mjs";

/** Every scenario, in run order. Add one module under scenarios/ and list it here. */
const SCENARIOS = [bare, health, login, apikeyWarm, apikeyCold, stripeIngest];

const ROOT = path.resolve(import.meta.dirname, "..");
const BUILD_DIR = path.join(ROOT, "bench", ".build");
const RESULTS_DIR = path.join(ROOT, "bench", "results");
const DEFAULT_CONNECTIONS = 32;

const USAGE = `Usage: npm run bench -- [options]
  --duration N      seconds of measured load per scenario (default 5)
  --warmup N        seconds of unmeasured load before each scenario (default 1)
  --connections N   concurrent connections for every scenario (default: the scenario's own, else ${DEFAULT_CONNECTIONS})
  --only a,b        run only these scenarios (${SCENARIOS.map((s) => s.name).join(", ")}, webhooks)
                    webhooks: 2,000 tenant events over 10 s across 20 tenants, emit → receipt
  --socket S        direct (default): the Worker's own workerd socket; entry: through Miniflare's
                    entry worker, as wrangler dev serves it (one more Worker hop per request)
  --skip-build      reuse bench/.build/index.js from an earlier run
  --verbose         Miniflare debug logs
  --help`;

function parseOptions() {
  const { values } = parseArgs({
    options: {
      duration: { type: "string", default: "5" },
      warmup: { type: "string", default: "1" },
      connections: { type: "string" },
      only: { type: "string" },
      socket: { type: "string", default: "direct" },
      "skip-build": { type: "boolean", default: false },
      verbose: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  const number = (name, min) => {
    const value = Number(values[name]);
    if (!Number.isFinite(value) || value < min) throw new Error(`--${name} must be a number >= ${min}`);
    return value;
  };
  const only = values.only
    ?.split(",")
    .map((name) => name.trim())
    .filter(Boolean);
  const unknown =
    only?.filter((name) => name !== "webhooks" && !SCENARIOS.some((scenario) => scenario.name === name)) ??
    [];
  if (unknown.length > 0) throw new Error(`unknown scenario(s): ${unknown.join(", ")}`);
  if (!["direct", "entry"].includes(values.socket)) throw new Error("--socket must be direct or entry");
  return {
    help: values.help,
    socket: values.socket,
    duration: number("duration", 1),
    warmup: number("warmup", 0),
    connections: values.connections === undefined ? undefined : number("connections", 1),
    scenarios: only ? SCENARIOS.filter((scenario) => only.includes(scenario.name)) : SCENARIOS,
    webhooks: !only || only.includes("webhooks"),
    skipBuild: values["skip-build"],
    verbose: values.verbose,
  };
}

function gitInfo() {
  try {
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], {
      cwd: ROOT,
      encoding: "utf8",
    }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "src", "migrations", "wrangler.toml"], {
      cwd: ROOT,
      encoding: "utf8",
    }).trim();
    return { commit, dirty: dirty.length > 0 };
  } catch {
    return { commit: "unknown", dirty: false };
  }
}

const log = (message) => process.stderr.write(`[bench] ${message}\n`);

/** One scenario: setup, preflight, warm-up (not counted), timed run with CPU and latency capture. */
async function runScenario(scenario, { baseUrl, mf, pids, ticksPerSecond, options }) {
  const connections = options.connections ?? scenario.connections ?? DEFAULT_CONNECTIONS;
  let request;
  try {
    request = await scenario.setup({ baseUrl, mf });
    const probe = autocannonOptions(baseUrl, request, { duration: options.duration, connections });
    await preflight(probe);
  } catch (error) {
    throw new Error(`setup of scenario "${scenario.name}" failed: ${error.message}`, { cause: error });
  }

  if (options.warmup > 0) {
    await runAutocannon(autocannonOptions(baseUrl, request, { duration: options.warmup, connections }));
  }
  await waitForIdle(pids);

  const latencies = [];
  const ticksBefore = pids.length > 0 ? cpuTicks(pids) : 0;
  const clientBefore = process.cpuUsage();
  const result = await runAutocannon(
    autocannonOptions(baseUrl, request, { duration: options.duration, connections }),
    (_status, responseTime) => latencies.push(responseTime),
  );
  const clientCpu = process.cpuUsage(clientBefore);
  await waitForIdle(pids);
  const ticks = pids.length > 0 ? cpuTicks(pids) - ticksBefore : null;

  latencies.sort((a, b) => a - b);
  const completed = result.requests.total;
  const sent = result.requests.sent;
  const statusCodes = Object.fromEntries(
    Object.entries(result.statusCodeStats ?? {}).map(([code, { count }]) => [code, count]),
  );
  const row = {
    name: scenario.name,
    description: scenario.description,
    connections,
    durationS: result.duration,
    completed,
    sent,
    rps: completed / result.duration,
    vsBare: null,
    p50Ms: percentile(latencies, 50),
    p90Ms: percentile(latencies, 90),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.at(-1) ?? Number.NaN,
    workerdCpuTicks: ticks,
    cpuMsPerRequest: ticks === null || sent === 0 ? null : (ticks * 1000) / ticksPerSecond / sent,
    clientCpuMsPerRequest: completed === 0 ? null : (clientCpu.user + clientCpu.system) / 1000 / completed,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    statusCodes,
  };
  row.flag = flagFor(row);
  return row;
}

async function main() {
  let options;
  try {
    options = parseOptions();
  } catch (error) {
    console.error(`${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }

  // Hard bound: whatever hangs, the process ends (the exit hook of Miniflare stops workerd).
  const budgetS =
    90 + options.scenarios.length * (options.duration + options.warmup + 20) + (options.webhooks ? 60 : 0);
  setTimeout(() => {
    console.error(`[bench] gave up after ${budgetS} s`);
    process.exit(1);
  }, budgetS * 1000).unref();

  let mf;
  const stop = async (signal) => {
    log(`${signal}: stopping`);
    await mf?.dispose().catch(() => {});
    process.exit(130);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);

  try {
    const scriptPath = path.join(BUILD_DIR, "index.js");
    if (options.skipBuild) {
      log(`reusing ${path.relative(ROOT, scriptPath)}`);
    } else {
      log("bundling with wrangler deploy --dry-run");
      await buildWorker({ root: ROOT, outDir: BUILD_DIR });
    }

    const started = await startWorker({
      root: ROOT,
      scriptPath,
      socket: options.socket,
      verbose: options.verbose,
    });
    mf = started.mf;
    const { baseUrl } = started;
    const statements = await applyMigrations(mf, path.join(ROOT, "migrations"));
    log(
      `workerd serving on ${baseUrl} (${options.socket} socket); ${statements} migration statements applied`,
    );

    const pids = findWorkerdPids();
    const ticksPerSecond = clockTicksPerSecond();
    if (pids.length === 0) log("WARNING: workerd process not found under this process; CPU ms/req is n/a");
    else log(`workerd pid ${pids.join(", ")}; ${ticksPerSecond} clock ticks/s`);

    const rows = [];
    for (const scenario of options.scenarios) {
      log(`${scenario.name}: ${options.warmup} s warm-up + ${options.duration} s`);
      rows.push(await runScenario(scenario, { baseUrl, mf, pids, ticksPerSecond, options }));
    }
    const webhooks = options.webhooks ? await runWebhookDelivery({ mf, baseUrl, log }) : null;
    const bareRow = rows.find((row) => row.name === "bare");
    for (const row of rows) row.vsBare = bareRow ? row.rps / bareRow.rps : null;

    const meta = {
      date: new Date().toISOString(),
      ...gitInfo(),
      node: process.versions.node,
      cpus: os.availableParallelism(),
      clockTicks: ticksPerSecond,
      duration: options.duration,
      warmup: options.warmup,
      socket: options.socket,
      cpuMeasure:
        "workerd utime+stime from the start of the timed window until workerd is idle again, / requests sent in the window; warm-up excluded",
    };
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(
      path.join(RESULTS_DIR, "latest.json"),
      `${JSON.stringify({ meta, results: rows, webhooks }, null, 2)}\n`,
    );
    writeFileSync(path.join(RESULTS_DIR, "latest.md"), markdownReport(meta, rows));

    console.log(`\n${textTable(rows)}\n`);
    console.log(
      `CPU ms/req: workerd user+system CPU per request (timed window only). Results: bench/results/latest.{json,md}`,
    );
    if (webhooks) console.log(`\n${webhookDeliveryTable(webhooks)}\n`);
    const flagged = rows.filter((row) => row.flag !== "ok");
    if (flagged.length > 0) {
      console.log(`WARNING: ${flagged.map((row) => `${row.name} (${row.flag})`).join(", ")}`);
    }
    return 0;
  } catch (error) {
    console.error(`[bench] FAILED: ${error.stack ?? error}`);
    return 1;
  } finally {
    await mf?.dispose().catch((error) => log(`dispose failed: ${error.message}`));
  }
}

process.exitCode = await main();
