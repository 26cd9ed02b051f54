// Samples workerd's whole process with Linux `perf` while one HTTP scenario runs, and prints its
// CPU per request by part: kernel, allocator, HTTP server, V8's garbage collector, the runtime's
// JS bindings, JavaScript, ... The DevTools profiler (bench/profile.mjs) sees JavaScript only, and
// on a warm path most of workerd's time is not JavaScript. perf barely slows workerd down, so the
// figures are close to the bench's; `--against bare` profiles the bare route in the same process
// right after, and prints both side by side with the difference per part and per function.
// Needs `perf` (Debian: linux-perf) and root or kernel.perf_event_paranoid ≤ 1.
// A delivery scenario (webhooks, webhooks-500) runs once as the bench runs it; its figures are per
// delivered event.
// Usage: node bench/native-profile.mjs --scenario apikey-warm [--against bare] [--seconds 10]
//        [--top 25] [--skip-build] [--call-graph dwarf,16384 --keep /tmp/perf.data]
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { clockTicksPerSecond } from "./lib/cpu.mjs";
import { waitForIdle } from "./lib/load.mjs";
import { startProfiledWorker, warmedScenario } from "./lib/profile-target.mjs";
import { runDelivery } from "./lib/webhook-delivery.mjs";

const { values } = parseArgs({
  options: {
    scenario: { type: "string", default: "apikey-warm" },
    against: { type: "string", default: "" },
    seconds: { type: "string", default: "10" },
    top: { type: "string", default: "25" },
    "skip-build": { type: "boolean", default: false },
    // perf's --call-graph mode (`dwarf,16384` unwinds workerd, built without frame pointers).
    "call-graph": { type: "string", default: "" },
    // Keeps the last scenario's perf.data at this path, for `perf report` by hand.
    keep: { type: "string", default: "" },
  },
});
const log = (message) => process.stderr.write(`[native-profile] ${message}\n`);
const FREQUENCY = 999;

/** Where a leaf function belongs; the first pattern that matches names it. */
const PARTS = [
  ["kernel (network, page faults, scheduler)", (_sym, dso) => dso.includes("kernel")],
  ["allocator (tcmalloc, memcpy)", (sym) => /tcmalloc|TCMalloc|memmove|memcpy|memset/.test(sym)],
  [
    "V8 garbage collection",
    (sym) => /Scaveng|MarkCompact|Marking|Sweep|cppgc|GlobalHandles|TracedHandles|Heap::/.test(sym),
  ],
  // workerd serves HTTP with Rust (hyper on tokio); KJ's own HTTP code counts under "kj".
  ["HTTP server (Rust: hyper, tokio)", (sym) => /hyper|tokio|futures_|mio::|listen/.test(sym)],
  ["runtime bindings (jsg, api)", (sym) => /workerd::jsg::|workerd::api::/.test(sym)],
  ["JavaScript (JIT code, builtins)", (sym, dso) => dso.startsWith("[JIT]") || /^Builtins_/.test(sym)],
  ["V8 runtime", (sym) => /v8::/.test(sym)],
  ["kj event loop, I/O", (sym) => /^kj::|kj_/.test(sym)],
  ["SQLite (simulated D1, Durable Objects, rate limiter)", (sym) => /sqlite3/.test(sym)],
];

const { mf, baseUrl, pids } = await startProfiledWorker({ skipBuild: values["skip-build"], log });
const scratch = mkdtempSync(path.join(tmpdir(), "native-profile-"));
try {
  const seconds = Number(values.seconds);
  if (!(seconds > 0)) throw new Error(`--seconds must be a positive number, not ${values.seconds}`);
  const names = [values.scenario, ...(values.against ? [values.against] : [])];
  const profiles = [];
  for (const name of names) profiles.push(await profileScenario(name, pids, seconds));
  report(profiles);
} finally {
  await mf.dispose();
  rmSync(scratch, { recursive: true, force: true });
}

/**
 * Seeds and warms the scenario as the bench does, then loads it for `seconds` under perf. A
 * delivery scenario (webhooks, webhooks-500) runs once as the bench runs it, and its figures are
 * per delivered event.
 */
