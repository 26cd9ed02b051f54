import { accessSync, constants, readdirSync, readFileSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from "wrangler";

/** Secrets the Worker needs; bench-only values, never used anywhere else. */
export const BENCH_SECRETS = {
  JWT_SECRET: "bench-only-jwt-secret-0123456789abcdef0123456789",
  PLATFORM_ADMIN_TOKEN: "bench-only-platform-admin-token",
  STRIPE_WEBHOOK_SECRET: "whsec_bench_platform",
  STRIPE_CONNECT_WEBHOOK_SECRET: "whsec_bench_connect",
  STRIPE_CONNECT_CLIENT_ID: "ca_bench_client",
  // Enables the bench-only routes: `GET /__bench/bare` (answered before any routing) and
  // `POST /__bench/emit` (the real tenant-event path).
  BENCH_BARE_ROUTE: "1",
  // The webhook benchmark's receiver listens on 127.0.0.1.
  WEBHOOK_ALLOW_INSECURE_URLS: "true",
};

/**
 * Miniflare options for the bundled Worker, derived from wrangler.toml so that bindings added
 * there later (D1, KV, queues, Durable Objects, rate limits, vars, ...) are picked up as they are.
 * `assets: false` leaves out the static assets (the dashboard, /docs): with them Miniflare puts
 * its asset router in front of the Worker, a second Worker and an RPC hop on every request
 * (about 0.2 ms of workerd CPU here, four times a bare answer), which Cloudflare runs outside the
 * Worker in production. The benchmark measures the Worker without it; the browser tests keep it.
 */
export function workerOptionsFromWrangler({ root, scriptPath, bindings = {}, assets = true }) {
  const configPath = path.join(root, "wrangler.toml");
  // Quiet wrangler's "Using secrets defined in .dev.vars": those values are dropped below.
  const previousLogLevel = process.env.WRANGLER_LOG;
  process.env.WRANGLER_LOG = "warn";
  let config;
  let derived;
  try {
    config = unstable_readConfig({ config: configPath });
    derived = unstable_getMiniflareWorkerOptions(config).workerOptions;
  } finally {
    if (previousLogLevel === undefined) delete process.env.WRANGLER_LOG;
    else process.env.WRANGLER_LOG = previousLogLevel;
  }
  // modulesRules describe how to load unbundled imports; wrangler's bundle is one self-contained
  // ES module, and Miniflare 5's v4 adapter rejects the option, so it is left out.
  const { modulesRules: _rules, assets: assetOptions, ...workerOptions } = derived;
  // Wrangler merges a developer's `.dev.vars` into the bindings; keep only wrangler.toml's
  // [vars] so every machine benchmarks the same settings, then add the bench secrets.
  const vars = Object.fromEntries(
    Object.entries(workerOptions.bindings ?? {}).filter(([name]) => name in (config.vars ?? {})),
  );
  return {
    ...workerOptions,
    ...(assets && assetOptions ? { assets: assetOptions } : {}),
    name: config.name,
    modules: true,
    scriptPath,
    modulesRoot: path.dirname(scriptPath),
    bindings: { ...vars, ...BENCH_SECRETS, ...bindings },
  };
}

/** Linux's shared-memory tmpfs: a directory there never touches the disk. */
const MEMORY_ROOT = "/dev/shm";
/**
 * Free space the tmpfs must have to be used: a full run's state (50,000 customers, 100,000
 * subscriptions with their analytics, 20,000 keys, the delivery log) stays well under it, and a
 * container's default /dev/shm (64 MB) is far below it.
 */
const MEMORY_FREE_BYTES = 2 * 1024 ** 3;

/**
 * The directory Miniflare puts its per-instance state in (D1, KV, Durable Objects, the rate
 * limiter's and the queue broker's simulators). workerd writes that SQLite state from the same one
 * thread that runs every Worker, so on disk a run's figures for a path that writes (a rate-limit
 * report, a delivery's schedule and log) carry the disk's sync latency, which production does not
 * have (D1 and a Durable Object's storage do not block the Worker's thread) and which differs from
 * disk to disk. `memory` (the default) keeps it in tmpfs when the machine has one with room
 * enough, and otherwise falls back to `disk`, Miniflare's own default (the OS temp directory);
 * the results line names the directory used. Measured in one session: apikey-warm 0.54x and
 * 0.57x in memory against 0.41x and 0.48x on disk, webhooks-500 p50 306 ms against 996 ms.
 */
export function stateRoot(state) {
  if (state === "memory") {
    try {
      accessSync(MEMORY_ROOT, constants.W_OK);
      const { bavail, bsize } = statfsSync(MEMORY_ROOT);
      if (bavail * bsize >= MEMORY_FREE_BYTES) return MEMORY_ROOT;
    } catch {
      // No tmpfs here.
    }
  }
  return tmpdir();
}

/** Runs `create` with the OS temp directory pointed at `root` (Miniflare picks its own there). */
function withTempRoot(root, create) {
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = root;
  try {
    return create();
  } finally {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
  }
}

/**
 * Starts workerd through Miniflare with storage in Miniflare's per-instance temporary directory
 * under `stateRoot(state)` (deleted on dispose, so every run starts empty). `socket: "direct"`
 * (the default) serves the Worker on its own workerd socket at 127.0.0.1:<free port>, as
 * production has no proxy in front; `"entry"` goes through Miniflare's entry worker (what
 * `wrangler dev` serves: adds CF-Connecting-IP, `request.cf`, pretty errors), a second Worker
 * hop per request.
 * Resolves once workerd answers; `workerOptions` as `workerOptionsFromWrangler` returns them.
 */
export async function launchMiniflare(
  workerOptions,
  { socket = "direct", state = "memory", verbose = false, inspectorPort = undefined } = {},
) {
  const worker = { ...workerOptions };
  if (socket === "direct") worker.unsafeDirectSockets = [{ host: "127.0.0.1", port: 0 }];
  // Wrangler produces options in Miniflare's v4 shape; Miniflare 5 converts them (the dev
  // registry stays off: nothing else needs to discover this instance).
  const options = convertV4MiniflareOptions({
    host: "127.0.0.1",
    port: 0,
    logRequests: false,
    // Miniflare's placeholder `request.cf` instead of fetching the real one (no network here).
    cf: false,
    log: new Log(verbose ? LogLevel.DEBUG : LogLevel.WARN),
    // Only for bench/profile.mjs, which profiles every isolate over the DevTools protocol.
    ...(inspectorPort === undefined ? {} : { inspectorPort }),
    workers: [worker],
  });
  const mf = withTempRoot(stateRoot(state), () => new Miniflare(options));
  const url = socket === "direct" ? await mf.unsafeGetDirectURL(worker.name) : await mf.ready;
  return { mf, baseUrl: url.origin };
}

/** Reads wrangler.toml and starts the bundled Worker (see `launchMiniflare`). */
export async function startWorker({
  root,
  scriptPath,
  socket = "direct",
  state = "memory",
  verbose = false,
  bindings = {},
}) {
  const workerOptions = workerOptionsFromWrangler({ root, scriptPath, bindings, assets: false });
  const { mf, baseUrl } = await launchMiniflare(workerOptions, { socket, state, verbose });
  return { mf, baseUrl, workerOptions };
}

/** Splits drizzle migration files into statements (separated by `--> statement-breakpoint`). */
export function readMigrations(dir) {
  return readdirSync(dir)
    .filter((file) => file.endsWith(".sql"))
    .sort()
    .map((file) => ({
      name: file,
      statements: readFileSync(path.join(dir, file), "utf8")
        .split("--> statement-breakpoint")
        .map((sql) => sql.trim())
        .filter((sql) => sql.length > 0),
    }));
}

/** Applies every migration in order through the D1 binding; returns how many statements ran. */
export async function applyMigrations(mf, dir, binding = "DB") {
  const db = await mf.getD1Database(binding);
  let count = 0;
  for (const migration of readMigrations(dir)) {
    try {
      await db.batch(migration.statements.map((sql) => db.prepare(sql)));
    } catch (error) {
      throw new Error(`migration ${migration.name} failed: ${error.message}`, { cause: error });
    }
    count += migration.statements.length;
  }
  return count;
}
