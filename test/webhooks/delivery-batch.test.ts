// One alarm run of a tenant's coordinator records all of its deliveries in one D1 batch: these
// tests pin that every attempt and status is still recorded one by one, that a failed batch
// loses nothing (its events are sent again, at least once, never lost), and that the payload
// carried in the queue message is what is sent.
import {
  createExecutionContext,
  createMessageBatch,
  getQueueResult,
  runDurableObjectAlarm,
  runInDurableObject,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MIN_RUN_GAP_MS, schedule, WRITE_RETRY_MS } from "../../src/coordinator/deliveries";
import type { TenantCoordinator } from "../../src/coordinator/tenant-coordinator";
import worker from "../../src/index";
import {
  emitTenantEvent,
  insertEvent,
  type PreparedEvent,
  prepareEvent,
} from "../../src/modules/webhooks/events.service";
import type { DeliverMessage, QueueMessage } from "../../src/queue/messages";
import { testContext } from "../context";
import { eventually } from "../eventually";
import { call, registerTenant, unique } from "../harness";
import { behave, hookUrl, received } from "../receiver";

const CONFIG = "/api/v1/auth/tenants/webhooks/config/";
const DELIVERIES = "/api/v1/auth/tenants/webhooks/deliveries/";

type Stub = DurableObjectStub<TenantCoordinator>;

async function tenantWithHook(hook = unique("batch")) {
  const tenant = await registerTenant();
  const saved = await call(CONFIG, { token: tenant.owner.access, body: { webhook_url: hookUrl(hook) } });
  expect(saved.status).toBe(200);
  const stub: Stub = env.TENANT_COORDINATOR.getByName(tenant.tenantId);
  // Only `advance` moves the coordinator's time: no retry fires by itself.
  const frozenAt = await runInDurableObject(stub, (instance: TenantCoordinator) => {
    const frozen = new Date();
    instance.clock = { now: () => frozen };
    return frozen.getTime();
  });
  return { tenant, hook, stub, frozenAt };
}

async function advance(stub: Stub, ms: number) {
  await runInDurableObject(stub, (instance: TenantCoordinator) => {
    const base = instance.clock.now().getTime();
    instance.clock = { now: () => new Date(base + ms) };
  });
  return runDurableObjectAlarm(stub);
}

/** Stores `count` events in D1 and hands them to the coordinator in one call, so one run takes them all. */
async function storeAndHand(tenantId: string, stub: Stub, count: number, carry: boolean) {
  const ctx = testContext();
  const events: PreparedEvent[] = [];
  for (let i = 0; i < count; i++) {
    const event = prepareEvent(
      { tenantId, type: "plan.updated", object: { n: i }, companyName: "Batch Co" },
      new Date(),
    );
    await insertEvent(ctx.db, event);
    events.push(event);
  }
  await stub.enqueueDeliveries({
    tenantId,
    eventIds: events.map((event) => event.row.id),
    ...(carry
      ? { events: events.map(({ row }) => ({ id: row.id, type: row.type, payload: row.payload })) }
      : {}),
  });
  return events.map((event) => event.row);
}

async function detail(token: string, eventId: string) {
  const res = await call(`${DELIVERIES}${eventId}/`, { token });
  expect(res.status).toBe(200);
  return res.body as {
    status: string;
    attempts: number;
    attempt_log: { attempt: number; status_code: number | null; outcome: string }[];
  };
}

