const COLUMNS = [
  { title: "scenario", align: "left", value: (r) => r.name },
  { title: "req/s", value: (r) => fixed(r.rps, 0) },
  { title: "vs bare", value: (r) => ratio(r.vsBare) },
  { title: "p50 ms", value: (r) => fixed(r.p50Ms, 2) },
  { title: "p99 ms", value: (r) => fixed(r.p99Ms, 2) },
  { title: "CPU ms/req", value: (r) => (r.cpuMsPerRequest === null ? "n/a" : fixed(r.cpuMsPerRequest, 3)) },
  { title: "non-2xx", value: (r) => String(r.non2xx) },
  { title: "errors", value: (r) => String(r.errors) },
  { title: "flag", align: "left", value: (r) => r.flag },
];

/** `1.00x`, `0.41x`; two significant digits below 0.1 so a slow route does not read as 0.00x. */
function ratio(value) {
  if (value === null || !Number.isFinite(value)) return "n/a";
  return `${value >= 0.1 ? value.toFixed(2) : value.toPrecision(2)}x`;
}

function fixed(value, digits) {
  return Number.isFinite(value) ? value.toFixed(digits) : "n/a";
}

/** A flag when anything but 2xx came back, or connections failed: such numbers are not comparable. */
export function flagFor(row) {
  if (row.non2xx === 0 && row.errors === 0) return "ok";
  const codes = Object.entries(row.statusCodes)
    .filter(([code]) => !code.startsWith("2"))
    .map(([code, count]) => `${code}x${count}`);
  if (row.errors > 0) codes.push(`errors x${row.errors}`);
  return `FLAGGED ${codes.join(" ")}`;
}

function cells(rows) {
  return rows.map((row) => COLUMNS.map((column) => column.value(row)));
}

/** Fixed-width text table for the terminal. */
export function textTable(rows) {
  const body = cells(rows);
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

/** GitHub-flavoured markdown table. */
export function markdownTable(rows) {
  const header = `| ${COLUMNS.map((column) => column.title).join(" | ")} |`;
  const rule = `| ${COLUMNS.map((column) => (column.align === "left" ? "---" : "---:")).join(" | ")} |`;
  const body = cells(rows).map((line) => `| ${line.join(" | ")} |`);
  return [header, rule, ...body].join("\n");
}

/** The markdown report: settings, table and how the numbers were measured. */
export function markdownReport(meta, rows) {
  return `# Benchmark: latest run

${meta.date} · commit \`${meta.commit}\`${meta.dirty ? " (uncommitted changes)" : ""} · Node ${meta.node} · ${meta.cpus} CPUs · ${meta.duration} s per scenario after a ${meta.warmup} s warm-up

${markdownTable(rows)}

- req/s: requests completed in the timed window / its length. "vs bare": req/s relative to \`bare\` of the same run.
- p50 / p99: latency of every response in the timed window, measured by the client (autocannon) over loopback.
- CPU ms/req: user + system CPU of the workerd process (from \`/proc/<pid>/stat\`, ${meta.clockTicks} ticks/s) from the start of the timed window until workerd is idle again (so requests still in flight at the end are included), divided by the requests sent in that window. Warm-up is excluded.
- Socket: ${meta.socket === "direct" ? "the Worker's own workerd socket on 127.0.0.1 (no Miniflare entry worker in front)" : "Miniflare's entry worker (as wrangler dev serves), one extra Worker hop per request"}.
- Connections: ${rows.map((row) => `${row.name} ${row.connections}`).join(", ")}. Client and workerd share the same ${meta.cpus} cores.
- Scenarios: ${rows.map((row) => `\`${row.name}\`: ${row.description}`).join("; ")}.
`;
}
