// End-to-end tenant-webhook benchmark: events emitted through the Worker's real path (D1 write +
// enqueue) → queue consumer → each tenant's Durable Object → signed POST to a local receiver.
// Reports delivered ids (missing, doubled), delivered events/s, emit→receipt latency and workerd
// CPU per delivered event.
import { randomBytes, randomUUID } from "node:crypto";
import { startReceiver } from "../../tools/receiver/server.ts";
import { cpuWindow } from "./cpu.mjs";
import { waitForIdle } from "./load.mjs";
import { insertRows } from "./seed.mjs";
import { percentile } from "./stats.mjs";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const POLL_MS = 250;
/** An emit not answered by then counts as an emit error (and the run cannot hang on it). */
const EMIT_TIMEOUT_MS = 60_000;

/** Tenants with an enabled endpoint each, all pointing at one receiver name (one path per tenant). */
async function seedTenants(mf, hookBase, count) {
  const db = await mf.getD1Database("DB");
  const now = Date.now();
  const tenants = Array.from({ length: count }, () => ({
    id: `ten_benchwh${randomUUID().replaceAll("-", "").slice(0, 14)}`,
  }));
  await insertRows(
    db,
    "tenants",
    tenants.map(({ id }) => ({
      id,
      slug: id.toLowerCase(),
      company_name: "Bench",
      status: "active",
      subscription_tier: "pro",
      stripe_connect_status: "not_connected",
      created_at: now,
      updated_at: now,
    })),
  );
  await insertRows(
    db,
    "webhook_endpoints",
    tenants.map(({ id }) => ({
      tenant_id: id,
      url: `${hookBase}/${id}`,
      secret: `whsec_${randomBytes(32).toString("base64")}`,
      status: "enabled",
      created_at: now,
      updated_at: now,
    })),
  );
  return tenants;
}

/** Open-loop emitter: event `seq` is sent at `start + seq / rate`, whether or not earlier ones answered. */
async function emitEvents({ baseUrl, tenants, events, seconds }) {
  const intervalMs = (seconds * 1000) / events;
  const started = Date.now();
  const pending = [];
  let errors = 0;
  for (let seq = 0; seq < events; seq++) {
    const wait = started + seq * intervalMs - Date.now();
    if (wait > 1) await sleep(wait);
    const tenant = tenants[seq % tenants.length];
    pending.push(
      fetch(`${baseUrl}/__bench/emit`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ tenant_id: tenant.id, seq }),
        signal: AbortSignal.timeout(EMIT_TIMEOUT_MS),
      }).then(
        async (response) => {
          if (response.status !== 201) errors++;
          await response.arrayBuffer();
        },
        () => errors++,
      ),
    );
  }
  await Promise.all(pending);
  return { started, errors, emitSeconds: (Date.now() - started) / 1000 };
}

/**
 * Waits until every emitted event has arrived, `timeoutS` seconds have passed since the last emit
 * answered, or nothing new has arrived for `stallS` seconds; never longer. Returns whether it
 * stopped short.
 */
async function awaitDeliveries(statsUrl, expected, { timeoutS, stallS }) {
  const deadline = Date.now() + timeoutS * 1000;
  let last = -1;
  let lastProgress = Date.now();
  while (true) {
    const stats = await fetch(statsUrl).then((response) => response.json());
    if (stats.distinct_ids >= expected) return { stoppedBy: "complete" };
    if (stats.distinct_ids !== last) {
      last = stats.distinct_ids;
      lastProgress = Date.now();
    }
    if (Date.now() >= deadline) return { stoppedBy: `timeout ${timeoutS} s` };
    if (Date.now() - lastProgress >= stallS * 1000) return { stoppedBy: `nothing new for ${stallS} s` };
    await sleep(POLL_MS);
  }
}

/**
 * One delivery run: seeds `tenants` tenants with endpoints on a fresh local receiver, emits
 * `events` events evenly over `seconds` s (round robin over the tenants), waits for them (bounded)
 * and reports what arrived. CPU is workerd's user+system time from the first emit until workerd is
 * idle after the last delivery (emit requests, queue batches, Durable Objects, outgoing POSTs),
 * divided by the events delivered.
 */
export async function runDelivery({
  mf,
  baseUrl,
  pids,
  ticksPerSecond,
  delivery,
  timeoutS = 60,
  stallS = 20,
}) {
  const { tenants: tenantCount, events, seconds } = delivery;
  const receiver = await startReceiver({ port: 0 });
  try {
    const name = `bench-${randomUUID().slice(0, 8)}`;
    const tenants = await seedTenants(mf, `${receiver.url}/hooks/${name}`, tenantCount);
    await waitForIdle(pids);
    const cpu = cpuWindow(pids, ticksPerSecond);
    const emitted = await emitEvents({ baseUrl, tenants, events, seconds });
    const expected = events - emitted.errors;
    const wait = await awaitDeliveries(`${receiver.url}/__receiver/stats/${name}`, expected, {
      timeoutS,
      stallS,
    });
    await waitForIdle(pids);
    const window = cpu.stop();

    const requests = await fetch(`${receiver.url}/__receiver/requests/${name}`).then((response) =>
      response.json(),
    );
    const seen = new Set();
    const latencies = [];
    let doubled = 0;
    let lastReceived = emitted.started;
    for (const request of requests) {
      const body = JSON.parse(request.body);
      if (seen.has(body.id)) doubled++;
      else latencies.push(request.received_at - body.data.object.emitted_at_ms);
      seen.add(body.id);
      lastReceived = Math.max(lastReceived, request.received_at);
    }
    latencies.sort((a, b) => a - b);
    const delivered = seen.size;
    return {
      tenants: tenantCount,
      events,
      seconds,
      emitRate: events / seconds,
      emitted: expected,
      emitErrors: emitted.errors,
      emitSeconds: emitted.emitSeconds,
      delivered,
      // An emit that timed out may still have produced its event; never report a negative count.
      missing: Math.max(0, expected - delivered),
      doubled,
      stoppedBy: wait.stoppedBy,
      // Over the whole span, first emit → last receipt: the emit rate when the pipeline keeps up,
      // its capacity when it does not (the backlog then drains at that rate).
      deliveredPerSecond: delivered / ((lastReceived - emitted.started) / 1000),
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: latencies.at(-1) ?? Number.NaN,
      workerdCpuTicks: window.workerdTicks,
      cpuMsPerEvent: window.workerdMs === null || delivered === 0 ? null : window.workerdMs / delivered,
      otherCores: window.otherCores,
    };
  } finally {
    await receiver.close();
  }
}
