// Interleaved rounds: every scenario once per round, the bare route first, so a slow phase of a
// shared machine lands on every scenario of that round (and on its reference) rather than on one.
import { measureHttpRun, measurePair } from "./http-scenario.mjs";
import { waitForIdle, waitForQuietMachine } from "./load.mjs";
import { slicesFor } from "./options.mjs";
import { summarize } from "./stats.mjs";
import { runDelivery } from "./webhook-delivery.mjs";

/** Quiet-machine waits stop after this many in a row ran out: the machine is busy for good. */
const MAX_FUTILE_SETTLES = 3;

/**
 * Before each run, waits up to --settle seconds for other processes to go quiet; after three
 * waits in a row that ran out, it stops waiting (a machine busy with someone else's test suite
 * stays busy, and the wait would only make the run longer). Returns what it saw, kept in the run.
 */
function makeSettler({ options, pids, ticksPerSecond, log }) {
  let futile = 0;
  return async () => {
    if (options.settle <= 0 || futile >= MAX_FUTILE_SETTLES) return null;
    const settle = await waitForQuietMachine(pids, ticksPerSecond, { maxMs: options.settle * 1000 });
    const busy = settle.otherCores !== null && settle.waitedS >= options.settle;
    futile = busy ? futile + 1 : 0;
    if (settle.waitedS > 1.5) {
      log(
        `waited ${settle.waitedS.toFixed(0)} s for other processes (last: ${settle.otherCores?.toFixed(2)} cores)`,
      );
    }
    if (futile >= MAX_FUTILE_SETTLES) log("other processes stay busy: no more waiting for a quiet machine");
    return settle;
  };
}

/** Runs `measure` for one scenario; a throw becomes `{ error }` so the round goes on. */
async function attempt(name, round, ctx, measure) {
  try {
    await waitForIdle(ctx.pids);
    return await measure();
  } catch (error) {
    ctx.log(`round ${round} · ${name} failed: ${error.message}`);
    return { error: error.message };
  }
}

/**
 * Runs `options.runs` rounds over the prepared scenarios (`bare` first) and returns every run by
 * scenario name. Within a round every HTTP scenario is measured together with the bare route in
 * alternating windows (see `measurePair`) and its ratios are to that bare run: on a shared machine
 * the load of others changes within seconds, so a reference taken at the start of the round, or
 * even just before, is not the same machine. A delivery run is compared with the latest bare run.
 * A run that throws is recorded with its error and the round goes on.
 */
export async function runRounds(prepared, ctx) {
  const { options, log } = ctx;
  const runs = new Map(prepared.map((entry) => [entry.scenario.name, []]));
  const bareEntry = prepared.find((entry) => entry.scenario.name === "bare");
  const settler = makeSettler(ctx);
  const record = (name, run, round, bare) => {
    const cpu = run.cpuMsPerEvent ?? run.cpuMsPerRequest;
    run.round = round;
    run.vsBare = run.rps && bare?.rps ? run.rps / bare.rps : null;
    run.cpuVsBare = cpu != null && bare?.cpuMsPerRequest ? cpu / bare.cpuMsPerRequest : null;
    runs.get(name).push(run);
  };
  const others = prepared.filter((entry) => entry !== bareEntry);
  const slices = slicesFor(options);
  for (let round = 1; round <= options.runs; round++) {
    let bare;
    if (!others.some((entry) => !entry.scenario.delivery)) {
      // Nothing to pair with: bare still runs once per round.
      const settle = await settler();
      log(`round ${round}/${options.runs} · bare: ${options.warmup} s warm-up + ${options.duration} s`);
      bare = { ...(await attempt("bare", round, ctx, () => measureHttpRun(bareEntry, ctx))), settle };
      record("bare", bare, round, bare);
    }
    for (const entry of others) {
      const { scenario } = entry;
      const settle = await settler();
      if (scenario.delivery) {
        const { events, seconds } = scenario.delivery;
        log(`round ${round}/${options.runs} · ${scenario.name}: ${events} events over ${seconds} s`);
        const delivery = { ...scenario.delivery };
        const run = await attempt(scenario.name, round, ctx, () =>
          runDelivery({ ...ctx, delivery, timeoutS: options.deliveryTimeout }),
        );
        record(scenario.name, { ...run, settle }, round, bare);
        continue;
      }
      log(
        `round ${round}/${options.runs} · ${scenario.name} with bare: ${options.warmup} s warm-up each, then ${slices} × (${options.duration / slices} s + ${options.duration / slices} s) alternating`,
      );
      const pair = await attempt(scenario.name, round, ctx, () => measurePair(bareEntry, entry, ctx, slices));
      bare = pair.error ? pair : { ...pair.bareRun, settle, pairedWith: scenario.name };
      record("bare", bare, round, bare);
      record(scenario.name, pair.error ? pair : { ...pair.run, settle }, round, bare);
    }
  }
  return runs;
}

const figure = (runs, key) => summarize(runs.map((run) => run[key]));

/**
 * Per-scenario summary of its runs: median and min–max of the ratio to bare and of every other
 * figure, the runs that were flagged and the runs that failed.
 */
export function summarizeScenario(entry, runs) {
  const { scenario, connections } = entry;
  const ok = runs.filter((run) => !run.error);
  const base = {
    name: scenario.name,
    description: scenario.description,
    kind: scenario.delivery ? "delivery" : "http",
    runs: runs.length,
    failedRuns: runs.filter((run) => run.error).map((run) => ({ round: run.round, error: run.error })),
    cpuVsBare: figure(ok, "cpuVsBare"),
    otherCores: figure(ok, "otherCores"),
  };
  if (scenario.delivery) {
    return {
      ...base,
      delivery: scenario.delivery,
      deliveredPerSecond: figure(ok, "deliveredPerSecond"),
      p50Ms: figure(ok, "p50Ms"),
      p99Ms: figure(ok, "p99Ms"),
      maxMs: figure(ok, "maxMs"),
      emitSeconds: figure(ok, "emitSeconds"),
      cpuMsPerEvent: figure(ok, "cpuMsPerEvent"),
      emitted: ok.reduce((sum, run) => sum + run.emitted, 0),
      missing: ok.reduce((sum, run) => sum + run.missing, 0),
      doubled: ok.reduce((sum, run) => sum + run.doubled, 0),
      emitErrors: ok.reduce((sum, run) => sum + run.emitErrors, 0),
      stoppedShort: ok
        .filter((run) => run.stoppedBy !== "complete")
        .map((run) => `r${run.round}: ${run.stoppedBy}`),
    };
  }
  return {
    ...base,
    connections,
    seedSeconds: entry.seedSeconds,
    vsBare: figure(ok, "vsBare"),
    rps: figure(ok, "rps"),
    p50Ms: figure(ok, "p50Ms"),
    p99Ms: figure(ok, "p99Ms"),
    cpuMsPerRequest: figure(ok, "cpuMsPerRequest"),
    extra: scenario.extra ? { title: scenario.extra.title, ...figure(ok, "extra") } : null,
    flagged: ok.filter((run) => run.flag).map((run) => `r${run.round}: ${run.flag}`),
  };
}
