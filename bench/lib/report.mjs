// The run's report: one table (text for the terminal, Markdown for the README and results/), the
// machine it ran on, the bundle size and start-up time.
import { slicesFor } from "./options.mjs";
import { stateRoot } from "./worker.mjs";

const isNumber = (value) => typeof value === "number" && Number.isFinite(value);

/** `0.60x`; two significant digits below 0.1 so a slow route does not read as 0.00x. */
function ratio(value, suffix = "x") {
  if (!isNumber(value)) return "n/a";
  return `${value >= 0.1 ? value.toFixed(2) : value.toPrecision(2)}${suffix}`;
}

/** Three significant digits, grouped thousands: 18,500 · 184 · 2.47 · 0.0921. */
function num(value) {
  if (!isNumber(value)) return "n/a";
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString("en-US");
  return value.toPrecision(3).replace(/\.?0+$/, (tail) => (tail.startsWith(".") ? "" : tail));
}

const spread = (summary) => (summary.n > 1 ? `${ratio(summary.min, "")}–${ratio(summary.max, "")}` : "–");

/** The bare route's own spread: its lowest and highest req/s relative to its median (the machine's swing). */
function spreadCell(row) {
  if (row.kind !== "http") return "–";
  if (row.name !== "bare") return spread(row.vsBare);
  const { median, min, max, n } = row.rps;
  return spread({ min: min / median, max: max / median, n });
}

function extraCell(row) {
  if (row.kind === "delivery") {
    const stopped = row.stoppedShort.length > 0 ? ` · stopped short ${row.stoppedShort.join(", ")}` : "";
    const emit = `${num(row.delivery.events)} events to ${row.delivery.tenants} tenants, last emit answered after ${num(row.emitSeconds.median)} s (plan ${row.delivery.seconds} s)`;
    return `${emit} · max ${num(row.maxMs.median)} ms · missing ${row.missing} · doubled ${row.doubled}${stopped}`;
  }
  if (!row.extra) return "";
  const range =
    row.extra.n > 1 && row.extra.min !== row.extra.max
      ? ` (${num(row.extra.min)}–${num(row.extra.max)})`
      : "";
  return `${row.extra.title}: ${num(row.extra.median)}${range}`;
}

function flagCell(row) {
  if (row.error) return `NOT RUN: ${row.error}`;
  const notes = [...row.failedRuns.map((run) => `r${run.round} failed: ${run.error}`)];
  if (row.kind === "delivery") {
    if (row.missing > 0 || row.doubled > 0 || row.emitErrors > 0) notes.unshift("FLAGGED");
    if (row.emitErrors > 0) notes.push(`emit errors ${row.emitErrors}`);
  } else if (row.flagged.length > 0) {
    notes.unshift(`FLAGGED ${row.flagged.join("; ")}`);
  }
  return notes.length > 0 ? notes.join(" ") : "ok";
}

const COLUMNS = [
  { title: "scenario", align: "left", always: true, value: (row) => row.name },
  { title: "vs bare", value: (row) => (row.kind === "http" ? ratio(row.vsBare.median) : "–") },
  { title: "spread", value: spreadCell },
  {
    title: "rate/s",
    value: (row) => num(row.kind === "http" ? row.rps.median : row.deliveredPerSecond.median),
  },
  { title: "p50 ms", value: (row) => num(row.p50Ms.median) },
  { title: "p99 ms", value: (row) => num(row.p99Ms.median) },
  {
    title: "CPU ms",
    value: (row) => num(row.kind === "http" ? row.cpuMsPerRequest.median : row.cpuMsPerEvent.median),
  },
  { title: "CPU vs bare", value: (row) => ratio(row.cpuVsBare.median) },
  {
    title: "others",
    value: (row) => (isNumber(row.otherCores.median) ? row.otherCores.median.toFixed(2) : "n/a"),
  },
  { title: "extra", align: "left", value: extraCell },
  { title: "flag", align: "left", always: true, value: flagCell },
];

/** A scenario that could not run shows only its name, description and why. */
function cells(rows, columns) {
  return rows.map((row) => columns.map((column) => (row.error && !column.always ? "" : column.value(row))));
}