async function profileScenario(name, pids, seconds) {
  const { default: scenario } = await import(`./scenarios/${name}.mjs`);
  const load = scenario.delivery
    ? undefined
    : (await warmedScenario(name, { mf, baseUrl, pids, seconds, warmup: 2, log })).load;
  const data = path.join(scratch, `${name}.data`);
  const perf = startPerf([
    "record",
    "-q",
    ...(values["call-graph"] ? ["--call-graph", values["call-graph"]] : []),
    "-F",
    String(FREQUENCY),
    "-p",
    pids.join(","),
    "-o",
    data,
  ]);
  // perf attaches within milliseconds; a sampler that already failed (no perf, no permission)
  // throws here, before any load.
  await Promise.race([perf.exited.then(perf.fail), new Promise((resolve) => setTimeout(resolve, 300))]);
  let requests;
  if (load) {
    const result = await load(seconds);
    requests = result.requests.total;
    log(
      `${name}: ${requests} requests, ${(requests / seconds).toFixed(0)}/s under perf, non-2xx ${result.non2xx}`,
    );
  } else {
    const run = await runDelivery({
      mf,
      baseUrl,
      pids,
      ticksPerSecond: clockTicksPerSecond(),
      delivery: scenario.delivery,
    });
    requests = run.delivered;
    log(
      `${name}: ${run.delivered} events delivered, ${run.deliveredPerSecond.toFixed(0)}/s under perf, p50 ${run.p50Ms} ms, ${run.cpuMsPerEvent?.toFixed(2)} ms CPU each, missing ${run.missing}`,
    );
  }
  perf.child.kill("SIGINT");
  await perf.exited;
  await waitForIdle(pids);
  if (values.keep) copyFileSync(data, values.keep);
  return { name, requests, samples: leafSamples(data) };
}

/**
 * Starts perf; `exited` settles when it ends, `fail` throws with its exit and what it printed
 * (perf's own errors are the useful part: missing binary, perf_event_paranoid, a dead pid).
 */
function startPerf(args) {
  const child = spawn("perf", args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise((resolve) => {
    child.once("error", (error) => resolve({ error }));
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  const fail = (outcome) => {
    throw new Error(
      `perf ${args[0]} ended before the load: ${outcome.error?.message ?? `exit ${outcome.code}`} ${stderr.trim()}`,
    );
  };
  return { child, exited, fail };
}

/** Samples per leaf function (`perf report` with no call graph: one line per dso and symbol). */
function leafSamples(data) {
  const out = execFileSync(
    "perf",
    ["report", "-i", data, "--no-children", "-g", "none", "-n", "--sort", "dso,sym", "--stdio"],
    { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, stdio: ["ignore", "pipe", "pipe"] },
  );
  const samples = new Map();
  for (const line of out.split("\n")) {
    const match = /^\s*[\d.]+%\s+(\d+)\s+(.+?)\s+\[[.k]\]\s+(.*)$/.exec(line);
    if (!match) continue;
    const [, count, dso, sym] = match;
    const key = `${dso}\t${sym.trim()}`;
    samples.set(key, (samples.get(key) ?? 0) + Number(count));
  }
  return samples;
}

/** µs of workerd CPU per request a sample count stands for. */
function perRequest(count, requests) {
  return (count / FREQUENCY / requests) * 1e6;
}

function partOf(key) {
  const [dso, sym] = key.split("\t");
  return PARTS.find(([, test]) => test(sym, dso))?.[0] ?? "other";
}

function report(profiles) {
  const header = profiles.map((profile) => profile.name.padStart(14)).join("");
  const diff = profiles.length === 2 ? "    difference" : "";
  console.log(`\nworkerd CPU per request (µs), by part\n${"part".padEnd(54)}${header}${diff}`);
  const parts = new Map();
  for (const [index, profile] of profiles.entries())
    for (const [key, count] of profile.samples) {
      const part = partOf(key);
      const row = parts.get(part) ?? profiles.map(() => 0);
      row[index] += perRequest(count, profile.requests);
      parts.set(part, row);
    }
  const total = profiles.map((_, index) => [...parts.values()].reduce((sum, row) => sum + row[index], 0));
  const line = (label, row) =>
    `${label.padEnd(54)}${row.map((value) => value.toFixed(1).padStart(14)).join("")}${
      row.length === 2 ? (row[0] - row[1]).toFixed(1).padStart(14) : ""
    }`;
  for (const [part, row] of [...parts].sort((a, b) => b[1][0] - a[1][0])) console.log(line(part, row));
  console.log(line("total", total));

  const top = Number(values.top);
  const keys = new Set(profiles.flatMap((profile) => [...profile.samples.keys()]));
  const rows = [...keys].map((key) => ({
    key,
    values: profiles.map((profile) => perRequest(profile.samples.get(key) ?? 0, profile.requests)),
  }));
  const weight = (row) => (row.values.length === 2 ? row.values[0] - row.values[1] : row.values[0]);
  rows.sort((a, b) => weight(b) - weight(a));
  console.log(
    `\ntop ${top} functions by ${profiles.length === 2 ? "difference" : "self time"} (µs per request)`,
  );
  for (const row of rows.slice(0, top)) console.log(line(row.key.split("\t")[1].slice(0, 52), row.values));
}