describe("one D1 batch per alarm run", () => {
  for (const carry of [true, false]) {
    it(`records every attempt and status of the run, a failure in the middle included (payload ${carry ? "carried" : "read from D1"})`, async () => {
      const hook = unique("mid");
      // The second request to arrive fails; the others succeed.
      await behave(hook, [{ status: 200 }, { status: 500 }], { status: 200 });
      const { tenant, stub, frozenAt } = await tenantWithHook(hook);
      const events = await storeAndHand(tenant.tenantId, stub, 4, carry);

      const requests = await received(hook, 4);
      expect(requests).toHaveLength(4);
      const sent = new Map(requests.map((request) => [request.headers["webhook-id"], request.body]));
      for (const event of events) expect(sent.get(event.id)).toBe(event.payload);

      const state = await eventually(async () => {
        const current = await stub.scheduleState();
        expect(current.waiting).toBe(1);
        return current;
      });
      expect(state.nextDueAt).toBe(frozenAt + 5_000);
      const details = await Promise.all(events.map((event) => detail(tenant.owner.access, event.id)));
      const byStatus = (status: string) => details.filter((d) => d.status === status);
      expect(byStatus("delivered")).toHaveLength(3);
      expect(byStatus("pending")).toHaveLength(1);
      for (const d of byStatus("delivered"))
        expect(d.attempt_log).toEqual([
          expect.objectContaining({ attempt: 1, status_code: 200, outcome: "success" }),
        ]);
      expect(byStatus("pending")[0]).toMatchObject({
        attempts: 1,
        attempt_log: [expect.objectContaining({ attempt: 1, status_code: 500, outcome: "retry" })],
      });

      // The failed one is retried on schedule, alone, and then delivered.
      await advance(stub, 5_000);
      expect(await received(hook, 5)).toHaveLength(5);
      await eventually(async () => expect((await stub.scheduleState()).waiting).toBe(0));
      const retried = details.findIndex((d) => d.status === "pending");
      const after = await detail(tenant.owner.access, events[retried]?.id ?? "");
      expect(after.status).toBe("delivered");
      expect(after.attempt_log.map((a) => [a.attempt, a.outcome])).toEqual([
        [1, "retry"],
        [2, "success"],
      ]);
    });
  }

  it("a D1 failure while recording the run loses no delivery: its events are sent again and recorded once", async () => {
    const { tenant, hook, stub, frozenAt } = await tenantWithHook();
    const ctx = testContext();
    const trigger = unique("fail_attempts");
    const events = [0, 1, 2].map((n) =>
      prepareEvent(
        { tenantId: tenant.tenantId, type: "plan.updated", object: { n }, companyName: "Batch Co" },
        new Date(),
      ),
    );
    for (const event of events) await insertEvent(ctx.db, event);
    // Any insert of an attempt for the middle event fails, and with it the whole batch.
    await env.DB.prepare(
      `CREATE TRIGGER ${trigger} BEFORE INSERT ON webhook_attempts WHEN NEW.event_id = '${events[1]?.row.id}'
       BEGIN SELECT RAISE(ABORT, 'injected failure'); END`,
    ).run();
    try {
      await stub.enqueueDeliveries({
        tenantId: tenant.tenantId,
        eventIds: events.map((event) => event.row.id),
        events: events.map(({ row }) => ({ id: row.id, type: row.type, payload: row.payload })),
      });
      expect(await received(hook, 3)).toHaveLength(3);
      // Nothing of the run was recorded; every event waits for the write retry, at the same attempt.
      await eventually(async () => {
        const state = await stub.scheduleState();
        expect(state).toEqual({ waiting: 3, nextDueAt: frozenAt + WRITE_RETRY_MS });
      });
      for (const event of events)
        expect(await detail(tenant.owner.access, event.row.id)).toMatchObject({
          status: "pending",
          attempts: 0,
          attempt_log: [],
        });
    } finally {
      await env.DB.prepare(`DROP TRIGGER IF EXISTS ${trigger}`).run();
    }

    await advance(stub, WRITE_RETRY_MS);
    const requests = await received(hook, 6);
    expect(requests).toHaveLength(6);
    const counts = new Map<string, number>();
    for (const request of requests) {
      const id = request.headers["webhook-id"] ?? "";
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    expect([...counts.values()]).toEqual([2, 2, 2]);
    await eventually(async () => expect((await stub.scheduleState()).waiting).toBe(0));
    for (const event of events) {
      const d = await detail(tenant.owner.access, event.row.id);
      expect(d).toMatchObject({ status: "delivered", attempts: 1 });
      expect(d.attempt_log).toEqual([expect.objectContaining({ attempt: 1, outcome: "success" })]);
    }
  });

  it("a new webhook URL reaches the coordinator's next delivery at once", async () => {
    const { tenant, hook, stub } = await tenantWithHook();
    await storeAndHand(tenant.tenantId, stub, 1, true);
    expect(await received(hook, 1)).toHaveLength(1);
    await eventually(async () => expect((await stub.scheduleState()).waiting).toBe(0));

    const moved = unique("moved");
    await call(CONFIG, { token: tenant.owner.access, body: { webhook_url: hookUrl(moved) } });
    const [event] = await storeAndHand(tenant.tenantId, stub, 1, true);
    const [request] = await received(moved, 1);
    expect(request?.headers["webhook-id"]).toBe(event?.id);
    expect(await received(hook, 0, 0)).toHaveLength(1);
  });

  it("once the URL is removed, the run starts no more sends to it; the rest wait for the next run", async () => {
    const { tenant, hook, stub } = await tenantWithHook();
    // A slow receiver: the run sends its 30 events 10 at a time, each answered after 1 s.
    await behave(hook, [], { status: 200, delay_ms: 1_000 });
    const events = await storeAndHand(tenant.tenantId, stub, 30, true);
    await received(hook, 1);
    expect((await call(CONFIG, { token: tenant.owner.access, method: "DELETE" })).status).toBe(200);

    // The 10 in flight finish; the 20 not started are settled by the next run, which reads the
    // endpoint again and finds no URL.
    const statuses = await eventually(async () => {
      const rows = await Promise.all(events.map((event) => eventRow(event.id)));
      const counts: Record<string, number> = {};
      for (const row of rows) counts[row?.status ?? "missing"] = (counts[row?.status ?? "missing"] ?? 0) + 1;
      expect(counts.pending).toBeUndefined();
      return counts;
    });
    expect(statuses).toEqual({ delivered: 10, skipped: 20 });
    expect(await received(hook, 0, 0)).toHaveLength(10);
  });
});

/** A queue that keeps what it is sent (or refuses it), standing in for the events queue. */
function capturingQueue(refuse = false) {
  const sent: QueueMessage[] = [];
  const queue = {
    send: async (message: QueueMessage) => {
      if (refuse) throw new Error("queue unavailable");
      sent.push(message);
    },
    sendBatch: async () => {
      throw new Error("not used");
    },
  } as unknown as Queue<QueueMessage>;
  return { queue, sent };
}

const eventRow = (id: string) =>
  env.DB.prepare("SELECT status, attempts, payload, created_at FROM webhook_events WHERE id = ?")
    .bind(id)
    .first<{ status: string; attempts: number; payload: string; created_at: number }>();

describe("an event emitted on its own", () => {
  it("travels in its message and reaches D1 with its coordinator's first run, together with its attempt", async () => {
    const { tenant, hook } = await tenantWithHook();
    const { queue, sent } = capturingQueue();
    const event = await emitTenantEvent(testContext({ queue }), {
      tenantId: tenant.tenantId,
      type: "plan.updated",
      object: { id: "plan_alone" },
    });
    const [message] = sent as DeliverMessage[];
    expect(message).toMatchObject({
      kind: "webhook.deliver",
      tenant_id: tenant.tenantId,
      event_ids: [event.id],
      events: [
        {
          id: event.id,
          type: "plan.updated",
          payload: event.payload,
          unrecorded_at: event.createdAt.getTime(),
        },
      ],
    });
    // The queue holds it: nothing in D1 yet.
    expect(await eventRow(event.id)).toBeNull();

    const batch = createMessageBatch<QueueMessage>("edge-billing-events", [
      { id: "alone-1", timestamp: new Date(), attempts: 1, body: message as QueueMessage },
    ]);
    const execution = createExecutionContext();
    await worker.queue(batch, env, execution);
    expect((await getQueueResult(batch, execution)).explicitAcks).toEqual(["alone-1"]);
    const [request] = await received(hook, 1);
    expect(request?.body).toBe(event.payload);
    const row = await eventually(async () => {
      const current = await eventRow(event.id);
      expect(current?.status).toBe("delivered");
      return current;
    });
    expect(row).toMatchObject({ attempts: 1, payload: event.payload, created_at: event.createdAt.getTime() });
    const logged = await detail(tenant.owner.access, event.id);
    expect(logged.attempt_log).toEqual([expect.objectContaining({ attempt: 1, outcome: "success" })]);
  });

  it("waits out a run whose D1 read failed: the run does not throw, and it sets its own next alarm", async () => {
    const { tenant, hook, stub, frozenAt } = await tenantWithHook();
    const event = prepareEvent(
      {
        tenantId: tenant.tenantId,
        type: "plan.updated",
        object: { id: "plan_waits" },
        companyName: "Batch Co",
      },
      new Date(frozenAt),
    );
    const { row } = event;
    const unreachable = new Proxy(env.DB, {
      get(target, name) {
        if (name === "prepare" || name === "batch")
          return () => {
            throw new Error("D1 unreachable");
          };
        const value = Reflect.get(target, name, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    // Only in the coordinator's storage (emitted on its own), and the endpoint not read yet.
    const ran = await runInDurableObject(stub, async (instance: TenantCoordinator, state) => {
      await state.storage.put("tenant_id", tenant.tenantId);
      schedule(state.storage.sql, [row.id], frozenAt, [
        { id: row.id, type: row.type, payload: row.payload, unrecorded_at: frozenAt },
      ]);
      const self = instance as unknown as { env: Env };
      const healthy = self.env;
      self.env = { ...healthy, DB: unreachable };
      try {
        await instance.alarm();
        return { threw: false, alarm: await state.storage.getAlarm() };
      } catch {
        return { threw: true, alarm: await state.storage.getAlarm() };
      } finally {
        self.env = healthy;
      }
    });
    // The runtime gives up on an alarm that keeps throwing; this one sets its next run itself.
    expect(ran.threw).toBe(false);
    expect(ran.alarm).toBeGreaterThanOrEqual(Date.now() + WRITE_RETRY_MS - 1_000);
    expect(await stub.scheduleState()).toEqual({ waiting: 1, nextDueAt: frozenAt });
    await advance(stub, WRITE_RETRY_MS);
    const [request] = await received(hook, 1);
    expect(request?.body).toBe(row.payload);
  });

  it("whose row is already in D1 (a batch that committed before its schedule did) gets its attempt on that row", async () => {
    const { tenant, hook } = await tenantWithHook();
    const { queue, sent } = capturingQueue();
    const event = await emitTenantEvent(testContext({ queue }), {
      tenantId: tenant.tenantId,
      type: "plan.updated",
      object: { id: "plan_twice" },
    });
    await insertEvent(testContext().db, { row: event });
    const batch = createMessageBatch<QueueMessage>("edge-billing-events", [
      { id: "twice-1", timestamp: new Date(), attempts: 1, body: sent[0] as QueueMessage },
    ]);
    const execution = createExecutionContext();
    await worker.queue(batch, env, execution);
    await getQueueResult(batch, execution);
    await received(hook, 1);
    const row = await eventually(async () => {
      const current = await eventRow(event.id);
      expect(current?.status).toBe("delivered");
      return current;
    });
    expect(row).toMatchObject({ attempts: 1, payload: event.payload });
    const logged = await detail(tenant.owner.access, event.id);
    expect(logged.attempt_log).toEqual([expect.objectContaining({ attempt: 1, outcome: "success" })]);
  });

  it("is not emitted when the queue refuses it: the emit throws and nothing is recorded", async () => {
    const tenant = await registerTenant();
    const { queue } = capturingQueue(true);
    const id = await emitTenantEvent(testContext({ queue }), {
      tenantId: tenant.tenantId,
      type: "plan.updated",
      object: {},
    }).then(
      (event) => event.id,
      (error: unknown) => error,
    );
    expect(id).toBeInstanceOf(Error);
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM webhook_events WHERE tenant_id = ?")
      .bind(tenant.tenantId)
      .first<{ n: number }>();
    expect(rows?.n).toBe(0);
  });

  it("too large to carry (over 64 KB), it is written to D1 first and travels by id", async () => {
    const tenant = await registerTenant();
    const { queue, sent } = capturingQueue();
    const event = await emitTenantEvent(testContext({ queue }), {
      tenantId: tenant.tenantId,
      type: "plan.updated",
      object: { blob: "x".repeat(100 * 1024) },
    });
    expect(await eventRow(event.id)).toMatchObject({ status: "pending", attempts: 0 });
    expect(sent).toEqual([expect.objectContaining({ kind: "webhook.deliver", event_ids: [event.id] })]);
    expect((sent[0] as DeliverMessage).events).toBeUndefined();
  });
});

describe("the gap between a tenant's runs", () => {
  async function handOver(stub: Stub, tenantId: string, emittedAt: number) {
    const { queue, sent } = capturingQueue();
    const event = await emitTenantEvent(testContext({ queue }), {
      tenantId,
      type: "plan.updated",
      object: { id: unique("plan") },
    });
    const [carried] = (sent[0] as DeliverMessage).events ?? [];
    await stub.enqueueDeliveries({
      tenantId,
      eventIds: [event.id],
      events: [{ ...(carried as NonNullable<typeof carried>), unrecorded_at: emittedAt }],
    });
    return event;
  }

  /** Runs the due deliveries, hands over one more event, and answers how far off its run is. */
  async function nextRunAfter(emittedAgoMs: number) {
    const { tenant, hook, stub, frozenAt } = await tenantWithHook();
    await handOver(stub, tenant.tenantId, frozenAt - emittedAgoMs);
    await runDurableObjectAlarm(stub);
    await received(hook, 1);
    await handOver(stub, tenant.tenantId, frozenAt);
    return runInDurableObject(stub, async (_instance, state) => {
      const alarm = await state.storage.getAlarm();
      return (alarm ?? 0) - Date.now();
    });
  }

  it("stays short while events go out fresh, and grows once they arrive late", async () => {
    expect(await nextRunAfter(100)).toBeLessThanOrEqual(MIN_RUN_GAP_MS);
    // An event that waited 5 s before its run: the pipeline is behind, so the next run waits
    // longer and takes more events at once.
    expect(await nextRunAfter(5_000)).toBeGreaterThan(MIN_RUN_GAP_MS);
  });
});
