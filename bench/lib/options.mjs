// Command-line options of `npm run bench`.
import { parseArgs } from "node:util";

/** Usage text; `scenarios` are the registered scenario modules. */
export function usage(scenarios) {
  const names = scenarios.map((scenario) => scenario.name).join(", ");
  return `Usage: npm run bench -- [options]
  --runs N              rounds: every selected scenario runs once per round, each HTTP one in
                        alternating windows with the bare route, its reference (default 3)
  --duration N          seconds of measured load per HTTP scenario and run (default 6)
  --slices N            windows per side of an HTTP run: bare and scenario alternate N times,
                        --duration / N s each (default 2: windows of 3 s; at most --duration)
  --warmup N            seconds of unmeasured load before each HTTP run (default 1)
  --connections N       concurrent connections for every HTTP scenario (default: the scenario's own, else 32)
  --only a,b            only these scenarios (bare always runs: it is the reference)
                        scenarios: ${names}
  --delivery-timeout N  seconds a delivery scenario waits after its last emit (default 60)
  --settle N            before each run, wait up to N s for other processes to use under a quarter
                        of a core (default 10; 0 does not wait; after 3 waits in a row ran out,
                        the run stops waiting)
  --startups N          fresh Worker starts timed for the start-up figure, and wrangler check startup
                        runs (default 5; 0 skips start-up measurement)
  --readme, --no-readme write the table into README.md between the bench markers (default: only
                        when every scenario ran)
  --socket S            direct (default): the Worker's own workerd socket; entry: through Miniflare's
                        entry worker, as wrangler dev serves it (one more Worker hop per request)
  --state S             memory (default): Miniflare's state (D1, KV, Durable Objects, simulators) in
                        tmpfs (/dev/shm); disk: in the OS temp directory, where workerd's SQLite
                        writes wait on the disk (see stateRoot in bench/lib/worker.mjs)
  --skip-build          reuse bench/.build from an earlier run
  --verbose             Miniflare debug logs
  --help`;
}

/**
 * Parses argv into the run's settings; throws with a message (exit 2) on a bad flag or an unknown
 * scenario name. `scenarios` are the registered modules; the `bare` one is always selected.
 */
export function parseOptions(scenarios, args = process.argv.slice(2)) {
  const { values } = parseArgs({
    args,
    allowNegative: true,
    options: {
      runs: { type: "string", default: "3" },
      duration: { type: "string", default: "6" },
      warmup: { type: "string", default: "1" },
      slices: { type: "string", default: "2" },
      connections: { type: "string" },
      only: { type: "string" },
      "delivery-timeout": { type: "string", default: "60" },
      startups: { type: "string", default: "5" },
      settle: { type: "string", default: "10" },
      readme: { type: "boolean" },
      socket: { type: "string", default: "direct" },
      state: { type: "string", default: "memory" },
      "skip-build": { type: "boolean", default: false },
      verbose: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  const number = (name, min, { integer = false } = {}) => {
    const value = Number(values[name]);
    if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
      throw new Error(`--${name} must be ${integer ? "an integer" : "a number"} >= ${min}`);
    }
    return value;
  };
  const only = values.only
    ?.split(",")
    .map((name) => name.trim())
    .filter(Boolean);
  const unknown = only?.filter((name) => !scenarios.some((scenario) => scenario.name === name)) ?? [];
  if (unknown.length > 0) throw new Error(`unknown scenario(s): ${unknown.join(", ")}`);
  if (!["direct", "entry"].includes(values.socket)) throw new Error("--socket must be direct or entry");
  if (!["memory", "disk"].includes(values.state)) throw new Error("--state must be memory or disk");
  const selected = only
    ? scenarios.filter((scenario) => scenario.name === "bare" || only.includes(scenario.name))
    : scenarios;
  return {
    help: values.help,
    runs: number("runs", 1, { integer: true }),
    duration: number("duration", 1),
    warmup: number("warmup", 0),
    slices: number("slices", 1, { integer: true }),
    connections: values.connections === undefined ? undefined : number("connections", 1, { integer: true }),
    deliveryTimeout: number("delivery-timeout", 1),
    startups: number("startups", 0, { integer: true }),
    settle: number("settle", 0),
    scenarios: selected,
    complete: selected.length === scenarios.length,
    readme: values.readme,
    socket: values.socket,
    state: values.state,
    skipBuild: values["skip-build"],
    verbose: values.verbose,
  };
}

/** Alternating windows per side of a paired run: --slices, but none shorter than a second. */
export const slicesFor = (options) => Math.max(1, Math.min(options.slices, Math.floor(options.duration)));