/** Fixed-width text table for the terminal: one row per scenario, medians over the runs. */
export function textTable(rows) {
  const body = cells(rows, COLUMNS);
  const widths = COLUMNS.map((column, i) =>
    Math.max(column.title.length, ...body.map((line) => line[i].length)),
  );
  const render = (line) =>
    line
      .map((cell, i) => (COLUMNS[i].align === "left" ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join("  ")
      .trimEnd();
  const header = render(COLUMNS.map((column) => column.title));
  return [header, "-".repeat(header.length), ...body.map(render)].join("\n");
}

/** GitHub-flavoured Markdown table, with the scenario's description after its name. */
export function markdownTable(rows) {
  const columns = [
    COLUMNS[0],
    { title: "what it does", align: "left", always: true, value: (row) => row.description ?? "" },
    ...COLUMNS.slice(1),
  ];
  const escapePipes = (text) => text.replaceAll("|", "\\|");
  const header = `| ${columns.map((column) => column.title).join(" | ")} |`;
  const rule = `| ${columns.map((column) => (column.align === "left" ? "---" : "---:")).join(" | ")} |`;
  const body = cells(rows, columns).map((line) => `| ${line.map(escapePipes).join(" | ")} |`);
  return [header, rule, ...body].join("\n");
}

const kib = (bytes) => `${Math.round(bytes / 1024).toLocaleString("en-US")} KiB`;

/** One line on the bundle: raw and gzip size of the upload, against the 1 MB gzip goal. */
export function bundleLine(bundle) {
  if (!bundle) return "Bundle: not measured.";
  const goal = bundle.withinGoal ? "under" : "OVER";
  return `Bundle (\`wrangler deploy --dry-run\` output, source maps excluded): ${kib(bundle.rawBytes)} raw, **${kib(bundle.gzipBytes)} gzip**, ${goal} the 1 MB gzip goal.`;
}

/** One line on start-up: fresh instances next to the empty Worker, and wrangler's profile figure. */
export function startupLine(startup) {
  if (!startup) return "Start-up: not measured (--startups 0).";
  const { worker, emptyWorker, starts, wrangler } = startup;
  const profile = wrangler?.error
    ? `wrangler check startup failed: ${wrangler.error}`
    : `\`wrangler check startup\`: ${num(wrangler.activeMs)} ms of CPU active in the start-up phase (median of ${wrangler.runs})`;
  return `Start-up (median of ${starts} fresh Miniflare instances): ${num(worker.readyMs)} ms to ready, then ${num(worker.firstResponseMs)} ms to the first \`GET /health\` answer; an empty Worker with the same bindings: ${num(emptyWorker.readyMs)} ms and ${num(emptyWorker.firstResponseMs)} ms. ${profile}.`;
}

/** One line on the machine and software, so a reader knows which runs are comparable. */
export function machineLine(machine, options) {
  return `${machine.date.slice(0, 10)} · commit \`${machine.commit}\`${machine.dirty ? " (Worker sources changed)" : ""} · ${machine.cpuModel}, ${machine.cores} cores · Node ${machine.node} · workerd ${machine.workerd} · ${options.runs} rounds; per HTTP run ${options.warmup} s warm-up, then ${options.duration} s in ${slicesFor(options)} windows alternating with the bare route · ${options.socket} socket · Miniflare state in ${stateRoot(options.state)}`;
}

function busyLine(rows) {
  const others = rows
    .filter((row) => !row.error)
    .map((row) => row.otherCores.median)
    .filter(isNumber);
  if (others.length === 0) return "";
  const worst = Math.max(...others);
  return ` Other processes used up to ${worst.toFixed(2)} cores during the measured windows (median per scenario)${worst > 0.2 ? ": the machine was not idle, so trust the spreads more than the medians" : ""}.`;
}

const formatSeconds = (seconds) => `${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)} s`;

/** How to read the table: one paragraph, shared by the README and results/latest.md. */
export function howToRead(options) {
  return `How to read it: every scenario ran ${options.runs} times, in ${options.runs} interleaved rounds, and each of its runs was measured together with the bare route, in alternating windows of ${formatSeconds(options.duration / slicesFor(options))} (bare, scenario, scenario, bare, …), so whatever else the machine did weighed on both alike; **vs bare** is the scenario's requests/s divided by the bare route's over those windows, and the table shows the median of those ratios and their **spread** (lowest–highest). A narrow spread means the ratio can be trusted on this machine; two runs, or two machines, differ only where their spreads do not overlap. The bare row's spread is its own requests/s, lowest and highest, relative to its median: how much the machine itself swung during the run. Ratios travel between machines (the load generator and workerd share the cores either way), absolute figures do not: rate/s, latencies and CPU ms are medians for this machine only; **CPU vs bare** divides a scenario's workerd CPU per request (delivery rows: per delivered event) by that of its bare run. **others** is how many cores other processes used during the scenario's measured windows (median): on a shared machine that is the first thing to check, because contention slows the heavier routes more than the bare one (apikey-warm went from 0.53x with others at 0.05 cores to 0.22x with others at 1.2 cores in the same process), so ratios measured while others were busy are lower and are comparable only with runs under similar load. Delivery rows: rate/s is delivered events/s (the emit rate while delivery keeps up, its capacity when it does not), p50/p99 are emit→receipt latencies.`;
}

/**
 * The Markdown block for the README (between the bench markers) and results/latest.md: the
 * machine line, the table, how to read it, bundle size and start-up time.
 */
export function markdownSection({ machine, options, rows, bundle, startup }) {
  return [
    `Latest run: ${machineLine(machine, options)}. The bare route answered ${num(rows.find((row) => row.name === "bare")?.rps?.median)} requests/s on this machine (median).`,
    "",
    markdownTable(rows),
    "",
    howToRead(options) + busyLine(rows),
    "",
    `${bundleLine(bundle)} ${startupLine(startup)}`,
    "",
    "Regenerated by `npm run bench`; what the scenarios measure and what the figures have shown so far: [bench/README.md](bench/README.md).",
  ].join("\n");
}
