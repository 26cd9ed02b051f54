// A local webhook receiver for tests and benchmarks: records every request to /hooks/<name> and answers it
// as that name's configured behaviour says (status, body, headers, delay, hang). See README.md.
// Runs under Node 22 directly (type stripping): erasable TypeScript only, Node built-ins only.
import { realpathSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

export interface ReceiverOptions {
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** Recorded requests kept in all names together; the oldest are dropped beyond it. Default 100,000. */
  maxRecorded?: number;
  /** Approximate bytes of recorded requests kept in all; the oldest are dropped beyond it. Default 256 MiB. */
  maxRecordedBytes?: number;
  /** Largest request body accepted, in bytes; larger gets 413. Default 1 MiB. */
  maxBodyBytes?: number;
}

export interface ReceiverHandle {
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:12112; hooks go to `${url}/hooks/<name>`. */
  url: string;
  close(): Promise<void>;
}

export interface RecordedRequest {
  method: string;
  /** The request target as sent, query string included, e.g. /hooks/t1?x=1. */
  path: string;
  /** All headers, names lower-cased; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** The raw body, decoded as UTF-8. */
  body: string;
  /** When the request arrived (ms since the epoch). */
  received_at: number;
}

export interface Step {
  status: number;
  /** Absent: "OK" for 2xx, "error" otherwise. */
  body?: string;
  headers: Record<string, string>;
  delay_ms: number;
  hang: boolean;
}

export interface Behaviour {
  /** Steps not yet consumed, one per request, in order. */
  script: Step[];
  /** What every request gets once the script is used up. */
  then: Step;
}

export interface Stats {
  /** Requests received since the name was last cleared (dropped recordings still count). */
  count: number;
  distinct_ids: number;
  /** Requests whose id had been seen before. */
  duplicates: number;
  /** Requests with neither a top-level body `id` nor a `webhook-id` header. */
  without_id: number;
  /** Recordings currently kept for the name. */
  recorded: number;
  first_received_at: number | null;
  last_received_at: number | null;
  /** True when the distinct-id tracking budget ran out: distinct_ids and duplicates are then lower bounds. */
  ids_capped?: true;
}

const DEFAULT_MAX_RECORDED = 100_000;
const DEFAULT_MAX_RECORDED_BYTES = 256 * 1024 * 1024;
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** Distinct ids remembered in all names together (for stats). */
const MAX_TRACKED_IDS = 2_000_000;
const MAX_DELAY_MS = 10 * 60 * 1000;
const MAX_WAIT_MS = 60_000;
/** Idle keep-alive connections are kept this long (above typical client pool timeouts). */
const KEEP_ALIVE_MS = 65_000;

const DEFAULT_STEP: Step = { status: 200, headers: {}, delay_ms: 0, hang: false };

/** A FIFO queue with O(1) shift. */
class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(value: T): void {
    this.items.push(value);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const value = this.items[this.head];
    this.items[this.head] = undefined;
    this.head++;
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return value;
  }

  values(): T[] {
    return this.items.slice(this.head) as T[];
  }

  retain(keep: (value: T) => boolean): void {
    this.items = this.values().filter(keep);
    this.head = 0;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

interface Kept {
  request: RecordedRequest;
  size: number;
}

/** Recordings and counters of one name. */
interface Bucket {
  dead: boolean;
  kept: Fifo<Kept>;
  count: number;
  ids: Set<string>;
  duplicates: number;
  withoutId: number;
  first: number | null;
  last: number | null;
  idsCapped: boolean;
}

interface Scripted {
  script: Step[];
  next: number;
  /** The behaviour's "then" step. */
  after: Step;
}

/** The wire form of a behaviour. */
function behaviourJson(script: Step[], after: Step): Behaviour {
  // biome-ignore lint/suspicious/noThenProperty: the behaviour JSON names the step after the script "then".
  return { script, then: after };
}

interface Waiter {
  min: number;
  wake: () => void;
}

class BadRequest extends Error {}

function newBucket(): Bucket {
  return {
    dead: false,
    kept: new Fifo<Kept>(),
    count: 0,
    ids: new Set(),
    duplicates: 0,
    withoutId: 0,
    first: null,
    last: null,
    idsCapped: false,
  };
}

/** The webhook id of a request: the JSON body's top-level `id`, else the `webhook-id` header. */
function webhookId(body: string, headers: Record<string, string>): string | null {
  if (body.trimStart().startsWith("{")) {
    try {
      const parsed: unknown = JSON.parse(body);
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
        const id = (parsed as Record<string, unknown>).id;
        if (typeof id === "string" || typeof id === "number") return String(id);
      }
    } catch {
      // Not JSON: fall back to the header.
    }
  }
  return headers["webhook-id"] ?? null;
}

function lowerCasedHeaders(raw: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    const seen = headers[name];
    headers[name] = seen === undefined ? value : `${seen}, ${value}`;
  }
  return headers;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const STEP_KEYS = new Set(["status", "body", "headers", "delay_ms", "hang"]);

function parseStep(value: unknown, where: string): Step {
  if (!isObject(value)) throw new BadRequest(`${where} must be an object`);
  for (const key of Object.keys(value)) {
    if (!STEP_KEYS.has(key)) {
      throw new BadRequest(`${where}.${key} is not a step field (status, body, headers, delay_ms, hang)`);
    }
  }
  const step: Step = { status: 200, headers: {}, delay_ms: 0, hang: false };
  if (value.status !== undefined) {
    const status = value.status;
    if (typeof status !== "number" || !Number.isInteger(status) || status < 200 || status > 599) {
      throw new BadRequest(`${where}.status must be an integer from 200 to 599`);
    }
    step.status = status;
  }
  if (value.body !== undefined) {
    if (typeof value.body !== "string") throw new BadRequest(`${where}.body must be a string`);
    step.body = value.body;
  }
  if (value.headers !== undefined) {
    if (!isObject(value.headers)) throw new BadRequest(`${where}.headers must be an object`);
    for (const [name, raw] of Object.entries(value.headers)) {
      if (typeof raw !== "string" && typeof raw !== "number") {
        throw new BadRequest(`${where}.headers.${name} must be a string`);
      }
      const header = String(raw);
      try {
        http.validateHeaderName(name);
        http.validateHeaderValue(name, header);
      } catch (err) {
        throw new BadRequest(`${where}.headers.${name}: ${(err as Error).message}`);
      }
      step.headers[name] = header;
    }
  }
  if (value.delay_ms !== undefined) {
    const delay = value.delay_ms;
    if (typeof delay !== "number" || !Number.isFinite(delay) || delay < 0 || delay > MAX_DELAY_MS) {
      throw new BadRequest(`${where}.delay_ms must be a number from 0 to ${MAX_DELAY_MS}`);
    }
    step.delay_ms = delay;
  }
  if (value.hang !== undefined) {
    if (typeof value.hang !== "boolean") throw new BadRequest(`${where}.hang must be a boolean`);
    step.hang = value.hang;
  }
  return step;
}

function parseBehaviour(text: string): Scripted {
  let value: unknown;
  try {
    value = text.trim() === "" ? {} : JSON.parse(text);
  } catch {
    throw new BadRequest("body must be JSON");
  }
  if (!isObject(value)) throw new BadRequest("body must be a JSON object");
  for (const key of Object.keys(value)) {
    if (key !== "script" && key !== "then")
      throw new BadRequest(`${key} is not a behaviour field (script, then)`);
  }
  if (value.script !== undefined && !Array.isArray(value.script))
    throw new BadRequest("script must be an array");
  const script = ((value.script as unknown[] | undefined) ?? []).map((step, i) =>
    parseStep(step, `script[${i}]`),
  );
  const after = value.then === undefined ? { ...DEFAULT_STEP } : parseStep(value.then, "then");
  return { script, next: 0, after };
}

function decodeName(segment: string | undefined): string {
  if (!segment) throw new BadRequest("missing name");
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new BadRequest("name is not valid percent-encoding");
  }
}

