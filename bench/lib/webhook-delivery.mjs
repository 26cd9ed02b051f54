// End-to-end tenant-webhook benchmark: events emitted through the Worker's real path (D1 write +
// enqueue) → queue consumer → each tenant's Durable Object → signed POST to a local receiver.
// Reports delivered ids (none missing, none twice), delivery throughput and emit→receipt latency.
import { randomBytes, randomUUID } from "node:crypto";
import { startReceiver } from "../../tools/receiver/server.ts";

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function seedTenants(mf, receiverUrl, count) {
  const db = await mf.getD1Database("DB");
  const now = Date.now();
  const tenants = [];
  for (let i = 0; i < count; i++) {
    const id = `ten_benchwh${randomUUID().replaceAll("-", "").slice(0, 14)}`;
    const hook = `bench-${id}`;
    await db.batch([
      db
        .prepare(
          "INSERT INTO tenants (id, slug, company_name, status, subscription_tier, stripe_connect_status, created_at, updated_at) VALUES (?, ?, 'Bench', 'active', 'pro', 'not_connected', ?, ?)",
        )
        .bind(id, id.toLowerCase(), now, now),
      db
        .prepare(
          "INSERT INTO webhook_endpoints (tenant_id, url, secret, status, created_at, updated_at) VALUES (?, ?, ?, 'enabled', ?, ?)",
        )
        .bind(id, `${receiverUrl}/hooks/${hook}`, `whsec_${randomBytes(32).toString("base64")}`, now, now),
    ]);
    tenants.push({ id, hook });
  }
  return tenants;
}

export async function runWebhookDelivery({
  mf,
  baseUrl,
  log,
  tenants: tenantCount = 20,
  events = 2000,
  seconds = 10,
}) {
  const receiver = await startReceiver({ port: 0 });
  try {
    const tenants = await seedTenants(mf, receiver.url, tenantCount);
    log(`webhook-delivery: ${events} events over ${seconds} s across ${tenantCount} tenants`);
    const intervalMs = (seconds * 1000) / events;
    const started = Date.now();
    const emits = [];
    let emitErrors = 0;
    for (let seq = 0; seq < events; seq++) {
      const due = started + seq * intervalMs;
      const wait = due - Date.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      const tenant = tenants[seq % tenants.length];
      emits.push(
        fetch(`${baseUrl}/__bench/emit`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ tenant_id: tenant.id, seq }),
        }).then(
          async (res) => {
            if (res.status !== 201) emitErrors++;
            await res.arrayBuffer();
          },
          () => emitErrors++,
        ),
      );
    }
    await Promise.all(emits);
    const emitSeconds = (Date.now() - started) / 1000;

    // Wait for the last deliveries (bounded).
    const deadline = Date.now() + 30_000;
    let distinct = 0;
    while (Date.now() < deadline) {
      const stats = await Promise.all(
        tenants.map((t) => fetch(`${receiver.url}/__receiver/stats/${t.hook}`).then((r) => r.json())),
      );
      distinct = stats.reduce((sum, s) => sum + s.distinct_ids, 0);
      if (distinct >= events - emitErrors) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }

    const latencies = [];
    const seen = new Set();
    let duplicates = 0;
    let lastReceived = 0;
    for (const tenant of tenants) {
      const requests = await fetch(`${receiver.url}/__receiver/requests/${tenant.hook}`).then((r) =>
        r.json(),
      );
      for (const request of requests) {
        const body = JSON.parse(request.body);
        if (seen.has(body.id)) duplicates++;
        seen.add(body.id);
        latencies.push(request.received_at - body.data.object.emitted_at_ms);
        lastReceived = Math.max(lastReceived, request.received_at);
      }
    }
    latencies.sort((a, b) => a - b);
    return {
      emitted: events - emitErrors,
      emitErrors,
      emitSeconds,
      delivered: seen.size,
      missing: events - emitErrors - seen.size,
      duplicates,
      deliveredPerSecond: seen.size / ((lastReceived - started) / 1000),
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: latencies.at(-1),
    };
  } finally {
    await receiver.close();
  }
}

export function webhookDeliveryTable(r) {
  return [
    "webhook delivery (emit → queue → tenant Durable Object → signed POST → local receiver)",
    `  emitted ${r.emitted} in ${r.emitSeconds.toFixed(1)} s (${r.emitErrors} emit errors)`,
    `  delivered ${r.delivered} distinct ids: ${r.missing} missing, ${r.duplicates} twice`,
    `  throughput ${r.deliveredPerSecond.toFixed(0)} events/s delivered; emit→receipt p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms`,
  ].join("\n");
}
