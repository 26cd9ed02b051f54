// One HTTP scenario: its one-off preparation (seed, setup, preflight) and one measured run
// (warm-up, timed window with latency and CPU capture).
import { cpuWindow } from "./cpu.mjs";
import { autocannonOptions, preflight, runAutocannon, waitForIdle } from "./load.mjs";
import { insertRows } from "./seed.mjs";
import { percentile } from "./stats.mjs";

export const DEFAULT_CONNECTIONS = 32;

/**
 * Runs a scenario's optional `seed(ctx)` and its `setup(ctx)` once, before the first round, and
 * sends the request once (preflight) so a broken scenario fails before any load. Throws with the
 * scenario's name on any failure; the caller reports the scenario as not run.
 */
export async function prepareHttpScenario(scenario, { baseUrl, mf, options, log }) {
  const connections = options.connections ?? scenario.connections ?? DEFAULT_CONNECTIONS;
  const plan = { runs: options.runs, duration: options.duration, warmup: options.warmup, connections };
  try {
    let seeded;
    let seedSeconds = null;
    if (scenario.seed) {
      const db = await mf.getD1Database("DB");
      const started = performance.now();
      seeded = await scenario.seed({
        mf,
        baseUrl,
        db,
        insertRows: (table, rows, insertOptions) => insertRows(db, table, rows, insertOptions),
        log: (message) => log(`${scenario.name}: ${message}`),
        plan,
      });
      seedSeconds = (performance.now() - started) / 1000;
      log(`${scenario.name}: seeded in ${seedSeconds.toFixed(1)} s`);
    }
    const request = await scenario.setup({ baseUrl, mf, seeded, plan });
    await preflight(autocannonOptions(baseUrl, request, { duration: options.duration, connections }));
    return { scenario, request, connections, seeded, seedSeconds };
  } catch (error) {
    throw new Error(`setup of scenario "${scenario.name}" failed: ${error.message}`, { cause: error });
  }
}

/** A flag when anything but 2xx came back, or connections failed: such numbers are not comparable. */
export function flagFor(run) {
  if (run.non2xx === 0 && run.errors === 0) return null;
  const codes = Object.entries(run.statusCodes)
    .filter(([code]) => !code.startsWith("2"))
    .map(([code, count]) => `${code}x${count}`);
  if (run.errors > 0) codes.push(`errors x${run.errors}`);
  return codes.join(" ");
}

const loadOptions = (prepared, { baseUrl }, duration) =>
  autocannonOptions(baseUrl, prepared.request, { duration, connections: prepared.connections });

/**
 * One timed window: CPU counts from its start until workerd is idle again, so requests still in
 * flight when autocannon stops, and the queue batches they caused, land in their own scenario.
 */
async function timedWindow(prepared, ctx, seconds) {
  const latencies = [];
  const cpu = cpuWindow(ctx.pids, ctx.ticksPerSecond);
  const result = await runAutocannon(loadOptions(prepared, ctx, seconds), (_status, responseTime) =>
    latencies.push(responseTime),
  );
  await waitForIdle(ctx.pids);
  return { result, latencies, cpu: cpu.stop() };
}

/** Adds up windows of one scenario into one run: totals, pooled latencies, CPU per request sent. */
function toRun(windows) {
  const latencies = windows.flatMap((window) => window.latencies).sort((a, b) => a - b);
  const total = (pick) => windows.reduce((sum, window) => sum + pick(window), 0);
  const durationS = total((window) => window.result.duration);
  const completed = total((window) => window.result.requests.total);
  const sent = total((window) => window.result.requests.sent);
  const cpuKnown = windows.every((window) => window.cpu.workerdMs !== null);
  const workerdMs = cpuKnown ? total((window) => window.cpu.workerdMs) : null;
  const otherKnown = windows.every((window) => window.cpu.otherMs !== null);
  const statusCodes = {};
  for (const window of windows) {
    for (const [code, { count }] of Object.entries(window.result.statusCodeStats ?? {})) {
      statusCodes[code] = (statusCodes[code] ?? 0) + count;
    }
  }
  const run = {
    windows: windows.length,
    durationS,
    completed,
    sent,
    rps: completed / durationS,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.at(-1) ?? Number.NaN,
    workerdCpuTicks: cpuKnown ? total((window) => window.cpu.workerdTicks) : null,
    cpuMsPerRequest: workerdMs === null || sent === 0 ? null : workerdMs / sent,
    otherCores: otherKnown
      ? total((window) => window.cpu.otherMs) / total((window) => window.cpu.wallMs)
      : null,
    non2xx: total((window) => window.result.non2xx),
    errors: total((window) => window.result.errors + window.result.timeouts),
    statusCodes,
    // Each window's own rate and CPU per request: whether a slow run was slow throughout or in one window.
    perWindow: windows.map((window) => ({
      rps: Math.round(window.result.requests.total / window.result.duration),
      cpuMsPerRequest:
        window.cpu.workerdMs === null || window.result.requests.sent === 0
          ? null
          : Number((window.cpu.workerdMs / window.result.requests.sent).toFixed(4)),
    })),
  };
  run.flag = flagFor(run);
  return run;
}

async function warmUp(prepared, ctx) {
  if (ctx.options.warmup > 0) await runAutocannon(loadOptions(prepared, ctx, ctx.options.warmup));
  await waitForIdle(ctx.pids);
}

/** Calls the scenario's `extra.measure` after its run, outside any timed window. */
async function addExtra(prepared, { baseUrl, mf }, run) {
  const { scenario, seeded, request } = prepared;
  if (!scenario.extra) return run;
  try {
    run.extra = await scenario.extra.measure({ baseUrl, mf, seeded, request, run });
  } catch (error) {
    run.extra = null;
    run.extraError = error.message;
  }
  return run;
}

/** One run of a scenario on its own: warm-up (not counted), then one timed window of --duration. */
export async function measureHttpRun(prepared, ctx) {
  await warmUp(prepared, ctx);
  return addExtra(prepared, ctx, toRun([await timedWindow(prepared, ctx, ctx.options.duration)]));
}

/**
 * One run of a scenario paired with the bare route: both warm up, then --duration of each is
 * measured in `slices` alternating windows (bare, scenario, scenario, bare, ...), so whatever
 * else the machine does in those seconds weighs on both alike. Returns both runs; the caller
 * divides one by the other.
 */
export async function measurePair(bare, prepared, ctx, slices) {
  await warmUp(bare, ctx);
  await warmUp(prepared, ctx);
  const seconds = ctx.options.duration / slices;
  const windows = { bare: [], scenario: [] };
  for (let i = 0; i < slices; i++) {
    const order = i % 2 === 0 ? ["bare", "scenario"] : ["scenario", "bare"];
    for (const side of order) {
      windows[side].push(await timedWindow(side === "bare" ? bare : prepared, ctx, seconds));
    }
  }
  return { bareRun: toRun(windows.bare), run: await addExtra(prepared, ctx, toRun(windows.scenario)) };
}
