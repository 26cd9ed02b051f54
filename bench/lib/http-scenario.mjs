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

/**
 * One measured run of a prepared scenario: warm-up (not counted), wait for workerd to go idle,
 * then the timed window. CPU counts from the start of the window until workerd is idle again, so
 * requests still in flight when autocannon stops, and the queue batches they caused, land in their
 * own scenario. Calls the scenario's `extra.measure` afterwards, outside the window.
 */
export async function measureHttpRun(prepared, { baseUrl, mf, pids, ticksPerSecond, options }) {
  const { scenario, request, connections, seeded } = prepared;
  const load = (duration) => autocannonOptions(baseUrl, request, { duration, connections });
  if (options.warmup > 0) await runAutocannon(load(options.warmup));
  await waitForIdle(pids);

  const latencies = [];
  const cpu = cpuWindow(pids, ticksPerSecond);
  const result = await runAutocannon(load(options.duration), (_status, responseTime) =>
    latencies.push(responseTime),
  );
  await waitForIdle(pids);
  const window = cpu.stop();

  latencies.sort((a, b) => a - b);
  const sent = result.requests.sent;
  const run = {
    durationS: result.duration,
    completed: result.requests.total,
    sent,
    rps: result.requests.total / result.duration,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.at(-1) ?? Number.NaN,
    workerdCpuTicks: window.workerdTicks,
    cpuMsPerRequest: window.workerdMs === null || sent === 0 ? null : window.workerdMs / sent,
    otherCores: window.otherCores,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    statusCodes: Object.fromEntries(
      Object.entries(result.statusCodeStats ?? {}).map(([code, { count }]) => [code, count]),
    ),
  };
  run.flag = flagFor(run);
  if (scenario.extra) {
    try {
      run.extra = await scenario.extra.measure({ baseUrl, mf, seeded, request, run });
    } catch (error) {
      run.extra = null;
      run.extraError = error.message;
    }
  }
  return run;
}
