// Interleaved rounds: every scenario once per round, the bare route first, so a slow phase of a
// shared machine lands on every scenario of that round (and on its reference) rather than on one.
import { measureHttpRun } from "./http-scenario.mjs";
import { waitForIdle, waitForQuietMachine } from "./load.mjs";
import { summarize } from "./stats.mjs";
import { runDelivery } from "./webhook-delivery.mjs";

/**
 * Runs `rounds` rounds over the prepared scenarios (`bare` must be first) and returns every run,
 * each with its ratios to the bare run of the same round. A run that throws is recorded with its
 * error and the round goes on.
 */
export async function runRounds(prepared, ctx) {
  const { options, log } = ctx;
  const runs = new Map(prepared.map((entry) => [entry.scenario.name, []]));
  for (let round = 1; round <= options.runs; round++) {
    let bare;
    for (const entry of prepared) {
      const { scenario } = entry;
      const what = scenario.delivery
        ? `${scenario.delivery.events} events over ${scenario.delivery.seconds} s`
        : `${options.warmup} s warm-up + ${options.duration} s`;
      log(`round ${round}/${options.runs} · ${scenario.name}: ${what}`);
      let run;
      try {
        await waitForIdle(ctx.pids);
        const settle =
          options.settle > 0
            ? await waitForQuietMachine(ctx.pids, ctx.ticksPerSecond, { maxMs: options.settle * 1000 })
            : null;
        if (settle && settle.waitedS > 1.5) {
          log(
            `waited ${settle.waitedS.toFixed(0)} s for other processes (last: ${settle.otherCores?.toFixed(2)} cores)`,
          );
        }
        run = scenario.delivery
          ? await runDelivery({ ...ctx, delivery: scenario.delivery, timeoutS: options.deliveryTimeout })
          : await measureHttpRun(entry, ctx);
        run.settle = settle;
      } catch (error) {
        log(`round ${round} · ${scenario.name} failed: ${error.message}`);
        run = { error: error.message };
      }
      run.round = round;
      if (scenario.name === "bare") bare = run;
      const cpu = scenario.delivery ? run.cpuMsPerEvent : run.cpuMsPerRequest;
      run.vsBare = !scenario.delivery && bare?.rps ? run.rps / bare.rps : null;
      run.cpuVsBare = cpu != null && bare?.cpuMsPerRequest ? cpu / bare.cpuMsPerRequest : null;
      runs.get(scenario.name).push(run);
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
