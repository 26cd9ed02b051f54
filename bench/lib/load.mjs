import autocannon from "autocannon";
import { cpuTicks, cpuWindow } from "./cpu.mjs";

/** Autocannon options for one scenario: its request description plus the harness settings. */
export function autocannonOptions(baseUrl, request, { duration, connections }) {
  const { path = "/", body, headers = {}, ...rest } = request;
  const options = {
    ...rest,
    url: new URL(path, baseUrl).href,
    duration,
    connections,
    headers: { ...headers },
  };
  if (body !== undefined) {
    if (typeof body === "string" || Buffer.isBuffer(body)) {
      options.body = body;
    } else {
      options.body = JSON.stringify(body);
      if (!Object.keys(options.headers).some((name) => name.toLowerCase() === "content-type")) {
        options.headers["content-type"] = "application/json";
      }
    }
  }
  return options;
}

/**
 * Sends the scenario's request once with fetch and throws unless it answers 2xx, so a broken
 * scenario fails loudly before any load (only for single-request scenarios, not `requests` arrays).
 */
export async function preflight(options) {
  if (options.requests) return undefined;
  const method = options.method ?? "GET";
  const response = await fetch(options.url, { method, headers: options.headers, body: options.body });
  const text = await response.text();
  if (response.status < 200 || response.status >= 300) {
    throw new Error(`preflight ${method} ${options.url} answered ${response.status}: ${text.slice(0, 300)}`);
  }
  return response.status;
}

/** Runs autocannon; `onResponse(statusCode, responseTimeMs)` sees every response. */
export function runAutocannon(options, onResponse) {
  return new Promise((resolve, reject) => {
    const instance = autocannon(options, (error, result) => (error ? reject(error) : resolve(result)));
    if (onResponse) {
      instance.on("response", (_client, statusCode, _bytes, responseTime) =>
        onResponse(statusCode, responseTime),
      );
    }
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until workerd stops using CPU (requests still in flight when autocannon stopped, queue
 * batches they triggered), so each scenario's CPU window holds all of its own work and nothing of
 * the previous phase. Gives up after `maxMs`.
 */
export async function waitForIdle(pids, { intervalMs = 100, quietSamples = 3, maxMs = 3000 } = {}) {
  if (pids.length === 0) return;
  const deadline = Date.now() + maxMs;
  let last = cpuTicks(pids);
  let quiet = 0;
  while (Date.now() < deadline && quiet < quietSamples) {
    await sleep(intervalMs);
    const now = cpuTicks(pids);
    quiet = now - last <= 1 ? quiet + 1 : 0;
    last = now;
  }
}

/**
 * On a shared machine, waits (at most `maxMs`) until processes other than workerd and this one
 * use less than `thresholdCores` over a one-second sample, so a burst of someone else's build does
 * not land in a measured window. Returns how long it waited and the last sample; the run goes on
 * either way and records both.
 */
export async function waitForQuietMachine(
  pids,
  ticksPerSecond,
  { maxMs, thresholdCores = 0.25, sampleMs = 1000 },
) {
  const started = Date.now();
  let otherCores = null;
  while (true) {
    const window = cpuWindow(pids, ticksPerSecond);
    await sleep(sampleMs);
    otherCores = window.stop().otherCores;
    if (otherCores === null || otherCores < thresholdCores || Date.now() - started >= maxMs) break;
  }
  return { waitedS: (Date.now() - started) / 1000, otherCores };
}
