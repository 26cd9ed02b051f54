// Start-up time of the Worker on fresh Miniflare instances, next to an empty Worker with the same
// bindings started the same way, so the figure can be read as "what our code adds".
import { median } from "./stats.mjs";
import { launchMiniflare, workerOptionsFromWrangler } from "./worker.mjs";

/** An empty Worker exporting every Durable Object class the real one declares. */
export function emptyWorkerScript(durableObjects = {}) {
  const classes = [...new Set(Object.values(durableObjects).map((binding) => binding.className))];
  return [
    ...classes.map((name) => `export class ${name} { fetch() { return new Response("ok"); } }`),
    'export default { fetch() { return new Response("ok"); }, queue() {}, scheduled() {} };',
  ].join("\n");
}

async function timeOneStart(workerOptions, { socket, state, path }) {
  const started = performance.now();
  const { mf, baseUrl } = await launchMiniflare(workerOptions, { socket, state });
  try {
    const ready = performance.now();
    const response = await fetch(new URL(path, baseUrl));
    await response.arrayBuffer();
    const answered = performance.now();
    if (!response.ok) throw new Error(`first request ${path} answered ${response.status}`);
    return { readyMs: ready - started, firstResponseMs: answered - ready };
  } finally {
    await mf.dispose();
  }
}

/**
 * Starts the bundled Worker `starts` times on fresh Miniflare instances (new workerd process,
 * empty storage), alternating with an empty Worker that has the same bindings, and returns the
 * medians of: construction → `ready` (workerd up, the Worker's modules evaluated) and `ready` →
 * first answered `GET /health` (lazy work on the first request: router build, first-use
 * initialisation). The empty Worker's figures are the floor of this machine and Miniflare, so
 * the differences are what the Worker's code costs.
 */
export async function measureStartup({ root, scriptPath, socket, state, starts, log }) {
  const workerOptions = workerOptionsFromWrangler({ root, scriptPath, assets: false });
  const { scriptPath: _bundle, modulesRoot: _root, ...bindingsOnly } = workerOptions;
  const emptyOptions = { ...bindingsOnly, script: emptyWorkerScript(workerOptions.durableObjects) };
  const app = [];
  const empty = [];
  for (let i = 0; i < starts; i++) {
    app.push(await timeOneStart(workerOptions, { socket, state, path: "/health" }));
    empty.push(await timeOneStart(emptyOptions, { socket, state, path: "/" }));
    const last = app.at(-1);
    log?.(
      `start-up ${i + 1}/${starts}: ready ${last.readyMs.toFixed(0)} ms, first response ${last.firstResponseMs.toFixed(0)} ms`,
    );
  }
  const medians = (samples) => ({
    readyMs: median(samples.map((sample) => sample.readyMs)),
    firstResponseMs: median(samples.map((sample) => sample.firstResponseMs)),
  });
  return {
    starts,
    worker: medians(app),
    emptyWorker: medians(empty),
    samples: { worker: app, emptyWorker: empty },
  };
}