class TooLarge extends Error {}

/** Reads the whole body; rejects with TooLarge beyond `limit` bytes, or with the stream's error if the client goes away. */
function readBody(req: http.IncomingMessage, limit: number): Promise<{ text: string; bytes: number }> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new TooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let done = false;
    const finish = (err: Error | null) => {
      if (done) return;
      done = true;
      if (err) reject(err);
      else resolve({ text: Buffer.concat(chunks).toString("utf8"), bytes });
    };
    req.on("data", (chunk: Buffer) => {
      if (done) return;
      bytes += chunk.length;
      if (bytes > limit) {
        chunks.length = 0;
        req.pause();
        finish(new TooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => finish(null));
    req.on("error", (err) => finish(err));
    req.on("close", () => finish(new Error("client closed the connection before the body ended")));
  });
}

function sendJson(
  res: http.ServerResponse,
  status: number,
  value: unknown,
  extraHeaders: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify(value);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(body),
    ...extraHeaders,
  });
  res.end(body);
}

/** Starts the receiver; resolves once it is listening. */
export async function startReceiver(options: ReceiverOptions = {}): Promise<ReceiverHandle> {
  const host = options.host ?? "127.0.0.1";
  const maxRecorded = options.maxRecorded ?? DEFAULT_MAX_RECORDED;
  const maxRecordedBytes = options.maxRecordedBytes ?? DEFAULT_MAX_RECORDED_BYTES;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  let buckets = new Map<string, Bucket>();
  let behaviours = new Map<string, Scripted>();
  /** One entry per kept recording, oldest first, naming its bucket (entries of cleared buckets are skipped). */
  let order = new Fifo<Bucket>();
  let keptCount = 0;
  let keptBytes = 0;
  let trackedIds = 0;
  const waiters = new Map<string, Set<Waiter>>();
  const timers = new Set<NodeJS.Timeout>();

  const bucketOf = (name: string): Bucket => {
    let bucket = buckets.get(name);
    if (!bucket) {
      bucket = newBucket();
      buckets.set(name, bucket);
    }
    return bucket;
  };

  const dropBucket = (bucket: Bucket) => {
    bucket.dead = true;
    for (const kept of bucket.kept.values()) keptBytes -= kept.size;
    keptCount -= bucket.kept.length;
    trackedIds -= bucket.ids.size;
    bucket.kept.clear();
    bucket.ids.clear();
    // Entries of dead buckets are skipped on eviction; compact when they pile up.
    if (order.length > 2 * keptCount + 1024) order.retain((b) => !b.dead);
  };

  const evictOldest = () => {
    for (;;) {
      const bucket = order.shift();
      if (!bucket) return;
      if (bucket.dead) continue;
      const kept = bucket.kept.shift();
      if (!kept) continue;
      keptCount--;
      keptBytes -= kept.size;
      return;
    }
  };

  const record = (name: string, request: RecordedRequest, bodyBytes: number) => {
    const bucket = bucketOf(name);
    let size = bodyBytes + request.path.length + 128;
    for (const [k, v] of Object.entries(request.headers)) size += k.length + v.length + 16;
    bucket.kept.push({ request, size });
    order.push(bucket);
    keptCount++;
    keptBytes += size;
    while (keptCount > maxRecorded || (keptBytes > maxRecordedBytes && keptCount > 1)) evictOldest();

    bucket.count++;
    bucket.first ??= request.received_at;
    bucket.last = request.received_at;
    const id = webhookId(request.body, request.headers);
    if (id === null) {
      bucket.withoutId++;
    } else {
      if (bucket.ids.has(id)) {
        bucket.duplicates++;
      } else {
        if (trackedIds < MAX_TRACKED_IDS) {
          bucket.ids.add(id);
          trackedIds++;
        } else {
          bucket.idsCapped = true;
        }
      }
    }

    const waiting = waiters.get(name);
    if (waiting) {
      for (const waiter of waiting) if (bucket.kept.length >= waiter.min) waiter.wake();
    }
  };

  const statsOf = (name: string): Stats => {
    const bucket = buckets.get(name) ?? newBucket();
    const stats: Stats = {
      count: bucket.count,
      distinct_ids: bucket.ids.size,
      duplicates: bucket.duplicates,
      without_id: bucket.withoutId,
      recorded: bucket.kept.length,
      first_received_at: bucket.first,
      last_received_at: bucket.last,
    };
    if (bucket.idsCapped) stats.ids_capped = true;
    return stats;
  };

  const requestsOf = (name: string): RecordedRequest[] =>
    (buckets.get(name)?.kept.values() ?? []).map((kept) => kept.request);

  const nextStep = (name: string): Step => {
    const scripted = behaviours.get(name);
    if (!scripted) return DEFAULT_STEP;
    const step = scripted.script[scripted.next];
    if (step) {
      scripted.next++;
      return step;
    }
    return scripted.after;
  };

  const later = (ms: number, res: http.ServerResponse, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
    res.once("close", () => {
      clearTimeout(timer);
      timers.delete(timer);
    });
  };

  const answer = (res: http.ServerResponse, step: Step) => {
    // A hanging request is answered never: the client closes it (or close() does).
    if (step.hang) return;
    const send = () => {
      if (res.headersSent || res.destroyed) return;
      const body = step.body ?? (step.status >= 200 && step.status < 300 ? "OK" : "error");
      const headers: Record<string, string | number> = { ...step.headers };
      const names = Object.keys(headers).map((h) => h.toLowerCase());
      if (!names.includes("content-type")) headers["Content-Type"] = "text/plain; charset=utf-8";
      if (!names.includes("content-length")) headers["Content-Length"] = Buffer.byteLength(body);
      res.writeHead(step.status, headers);
      res.end(body);
    };
    if (step.delay_ms > 0) later(step.delay_ms, res, send);
    else send();
  };

  const handleHook = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    name: string,
    receivedAt: number,
  ) => {
    const { text, bytes } = await readBody(req, maxBodyBytes);
    record(
      name,
      {
        method: req.method ?? "GET",
        path: req.url ?? "/",
        headers: lowerCasedHeaders(req.rawHeaders),
        body: text,
        received_at: receivedAt,
      },
      bytes,
    );
    answer(res, nextStep(name));
  };

  const waitForRequests = (name: string, min: number, timeoutMs: number, res: http.ServerResponse) => {
    const bucket = buckets.get(name);
    if ((bucket?.kept.length ?? 0) >= min || timeoutMs <= 0) {
      sendJson(res, 200, requestsOf(name));
      return;
    }
    let set = waiters.get(name);
    if (!set) {
      set = new Set();
      waiters.set(name, set);
    }
    const waiter: Waiter = {
      min,
      wake: () => {
        set.delete(waiter);
        if (set.size === 0 && waiters.get(name) === set) waiters.delete(name);
        sendJson(res, 200, requestsOf(name));
      },
    };
    set.add(waiter);
    later(timeoutMs, res, waiter.wake);
    res.once("close", () => {
      set.delete(waiter);
      if (set.size === 0 && waiters.get(name) === set) waiters.delete(name);
    });
  };

  const handleControl = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    segs: string[],
    query: URLSearchParams,
  ) => {
    const method = req.method ?? "GET";
    const [what, rawName, extra] = segs;
    const { text } = await readBody(req, maxBodyBytes);

    if (what === "health" && segs.length === 1 && method === "GET") {
      sendJson(res, 200, { ok: true });
      return;
    }
    if (what === "reset" && segs.length === 1 && method === "POST") {
      for (const bucket of buckets.values()) bucket.dead = true;
      buckets = new Map();
      behaviours = new Map();
      order = new Fifo();
      keptCount = 0;
      keptBytes = 0;
      trackedIds = 0;
      sendJson(res, 200, { ok: true });
      return;
    }
    if (segs.length === 1 && method === "DELETE") {
      const name = decodeName(what);
      const bucket = buckets.get(name);
      if (bucket) {
        dropBucket(bucket);
        buckets.delete(name);
      }
      behaviours.delete(name);
      sendJson(res, 200, { ok: true });
      return;
    }
    if (segs.length !== 2 || extra !== undefined) {
      sendJson(res, 404, { error: "not found" });
      return;
    }
    const name = decodeName(rawName);
    if (what === "behaviour") {
      if (method === "PUT") {
        const scripted = parseBehaviour(text);
        behaviours.set(name, scripted);
        sendJson(res, 200, { ok: true, behaviour: behaviourJson(scripted.script, scripted.after) });
        return;
      }
      if (method === "GET") {
        const scripted = behaviours.get(name);
        sendJson(
          res,
          200,
          scripted
            ? behaviourJson(scripted.script.slice(scripted.next), scripted.after)
            : behaviourJson([], DEFAULT_STEP),
        );
        return;
      }
      if (method === "DELETE") {
        behaviours.delete(name);
        sendJson(res, 200, { ok: true });
        return;
      }
    }
    if (what === "requests" && method === "GET") {
      const min = Number(query.get("min") ?? 0);
      const timeoutMs = Math.min(Number(query.get("timeout_ms") ?? 10_000), MAX_WAIT_MS);
      if (!Number.isInteger(min) || min < 0 || !Number.isFinite(timeoutMs)) {
        throw new BadRequest("min must be a non-negative integer and timeout_ms a number");
      }
      waitForRequests(name, min, min > 0 ? timeoutMs : 0, res);
      return;
    }
    if (what === "stats" && method === "GET") {
      sendJson(res, 200, statsOf(name));
      return;
    }
    sendJson(res, 404, { error: "not found" });
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const receivedAt = Date.now();
    const target = req.url ?? "/";
    const queryAt = target.indexOf("?");
    const pathname = queryAt === -1 ? target : target.slice(0, queryAt);
    const query = new URLSearchParams(queryAt === -1 ? "" : target.slice(queryAt + 1));
    const segs = pathname.split("/").slice(1);
    if (segs.length > 1 && segs[segs.length - 1] === "") segs.pop();
    const [root, ...rest] = segs;
    if (root === "hooks") {
      await handleHook(req, res, decodeName(rest[0]), receivedAt);
    } else if (root === "__receiver") {
      await handleControl(req, res, rest, query);
    } else {
      sendJson(res, 404, { error: "not found: hooks go to /hooks/<name>" });
    }
  };

  const server = http.createServer((req, res) => {
    res.on("error", () => {});
    handle(req, res).catch((err: unknown) => {
      if (err instanceof TooLarge) {
        // The rest of the body is left unread, so the connection cannot be reused.
        sendJson(res, 413, { error: `body larger than ${maxBodyBytes} bytes` }, { Connection: "close" });
        return;
      }
      if (err instanceof BadRequest) {
        sendJson(res, 400, { error: err.message });
        return;
      }
      // The client went away mid-body, or a bug: answer if we still can.
      if (!req.complete || res.destroyed) return;
      sendJson(res, 500, { error: String(err) });
    });
  });
  server.keepAliveTimeout = KEEP_ALIVE_MS;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(":") ? `[${host}]` : host === "0.0.0.0" ? "127.0.0.1" : host;

  let closing: Promise<void> | null = null;
  return {
    url: `http://${urlHost}:${port}`,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        waiters.clear();
        server.close((err) => (err ? reject(err) : resolve()));
        // Hanging and delayed requests and idle keep-alive connections would otherwise hold close() open.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

async function main() {
  const { values } = parseArgs({
    options: { port: { type: "string" }, host: { type: "string" } },
  });
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad --port: ${values.port}`);
  const receiver = await startReceiver({ port, host: values.host ?? "127.0.0.1" });
  console.log(`webhook receiver listening on ${receiver.url} (hooks: ${receiver.url}/hooks/<name>)`);
  const stop = () => {
    receiver.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
