// Profiles every isolate of workerd (the Worker, and Miniflare's own simulators of D1, Queues, KV,
// Durable Objects) over the DevTools protocol during one delivery run, and prints where the CPU
// went: sampled time per isolate and its top functions by self time. A tool for finding the cost
// of a delivered event, not a benchmark figure (the profiler itself slows workerd down).
// Usage: node bench/profile.mjs [--events 2000] [--seconds 10] [--tenants 20] [--skip-build]
//        [--top 30] [--out dir]  (--out keeps one .cpuprofile per isolate for DevTools)
//        node bench/profile.mjs --scenario apikey-warm [--seconds 10]: one HTTP scenario of
//        bench/scenarios instead (seeded and warmed up as the bench does, then profiled under load)
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { clockTicksPerSecond } from "./lib/cpu.mjs";
import { waitForIdle } from "./lib/load.mjs";
import { startProfiledWorker, warmedScenario } from "./lib/profile-target.mjs";
import { runDelivery } from "./lib/webhook-delivery.mjs";

const { values } = parseArgs({
  options: {
    events: { type: "string", default: "2000" },
    seconds: { type: "string", default: "10" },
    tenants: { type: "string", default: "20" },
    top: { type: "string", default: "30" },
    out: { type: "string", default: "" },
    scenario: { type: "string", default: "" },
    "skip-build": { type: "boolean", default: false },
  },
});
const log = (message) => process.stderr.write(`[profile] ${message}\n`);

const { mf, baseUrl, pids } = await startProfiledWorker({
  skipBuild: values["skip-build"],
  inspectorPort: 0,
  log,
});

/** workerd's own inspector (Miniflare proxies only user Workers): the listening port whose /json lists `core:` ids. */
async function runtimeTargets() {
  const out = execFileSync("ss", ["-ltnpH"], { encoding: "utf8" });
  for (const line of out.split("\n")) {
    if (!pids.some((pid) => line.includes(`pid=${pid},`))) continue;
    const port = /127\.0\.0\.1:(\d+)/.exec(line)?.[1];
    if (!port) continue;
    try {
      const list = await fetch(`http://127.0.0.1:${port}/json`, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.json(),
      );
      if (Array.isArray(list) && list.some((target) => String(target.id).startsWith("core:")))
        return list.map((target) => ({ id: target.id, ws: `ws://127.0.0.1:${port}/${target.id}` }));
    } catch {
      // not the inspector
    }
  }
  throw new Error("workerd's inspector port not found");
}

function connect(target) {
  const ws = new WebSocket(target.ws);
  let next = 1;
  const waiting = new Map();
  ws.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    if (message.id && waiting.has(message.id)) {
      waiting.get(message.id)(message);
      waiting.delete(message.id);
    }
  });
  const opened = new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve);
    ws.addEventListener("error", reject);
  });
  const send = (method, params = {}) =>
    new Promise((resolve) => {
      const id = next++;
      waiting.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  return { id: target.id, opened, send, close: () => ws.close() };
}

/** The named HTTP scenario, seeded and set up as the bench does, and warmed up; null for a delivery run. */
async function prepareScenario(name) {
  if (!name) return null;
  const seconds = Number(values.seconds);
  const { load } = await warmedScenario(name, { mf, baseUrl, pids, seconds, warmup: 3, log });
  return { load, seconds };
}

const http = await prepareScenario(values.scenario);
const targets = await runtimeTargets();
log(`isolates: ${targets.map((t) => t.id).join(", ")}`);
const sessions = targets.map(connect);
await Promise.all(sessions.map((s) => s.opened.catch(() => undefined)));
for (const session of sessions) {
  await session.send("Profiler.enable");
  await session.send("Profiler.setSamplingInterval", { interval: 200 });
  await session.send("Profiler.start");
}

const result = http
  ? await runHttp(http)
  : await runDelivery({
      mf,
      baseUrl,
      pids,
      ticksPerSecond: clockTicksPerSecond(),
      delivery: {
        tenants: Number(values.tenants),
        events: Number(values.events),
        seconds: Number(values.seconds),
      },
    });
if (!http)
  log(
    `delivered ${result.delivered}/${result.emitted} (${result.deliveredPerSecond.toFixed(1)}/s), p50 ${Math.round(result.p50Ms)} ms, ` +
      `${result.cpuMsPerEvent?.toFixed(2)} ms workerd CPU per event (profiler on)`,
  );

async function runHttp({ load, seconds }) {
  const outcome = await load(seconds);
  await waitForIdle(pids);
  log(
    `${outcome.requests.total} requests, ${(outcome.requests.total / seconds).toFixed(0)}/s (profiler on), non-2xx ${outcome.non2xx}`,
  );
  return { delivered: outcome.requests.total };
}

const profiles = [];
for (const session of sessions) {
  const stopped = await session.send("Profiler.stop");
  session.close();
  if (stopped.result?.profile) profiles.push({ id: session.id, profile: stopped.result.profile });
}
await mf.dispose();

const top = Number(values.top);
if (values.out) mkdirSync(values.out, { recursive: true });
const summary = profiles.map(({ id, profile }) => {
  const selfUs = new Map();
  const deltas = profile.timeDeltas;
  const byNode = new Map(profile.nodes.map((node) => [node.id, node]));
  const sampleUs = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const nodeId = profile.samples[i];
    sampleUs.set(nodeId, (sampleUs.get(nodeId) ?? 0) + (deltas[i + 1] ?? 0));
  }
  let busy = 0;
  for (const [nodeId, us] of sampleUs) {
    const frame = byNode.get(nodeId).callFrame;
    if (frame.functionName === "(idle)" || frame.functionName === "(program)") continue;
    busy += us;
    const key = `${frame.functionName || "(anonymous)"} ${frame.url.split("/").pop()}:${frame.lineNumber + 1}`;
    selfUs.set(key, (selfUs.get(key) ?? 0) + us);
  }
  if (values.out)
    writeFileSync(
      path.join(values.out, `${id.replaceAll(/[^\w.-]/g, "_")}.cpuprofile`),
      JSON.stringify(profile),
    );
  return { id, busyMs: busy / 1000, top: [...selfUs].sort((a, b) => b[1] - a[1]).slice(0, top) };
});
summary.sort((a, b) => b.busyMs - a.busyMs);
for (const isolate of summary) {
  if (isolate.busyMs < 1) continue;
  console.log(
    `\n${isolate.id}: ${isolate.busyMs.toFixed(0)} ms sampled JS (${(isolate.busyMs / result.delivered).toFixed(3)} ms/${http ? "request" : "event"})`,
  );
  for (const [name, us] of isolate.top) console.log(`  ${(us / 1000).toFixed(1).padStart(8)} ms  ${name}`);
}
