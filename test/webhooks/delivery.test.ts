import {
  createExecutionContext,
  createMessageBatch,
  getQueueResult,
  runDurableObjectAlarm,
  runInDurableObject,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import type { TenantCoordinator } from "../../src/coordinator/tenant-coordinator";
import { auditLog, webhookEndpoints } from "../../src/db/schema";
import worker from "../../src/index";
import { ApiError } from "../../src/lib/errors";
import { emitTenantEvent } from "../../src/modules/webhooks/events.service";
import type { QueueMessage } from "../../src/queue/messages";
import { testContext } from "../context";
import { eventually } from "../eventually";
import { call, expectError, registerTenant, unique } from "../harness";
import { behave, hookUrl, received } from "../receiver";

const CONFIG = "/api/v1/auth/tenants/webhooks/config/";
const DELIVERIES = "/api/v1/auth/tenants/webhooks/deliveries/";

async function tenantWithHook(
  options: { name?: string; before?: (stub: DurableObjectStub<TenantCoordinator>) => Promise<void> } = {},
) {
  const tenant = await registerTenant();
  const hook = options.name ?? unique("hook");
  const saved = await call(CONFIG, { token: tenant.owner.access, body: { webhook_url: hookUrl(hook) } });
  expect(saved.status).toBe(200);
  const stub = env.TENANT_COORDINATOR.getByName(tenant.tenantId);
  await options.before?.(stub);
  return { tenant, hook, secret: saved.body.webhook_secret as string, stub };
}

const emit = (tenantId: string, type = "plan.created", object: unknown = { id: "plan_x" }) =>
  emitTenantEvent(testContext(), { tenantId, type, object });

/** Stops the coordinator's clock, so only `advance` moves its time (no retry fires by itself). */
const freeze = (stub: DurableObjectStub<TenantCoordinator>) =>
  runInDurableObject(stub, (instance: TenantCoordinator) => {
    const frozen = new Date();
    instance.clock = { now: () => frozen };
  });

/** Moves the coordinator's clock forward and runs its alarm, as the passing of time would. */
async function advance(stub: DurableObjectStub<TenantCoordinator>, ms: number) {
  await runInDurableObject(stub, (instance: TenantCoordinator) => {
    const base = instance.clock.now().getTime();
    instance.clock = { now: () => new Date(base + ms) };
  });
  return runDurableObjectAlarm(stub);
}

async function stripeStyleValid(header: string, body: string, secret: string) {
  const parts = Object.fromEntries(header.split(",").map((p) => p.split("=") as [string, string]));
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${parts.t}.${body}`));
  const hex = [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return header.split(",").some((p) => p === `v1=${hex}`);
}

describe("delivery through the queue and the tenant's coordinator", () => {
  it("delivers the seed's envelope, signed in both schemes, verifiable by standardwebhooks and Stripe-style code", async () => {
    const { tenant, hook, secret } = await tenantWithHook();
    const event = await emit(tenant.tenantId, "plan.created", { id: "plan_123", name: "Pro" });
    const [request] = await received(hook, 1);
    expect(request).toBeDefined();
    const body = request?.body ?? "";
    expect(JSON.parse(body)).toEqual({
      id: event.id,
      object: "event",
      type: "plan.created",
      created: expect.any(Number),
      data: { object: { id: "plan_123", name: "Pro" } },
      livemode: false,
      tenant: { id: tenant.tenantId, company_name: expect.any(String) },
    });
    const headers = request?.headers ?? {};
    expect(headers["webhook-id"]).toBe(event.id);
    expect(() =>
      new Webhook(secret).verify(body, {
        "webhook-id": headers["webhook-id"] ?? "",
        "webhook-timestamp": headers["webhook-timestamp"] ?? "",
        "webhook-signature": headers["webhook-signature"] ?? "",
      }),
    ).not.toThrow();
    expect(await stripeStyleValid(headers["x-webhook-signature"] ?? "", body, secret)).toBe(true);
    expect(await stripeStyleValid(headers["x-webhook-signature"] ?? "", `${body} `, secret)).toBe(false);

    const detail = await eventually(async () => {
      const res = await call(`${DELIVERIES}${event.id}/`, { token: tenant.owner.access });
      expect(res.body.status).toBe("delivered");
      return res;
    });
    expect(detail.body).toMatchObject({ event_id: event.id, status: "delivered", attempts: 1 });
    expect(detail.body.attempt_log).toEqual([
      expect.objectContaining({ attempt: 1, status_code: 200, outcome: "success" }),
    ]);
  });

  it("a receiver failing twice then succeeding gets the message three times with the same id; the log shows three attempts", async () => {
    const hook = unique("flaky");
    await behave(hook, [{ status: 500 }, { status: 503 }], { status: 200 });
    const { tenant, stub } = await tenantWithHook({ name: hook, before: freeze });
    const event = await emit(tenant.tenantId);
    await received(hook, 1);
    const state = await stub.scheduleState();
    expect(state.waiting).toBe(1);

    await advance(stub, 4_000); // not due yet: the first retry waits 5 s
    expect(await received(hook, 0, 0)).toHaveLength(1);
    await advance(stub, 2_000);
    await received(hook, 2);
    await advance(stub, 5 * 60_000);
    const requests = await received(hook, 3);
    expect(requests).toHaveLength(3);
    expect(new Set(requests.map((r) => r.headers["webhook-id"]))).toEqual(new Set([event.id]));
    expect(new Set(requests.map((r) => r.headers["webhook-timestamp"])).size).toBeGreaterThanOrEqual(1);

    const detail = await call(`${DELIVERIES}${event.id}/`, { token: tenant.owner.access });
    expect(detail.body.status).toBe("delivered");
    expect(
      detail.body.attempt_log.map((a: { status_code: number; outcome: string }) => [
        a.status_code,
        a.outcome,
      ]),
    ).toEqual([
      [500, "retry"],
      [503, "retry"],
      [200, "success"],
    ]);
    expect((await stub.scheduleState()).waiting).toBe(0);
  });

  it("a 410 disables the endpoint, visibly to the tenant", async () => {
    const hook = unique("gone");
    await behave(hook, [], { status: 410 });
    const { tenant } = await tenantWithHook({ name: hook });
    const event = await emit(tenant.tenantId);
    await received(hook, 1);
    const config = await eventually(async () => {
      const res = await call(CONFIG, { token: tenant.owner.access });
      expect(res.body.status).toBe("disabled");
      return res;
    });
    expect(config.body).toMatchObject({
      status: "disabled",
      disabled_reason: expect.stringContaining("410"),
    });
    const detail = await call(`${DELIVERIES}${event.id}/`, { token: tenant.owner.access });
    expect(detail.body.status).toBe("failed");
    // Its audit record, listed to the owner: test/audit-log/audit-log.test.ts.
    // Saving the configuration again re-enables it.
    await call(CONFIG, { token: tenant.owner.access, body: { webhook_url: hookUrl(hook) } });
    expect((await call(CONFIG, { token: tenant.owner.access })).body.status).toBe("enabled");
  });

  it("an answer from the old URL, landing after the tenant saved a new one, leaves the new endpoint as saved", async () => {
    const oldHook = unique("old");
    const newHook = unique("new");
    // The old receiver is being retired: it answers 410, slowly.
    await behave(oldHook, [], { status: 410, delay_ms: 1_000 });
    const { tenant } = await tenantWithHook({ name: oldHook });
    const first = await emit(tenant.tenantId);
    // The delivery is in flight to the old URL when the tenant moves to its new one.
    await received(oldHook, 1);
    const moved = await call(CONFIG, { token: tenant.owner.access, body: { webhook_url: hookUrl(newHook) } });
    expect(moved.status).toBe(200);
    await eventually(async () => {
      const res = await call(`${DELIVERIES}${first.id}/`, { token: tenant.owner.access });
      expect(res.body.attempts).toBe(1);
    });

    const config = (await call(CONFIG, { token: tenant.owner.access })).body;
    expect(config).toMatchObject({ webhook_url: hookUrl(newHook), status: "enabled", disabled_reason: null });
    const { db } = testContext();
    const endpoint = await db
      .select()
      .from(webhookEndpoints)
      .where(eq(webhookEndpoints.tenantId, tenant.tenantId))
      .get();
    expect(endpoint?.failingSince).toBeNull();
    const disabledRecords = await db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.tenantId, tenant.tenantId), eq(auditLog.action, "webhook_endpoint.disabled")));
    expect(disabledRecords).toEqual([]);
    const second = await emit(tenant.tenantId);
    const [request] = await received(newHook, 1);
    expect(request?.headers["webhook-id"]).toBe(second.id);
  });

  it("a redirect is a failure and is not followed", async () => {
    const hook = unique("redirect");
    const target = unique("target");
    await behave(hook, [], { status: 302, headers: { Location: hookUrl(target) } });
    const { tenant, stub } = await tenantWithHook({ name: hook });
    const event = await emit(tenant.tenantId);
    await received(hook, 1);
    // Once the attempt is logged the delivery is over: had it followed the redirect, the target
    // would have been called by then.
    const detail = await eventually(async () => {
      const res = await call(`${DELIVERIES}${event.id}/`, { token: tenant.owner.access });
      expect(res.body.attempt_log).toHaveLength(1);
      return res;
    });
    expect(await received(target, 0, 0)).toHaveLength(0);
    expect(detail.body.attempt_log[0]).toMatchObject({ status_code: 302, outcome: "retry" });
    expect(detail.body.status).toBe("pending");
    expect((await stub.scheduleState()).waiting).toBe(1);
  });

  it("a slow receiver times out and the attempt is retried later", async () => {
    const hook = unique("slow");
    await behave(hook, [], { status: 200, delay_ms: 3_000 });
    const { tenant, stub } = await tenantWithHook({
      name: hook,
      before: (s) =>
        runInDurableObject(s, (instance: TenantCoordinator) => {
          instance.deliveryTimeoutMs = 200;
        }),
    });
    const event = await emit(tenant.tenantId);
    const detail = await eventually(async () => {
      const res = await call(`${DELIVERIES}${event.id}/`, { token: tenant.owner.access });
      expect(res.body.attempts).toBeGreaterThan(0);
      return res;
    });
    expect(detail.body.attempt_log[0]).toMatchObject({
      outcome: "retry",
      status_code: null,
      reason: expect.stringMatching(/10 seconds|timeout/),
    });
    expect(detail.body.status).toBe("pending");
    expect((await stub.scheduleState()).nextDueAt).toBeGreaterThan(Date.now());
  });

  it("one tenant's dead receiver does not delay another tenant's events", async () => {
    const dead = unique("dead");
    await behave(dead, [], { hang: true });
    const slow = await tenantWithHook({ name: dead });
    const fast = await tenantWithHook();
    for (let i = 0; i < 5; i++) await emit(slow.tenant.tenantId);
    const started = Date.now();
    await emit(fast.tenant.tenantId);
    const [arrived] = await received(fast.hook, 1, 5_000);
    expect(arrived).toBeDefined();
    expect((arrived?.received_at ?? Number.POSITIVE_INFINITY) - started).toBeLessThan(3_000);
  });

  it("an endpoint subscribed to some types skips the others", async () => {
    const { tenant, hook } = await tenantWithHook();
    await call(CONFIG, {
      token: tenant.owner.access,
      body: { webhook_url: hookUrl(hook), enabled_events: ["plan.updated"] },
    });
    const skipped = await emit(tenant.tenantId, "plan.created");
    const wanted = await emit(tenant.tenantId, "plan.updated");
    const [request] = await received(hook, 1);
    expect(JSON.parse(request?.body ?? "{}").id).toBe(wanted.id);
    const detail = await eventually(async () => {
      // A standalone emit is one enqueue: its row appears when its coordinator's run writes it.
      const res = await call(`${DELIVERIES}${skipped.id}/`, { token: tenant.owner.access });
      expect(res.status).toBe(200);
      expect(res.body.status).not.toBe("pending");
      return res;
    });
    expect(detail.body).toMatchObject({ status: "skipped", last_error: "filtered" });
  });

  it("refuses payloads over 256 KB at emit time", async () => {
    const tenant = await registerTenant();
    await expect(emit(tenant.tenantId, "plan.created", { blob: "x".repeat(300 * 1024) })).rejects.toSatisfy(
      (error: unknown) => error instanceof ApiError && error.code === "payload_too_large",
    );
  });
});

describe("delivery log, resend and recover", () => {
  it("lists with filters, shows attempts, resends with the same id, and recovers failed events", async () => {
    const hook = unique("log");
    await behave(hook, [], { status: 410 });
    const { tenant } = await tenantWithHook({ name: hook });
    const failed = await emit(tenant.tenantId, "plan.deactivated");
    await received(hook, 1);
    const list = await eventually(async () => {
      const res = await call(`${DELIVERIES}?status=failed`, { token: tenant.owner.access });
      expect(res.body.data).not.toHaveLength(0);
      return res;
    });
    expect(list.body.data.map((d: { event_id: string }) => d.event_id)).toEqual([failed.id]);
    expect(
      (await call(`${DELIVERIES}?event_type=plan.created`, { token: tenant.owner.access })).body.data,
    ).toEqual([]);

    await behave(hook, [], { status: 200 });
    await call(CONFIG, { token: tenant.owner.access, body: { webhook_url: hookUrl(hook) } }); // re-enable
    const resent = await call(`${DELIVERIES}${failed.id}/resend/`, {
      token: tenant.owner.access,
      method: "POST",
    });
    expect(resent.status).toBe(202);
    const again = await received(hook, 2);
    expect(again.map((r) => r.headers["webhook-id"])).toEqual([failed.id, failed.id]);

    const recover = await call("/api/v1/auth/tenants/webhooks/recover/", {
      token: tenant.owner.access,
      body: { since: new Date(Date.now() - 3600_000).toISOString() },
    });
    expect(recover.status).toBe(202);
    expect(recover.body.requeued).toBeGreaterThanOrEqual(0);

    const other = await registerTenant();
    expectError(await call(`${DELIVERIES}${failed.id}/`, { token: other.owner.access }), 404, "not_found");
    expectError(
      await call(`${DELIVERIES}${failed.id}/resend/`, { token: other.owner.access, method: "POST" }),
      404,
      "not_found",
    );
  });

  it("resends of one event at once put it back once: one 202, the others 409 as after it, one more delivery", async () => {
    const { tenant, hook } = await tenantWithHook();
    const event = await emit(tenant.tenantId, "plan.updated");
    await received(hook, 1);
    await eventually(async () =>
      expect((await call(`${DELIVERIES}${event.id}/`, { token: tenant.owner.access })).body.status).toBe(
        "delivered",
      ),
    );
    const resends = await Promise.all(
      Array.from({ length: 8 }, () =>
        call(`${DELIVERIES}${event.id}/resend/`, { token: tenant.owner.access, method: "POST" }),
      ),
    );
    expect(resends.map((r) => r.status).sort()).toEqual([202, 409, 409, 409, 409, 409, 409, 409]);
    for (const refused of resends.filter((r) => r.status === 409)) expectError(refused, 409, "conflict");
    // Waits for a third delivery that must not come.
    expect(await received(hook, 3, 2_000)).toHaveLength(2);
  });

  it("recovers 150 failed events at once (in chunks of 100, within D1's 100 parameters)", async () => {
    const tenant = await registerTenant();
    const created = Date.now() - 60_000;
    const ids = Array.from({ length: 150 }, (_, n) => `evt_recover${n}${unique()}`);
    await env.DB.batch(
      ids.map((id) =>
        env.DB.prepare(
          `INSERT INTO webhook_events (id, tenant_id, type, payload, status, attempts, created_at)
           VALUES (?, ?, 'plan.updated', '{}', 'failed', 8, ?)`,
        ).bind(id, tenant.tenantId, created),
      ),
    );
    const recover = await call("/api/v1/auth/tenants/webhooks/recover/", {
      token: tenant.owner.access,
      body: { since: new Date(created - 1_000).toISOString() },
    });
    expect(recover.status, JSON.stringify(recover.body)).toBe(202);
    expect(recover.body.requeued).toBe(150);
    // Each left failed (pending again, or already settled by its delivery run: no endpoint here).
    const stillFailed = await env.DB.prepare(
      "SELECT count(*) AS n FROM webhook_events WHERE tenant_id = ? AND status = 'failed'",
    )
      .bind(tenant.tenantId)
      .first<{ n: number }>();
    expect(stillFailed?.n).toBe(0);
  });

  it("after a resend, the attempt log is in the order the attempts were made, numbered on", async () => {
    const hook = unique("relog");
    // First life of the event: a 500, then a 410 (endpoint disabled, event failed).
    await behave(hook, [{ status: 500 }, { status: 410 }], { status: 200 });
    const { tenant, stub } = await tenantWithHook({ name: hook, before: freeze });
    const event = await emit(tenant.tenantId);
    await received(hook, 1);
    await eventually(async () => expect((await stub.scheduleState()).waiting).toBe(1));
    await advance(stub, 5_000);
    await received(hook, 2);
    await eventually(async () => {
      const res = await call(`${DELIVERIES}${event.id}/`, { token: tenant.owner.access });
      expect(res.body.status).toBe("failed");
    });

    // The tenant re-enables its endpoint and resends; the receiver now answers 200. The
    // coordinator's clock has not moved: the resend's attempt has the same time as the 410's.
    await call(CONFIG, { token: tenant.owner.access, body: { webhook_url: hookUrl(hook) } });
    const resent = await call(`${DELIVERIES}${event.id}/resend/`, {
      token: tenant.owner.access,
      method: "POST",
    });
    expect(resent.status).toBe(202);
    await received(hook, 3);
    const detail = await eventually(async () => {
      const res = await call(`${DELIVERIES}${event.id}/`, { token: tenant.owner.access });
      expect(res.body.status).toBe("delivered");
      return res;
    });
    const log = detail.body.attempt_log as { attempt: number; status_code: number }[];
    expect(log.map(({ attempt, status_code }) => ({ attempt, status_code }))).toEqual([
      { attempt: 1, status_code: 500 },
      { attempt: 2, status_code: 410 },
      { attempt: 3, status_code: 200 },
    ]);
    expect(detail.body.attempts).toBe(3);
  });
});

describe("queue consumers", () => {
  it("hands a batch to each tenant's coordinator once and acks it", async () => {
    const { tenant, hook } = await tenantWithHook();
    const event = await emit(tenant.tenantId);
    // A message of a kind no handler knows (an old deploy's) is acknowledged and logged, not retried.
    const batch = createMessageBatch<QueueMessage | { kind: "mystery" }>("edge-billing-events", [
      {
        id: "m1",
        timestamp: Date.now(),
        attempts: 1,
        body: { kind: "webhook.deliver", tenant_id: tenant.tenantId, event_ids: [event.id] },
      },
      { id: "m2", timestamp: Date.now(), attempts: 1, body: { kind: "mystery" } },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch as MessageBatch<QueueMessage>, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks.sort()).toEqual(["m1", "m2"]);
    const requests = await received(hook, 1);
    expect(requests.every((r) => r.headers["webhook-id"] === event.id)).toBe(true);
  });

  it("records dead-lettered messages so nothing is lost silently", async () => {
    const marker = unique("dlq");
    const batch = createMessageBatch<QueueMessage & { event_ids?: string[] }>("edge-billing-events-dlq", [
      {
        id: "d1",
        timestamp: Date.now(),
        attempts: 11,
        body: { kind: "webhook.deliver", tenant_id: marker, event_ids: ["evt_x"] },
      },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.ackAll).toBe(true);
    const row = await env.DB.prepare("SELECT kind, attempts FROM dead_letters WHERE tenant_id = ?")
      .bind(marker)
      .first();
    expect(row).toEqual({ kind: "webhook.deliver", attempts: 11 });
  });
});
