#!/usr/bin/env node
// `npm run sync-plans [-- --dry-run] [--url http://localhost:8787] [--token <admin token>]`:
// makes the platform account's Stripe Products and Prices match the platform plans, through the
// operator API (`POST /api/v1/admin/plans/sync`), and prints what was done as a table.
// The token is `--token`, else PLATFORM_ADMIN_TOKEN from the environment, else from `.dev.vars`.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

const USAGE = `Usage: npm run sync-plans [-- --dry-run] [--url <base url>] [--token <admin token>]

  --dry-run       only read Stripe and show what a sync would do
  --url <url>     the API's base URL (default http://localhost:8787)
  --token <t>     the operator token (default: $PLATFORM_ADMIN_TOKEN, else PLATFORM_ADMIN_TOKEN in .dev.vars)`;

function fail(message) {
  console.error(message);
  process.exit(1);
}

let options;
try {
  ({ values: options } = parseArgs({
    options: {
      "dry-run": { type: "boolean", default: false },
      url: { type: "string", default: "http://localhost:8787" },
      token: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  }));
} catch (error) {
  fail(`${error.message}\n\n${USAGE}`);
}
if (options.help) {
  console.log(USAGE);
  process.exit(0);
}

/** `.dev.vars` as KEY=value lines (comments and blank lines skipped, surrounding quotes removed). */
function devVars() {
  const file = join(root, ".dev.vars");
  if (!existsSync(file)) return {};
  const vars = {};
  for (const line of readFileSync(file, "utf8").split(/\r?\n/)) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (match) vars[match[1]] = match[2].replace(/^(["'])(.*)\1$/, "$2");
  }
  return vars;
}

const token = options.token || process.env.PLATFORM_ADMIN_TOKEN || devVars().PLATFORM_ADMIN_TOKEN;
if (!token) {
  fail("No admin token: pass --token, or set PLATFORM_ADMIN_TOKEN in the environment or in .dev.vars");
}

let endpoint;
try {
  // Relative to the base URL, so a base with a path prefix keeps it.
  endpoint = new URL("api/v1/admin/plans/sync", options.url.endsWith("/") ? options.url : `${options.url}/`);
} catch {
  fail(`Not a URL: ${options.url}`);
}

const dryRun = options["dry-run"];
let res;
try {
  res = await fetch(endpoint, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ dry_run: dryRun }),
  });
} catch (error) {
  fail(
    `Could not reach ${endpoint.origin} (${error.cause?.code ?? error.message}). Is the API running (npm run dev)?`,
  );
}

const text = await res.text();
let body;
try {
  body = text ? JSON.parse(text) : {};
} catch {
  body = null;
}
if (!res.ok) {
  const message = body?.message ?? (text.slice(0, 500) || res.statusText);
  const code = body?.error ? ` ${body.error}` : "";
  fail(`Sync failed: HTTP ${res.status}${code}: ${message}`);
}
if (!body || !Array.isArray(body.actions) || !body.summary) {
  fail(`Unexpected answer from ${endpoint.href}: ${text.slice(0, 500)}`);
}

/** Rows as columns padded to their widest cell (the last column is not padded). */
function table(header, rows) {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i].length)));
  const line = (cells) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)].join("\n");
}

if (dryRun) console.log("Dry run: nothing was changed at Stripe or in the database.\n");
if (body.actions.length) {
  const rows = body.actions.map((action) => [
    action.plan_id,
    action.action,
    action.detail ?? "",
    action.stripe_product_id ?? "-",
    action.stripe_price_id ?? "-",
  ]);
  console.log(table(["plan", "action", "detail", "product", "price"], rows));
} else {
  console.log("No platform plans.");
}
const { created, updated, archived, unchanged } = body.summary;
console.log(
  `\n${dryRun ? "Dry run: " : ""}${created} created, ${updated} updated, ${archived} archived, ${unchanged} unchanged`,
);
