import {
  createExecutionContext,
  createMessageBatch,
  getQueueResult,
  runDurableObjectAlarm,
  runInDurableObject,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { oweKeyRecords, payOwedKeyRecords } from "../../src/coordinator/key-republish";
import type { TenantCoordinator } from "../../src/coordinator/tenant-coordinator";
import worker from "../../src/index";
import { sha256Hex } from "../../src/lib/crypto";
import type { EdgeKeyRecord } from "../../src/modules/api-keys/edge-store";
import { subscribe } from "../../src/modules/platform-billing/subscription.service";
import { ingestStripeEvent } from "../../src/modules/stripe-events/ingest.service";
import type { QueueMessage } from "../../src/queue/messages";
import { kvRefusingWrites, ownerCaller, testContext } from "../context";
import { call, registerTenant, unique } from "../harness";
import { connectTenant } from "../stripe-double";
import {
  nowSeconds,
  platformPlan,
  stripeEvent,
  stripeEventRows,
  subscribed,
  subscriptionObject,
} from "./helpers";

type StripeMessage = QueueMessage & { event_id: string; endpoint?: string; payload?: string };

/** Runs the Worker's queue consumer on one batch of `stripe.event` messages carrying these events. */
async function consume(events: Record<string, unknown>[], endpoint: "platform" | "connect" = "connect") {
  const batch = createMessageBatch<StripeMessage>(
    "edge-billing-events",
    events.map((event) => ({
      id: `m-${event.id}`,
      timestamp: new Date(),
      attempts: 1,
      body: { kind: "stripe.event", event_id: String(event.id), endpoint, payload: JSON.stringify(event) },
    })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  return getQueueResult(batch, ctx);
}

const row = (id: string) =>
  env.DB.prepare("SELECT status, outcome, attempts FROM stripe_events WHERE id = ?")
    .bind(id)
    .first<{ status: string; outcome: string; attempts: number }>();

async function connectedTenant() {
  const tenant = await registerTenant();
  const account = await connectTenant(tenant.owner.access);
  return { tenant, account };
}

const accountUpdated = (account: string) =>
  stripeEvent(
    "account.updated",
    { id: account, object: "account", charges_enabled: true, payouts_enabled: true, details_submitted: true },
    nowSeconds(),
    { account },
  );

describe("an event that fails in the coordinator", () => {
  it("fails alone: its message is retried with backoff, the others of its batch are processed and acked", async () => {
    const { account } = await connectedTenant();
    const good = accountUpdated(account);
    // A corrupt event (no data.object) throws while it is applied.
    const corrupt = { ...stripeEvent("account.updated", {}, nowSeconds(), { account }), data: {} };
    const result = await consume([corrupt, good]);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual([`m-${corrupt.id}`]);
    expect(result.explicitAcks).toEqual([`m-${good.id}`]);
    expect(await row(good.id)).toMatchObject({ status: "processed" });
    expect(await row(corrupt.id)).toMatchObject({
      status: "failed",
      outcome: expect.stringMatching(/will retry/),
    });
  });

  it("is processed when its message comes back (a queue retry), though the event was recorded before", async () => {
    const { account } = await connectedTenant();
    const event = accountUpdated(account);
    // The first attempt recorded the event and failed it.
    await env.DB.prepare(
      "INSERT INTO stripe_events (id, endpoint, type, account, livemode, created, payload, status, outcome, attempts, received_at) VALUES (?, 'connect', 'account.updated', ?, 0, ?, ?, 'failed', 'error: D1 was down', 1, ?)",
    )
      .bind(event.id, account, event.created, JSON.stringify(event), Date.now())
      .run();
    const result = await consume([event]);
    expect(result.explicitAcks).toEqual([`m-${event.id}`]);
    expect(await row(event.id)).toMatchObject({ status: "processed", attempts: 2 });
  });

  it("a Connect event too large to forward fails for good, alone, and is not retried", async () => {
    const { account } = await connectedTenant();
    const huge = stripeEvent(
      "customer.created",
      { id: `cus_${unique()}`, object: "customer", description: "x".repeat(300 * 1024) },
      nowSeconds(),
      { account },
    );
    const good = accountUpdated(account);
    const result = await consume([huge, good]);
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks.sort()).toEqual([`m-${good.id}`, `m-${huge.id}`].sort());
    expect(await row(huge.id)).toMatchObject({
      status: "failed",
      outcome: expect.stringMatching(/for good.*256 KB/),
    });
    expect(await row(good.id)).toMatchObject({ status: "processed" });
  });
});

describe("events recorded before their message is consumed", () => {
  const insertRecorded = (event: Record<string, unknown>, status: string) =>
    env.DB.prepare(
      "INSERT INTO stripe_events (id, endpoint, type, livemode, created, payload, status, received_at) VALUES (?, 'platform', ?, 0, ?, ?, ?, ?)",
    )
      .bind(event.id, event.type, event.created, JSON.stringify(event), status, Date.now())
      .run();

  it("one that concerns no tenant is marked ignored; one processed already is left as it is", async () => {
    const customer = () => ({ id: `cus_${unique()}`, object: "customer" });
    const waiting = stripeEvent("customer.updated", customer(), nowSeconds());
    const done = stripeEvent("customer.updated", customer(), nowSeconds());
    const fresh = stripeEvent("customer.updated", customer(), nowSeconds());
    await insertRecorded(waiting, "received");
    await insertRecorded(done, "processed");
    const result = await consume([waiting, done, fresh], "platform");
    expect(result.retryMessages).toEqual([]);
    expect(await stripeEventRows([String(waiting.id), String(done.id), String(fresh.id)])).toEqual({
      [String(waiting.id)]: { status: "ignored", outcome: "no tenant matches this event" },
      [String(done.id)]: { status: "processed", outcome: null },
      [String(fresh.id)]: { status: "ignored", outcome: "no tenant matches this event" },
    });
  });
});

describe("Stripe ingestion", () => {
  it("remembers an event as seen only after its hand-off to the queue succeeded", async () => {
    const event = stripeEvent(
      "customer.updated",
      { id: `cus_${unique()}`, object: "customer" },
      nowSeconds(),
    );
    const raw = JSON.stringify(event);
    const sent: unknown[] = [];
    let failNext = true;
    const queue = {
      send: async (message: unknown) => {
        if (failNext) {
          failNext = false;
          throw new Error("queue unavailable");
        }
        sent.push(message);
      },
    } as unknown as Queue;
    const deps = testContext({ queue });
    await expect(ingestStripeEvent(deps, "platform", event as never, raw)).rejects.toThrow(
      "queue unavailable",
    );
    // Stripe retries the same event to the same isolate: it is taken, not answered as a duplicate.
    expect(await ingestStripeEvent(deps, "platform", event as never, raw)).toEqual({ duplicate: false });
    expect(sent).toHaveLength(1);
    expect(await ingestStripeEvent(deps, "platform", event as never, raw)).toEqual({ duplicate: true });
    expect(sent).toHaveLength(1);
    // Nothing of this fake hand-off reached the real queue.
    expect(await stripeEventRows([event.id])).toEqual({});
  });

  /** A queue whose sends settle only when the test says so, in the order they were made. */
  function heldQueue() {
    const sends: { message: unknown; settle: (error?: Error) => void }[] = [];
    const queue = {
      send: (message: unknown) =>
        new Promise<void>((resolve, reject) => {
          sends.push({ message, settle: (error) => (error ? reject(error) : resolve()) });
        }),
    } as unknown as Queue;
    return { queue, sends };
  }

  const customerUpdated = () => {
    const event = stripeEvent(
      "customer.updated",
      { id: `cus_${unique()}`, object: "customer" },
      nowSeconds(),
    );
    return { event: event as never, raw: JSON.stringify(event) };
  };

  it("a copy arriving during the first copy's hand-off sends its own and answers without waiting for it", async () => {
    const { queue, sends } = heldQueue();
    const deps = testContext({ queue });
    const { event, raw } = customerUpdated();
    const first = ingestStripeEvent(deps, "platform", event, raw);
    const copy = ingestStripeEvent(deps, "platform", event, raw);
    expect(sends).toHaveLength(2);
    // The copy's own hand-off settles while the first one's is still under way: it answers at once.
    sends[1]?.settle();
    expect(await copy).toEqual({ duplicate: true });
    sends[0]?.settle();
    expect(await first).toEqual({ duplicate: false });
    expect(await ingestStripeEvent(deps, "platform", event, raw)).toEqual({ duplicate: true });
    expect(sends).toHaveLength(2);
  });

  it("when the first copy's hand-off fails, a copy whose hand-off succeeds after it is the one taken", async () => {
    const { queue, sends } = heldQueue();
    const deps = testContext({ queue });
    const { event, raw } = customerUpdated();
    const first = ingestStripeEvent(deps, "platform", event, raw);
    const copy = ingestStripeEvent(deps, "platform", event, raw);
    sends[0]?.settle(new Error("queue unavailable"));
    await expect(first).rejects.toThrow("queue unavailable");
    sends[1]?.settle();
    expect(await copy).toEqual({ duplicate: false });
    expect(await ingestStripeEvent(deps, "platform", event, raw)).toEqual({ duplicate: true });
    expect(sends).toHaveLength(2);
  });

  it("when the first copy's hand-off fails after a copy's succeeded, Stripe's retry is the one taken", async () => {
    const { queue, sends } = heldQueue();
    const deps = testContext({ queue });
    const { event, raw } = customerUpdated();
    const first = ingestStripeEvent(deps, "platform", event, raw);
    const copy = ingestStripeEvent(deps, "platform", event, raw);
    sends[1]?.settle();
    expect(await copy).toEqual({ duplicate: true });
    sends[0]?.settle(new Error("queue unavailable"));
    await expect(first).rejects.toThrow("queue unavailable");
    // The copy's message is on the queue; the retry of the failed copy sends again and is taken.
    const retry = ingestStripeEvent(deps, "platform", event, raw);
    sends[2]?.settle();
    expect(await retry).toEqual({ duplicate: false });
    expect(sends).toHaveLength(3);
  });

  it("a claim whose hand-off never settles lapses after 30 s", async () => {
    const { queue, sends } = heldQueue();
    const deps = testContext({ queue });
    const { event, raw } = customerUpdated();
    const start = Date.now();
    const clock = vi.spyOn(Date, "now").mockReturnValue(start);
    try {
      void ingestStripeEvent(deps, "platform", event, raw); // its request was cut off mid-send
      const early = ingestStripeEvent(deps, "platform", event, raw);
      sends[1]?.settle();
      expect(await early).toEqual({ duplicate: true });
      clock.mockReturnValue(start + 30_000);
      const late = ingestStripeEvent(deps, "platform", event, raw);
      sends[2]?.settle();
      expect(await late).toEqual({ duplicate: false });
      expect(await ingestStripeEvent(deps, "platform", event, raw)).toEqual({ duplicate: true });
      expect(sends).toHaveLength(3);
    } finally {
      clock.mockRestore();
    }
  });
});

describe("a queue batch larger than one pass of the consumer", () => {
  it("100 platform events, each naming its own customer and subscription, are all settled and acked", async () => {
    const events = Array.from({ length: 100 }, () =>
      stripeEvent(
        "invoice.payment_failed",
        {
          id: `in_${unique()}`,
          object: "invoice",
          customer: `cus_${unique()}`,
          subscription: `sub_${unique()}`,
        },
        nowSeconds(),
      ),
    );
    // One pass looks 100 customers and 100 subscriptions up at once: more than the 100
    // parameters D1 binds. The consumer takes the batch 50 messages at a time.
    const result = await consume(events, "platform");
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks).toHaveLength(100);
    const rows = await stripeEventRows(events.map((event) => String(event.id)));
    expect(Object.values(rows).map((row) => row.status)).toEqual(Array(100).fill("ignored"));
  });
});

describe("a pass whose payloads are too large for one bound value", () => {
  it("25 events of about 90 KB each (over 2 MB in all) are each recorded once, as sent", async () => {
    const padding = "é".repeat(45_000); // 90 KB of UTF-8 per event, under the 100 KiB inline limit
    const events = Array.from({ length: 25 }, () =>
      stripeEvent(
        "customer.updated",
        { id: `cus_${unique()}`, object: "customer", metadata: { padding } },
        nowSeconds(),
      ),
    );
    const result = await consume([...events, events[0] as Record<string, unknown>], "platform");
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks).toHaveLength(26);
    const { results } = await env.DB.prepare(
      "SELECT id, endpoint, type, livemode, created, payload, status, attempts FROM stripe_events WHERE id IN (SELECT value FROM json_each(?))",
    )
      .bind(JSON.stringify(events.map((event) => event.id)))
      .all();
    const rows = new Map(results.map((row) => [row.id, row]));
    expect(rows.size).toBe(25);
    for (const event of events) {
      expect(rows.get(String(event.id))).toEqual({
        id: event.id,
        endpoint: "platform",
        type: "customer.updated",
        livemode: 0,
        created: event.created,
        payload: JSON.stringify(event),
        status: "ignored",
        attempts: 0,
      });
    }
  });
});

/** Gives the tenant's coordinator this KV for its next runs. */
const coordinatorKv = (stub: DurableObjectStub<TenantCoordinator>, kv: KVNamespace) =>
  runInDurableObject(stub, (instance: TenantCoordinator) => {
    const self = instance as unknown as { env: Env };
    self.env = { ...self.env, KV: kv };
  });

describe("a run whose D1 batch committed but whose KV write failed", () => {
  it("stays processed, and the coordinator republishes the keys' edge records once KV works", async () => {
    const tenant = await registerTenant();
    const keys = await call("/api/v1/auth/tenants/api-keys/regenerate/", {
      token: tenant.owner.access,
      body: { key_type: "test", confirm: true },
    });
    const hash = await sha256Hex(keys.body.keys.test_secret as string);
    const edgeStatus = async () =>
      (await env.KV.get<{ tenant_status: string }>(`apikey:${hash}`, "json"))?.tenant_status;
    const sub = await subscribed(tenant.owner.access, (await platformPlan("starter")).id);
    expect(await edgeStatus()).toBe("active");

    // The subscription was deleted at Stripe: the contract suspends the tenant at once.
    const deleted = stripeEvent(
      "customer.subscription.deleted",
      subscriptionObject(sub.stripe_subscription_id, sub.stripe_customer_id, "canceled"),
      nowSeconds() + 5,
    );
    await env.DB.prepare(
      "INSERT INTO stripe_events (id, endpoint, type, account, livemode, created, payload, status, attempts, received_at) VALUES (?, 'platform', ?, NULL, 0, ?, ?, 'received', 0, ?)",
    )
      .bind(deleted.id, deleted.type, deleted.created, JSON.stringify(deleted), Date.now())
      .run();
    const stub = env.TENANT_COORDINATOR.getByName(tenant.tenantId);
    await coordinatorKv(stub, kvRefusingWrites);
    const result = await stub.applyStripeEvents({ tenantId: tenant.tenantId, eventIds: [deleted.id] });

    // The run is done (a queue retry would find nothing to do), counted once.
    expect(result.retry).toEqual([]);
    expect(await row(deleted.id)).toMatchObject({ status: "processed", attempts: 1 });
    expect(await edgeStatus(), "KV refused the write").toBe("active");
    // The coordinator owes the records: its alarm tries again (still failing), then KV is back.
    await runDurableObjectAlarm(stub);
    expect(await edgeStatus()).toBe("active");
    await coordinatorKv(stub, env.KV);
    await runDurableObjectAlarm(stub);
    expect(await edgeStatus(), "tenant_status in the key's KV edge record").toBe("suspended");
    expect(await row(deleted.id)).toMatchObject({ status: "processed", attempts: 1 });
  });
});

describe("owed API key records", () => {
  // A coordinator takes other calls while the alarm's payment waits on D1 and KV: a run may owe
  // a change the payment read D1 too early to see.
  it("a debt recorded while an older one is being paid stays owed, and is paid next", async () => {
    const tenant = await registerTenant();
    const stub = env.TENANT_COORDINATOR.getByName(tenant.tenantId);
    const paid = await runInDurableObject(stub, async (_instance: TenantCoordinator, state) => {
      const now = Date.now();
      await oweKeyRecords(state.storage, now);
      let renewed = false;
      const kv = new Proxy(env.KV, {
        get(target, name) {
          if (name === "put")
            return async (key: string, value: string, options?: KVNamespacePutOptions) => {
              if (!renewed) {
                renewed = true;
                await oweKeyRecords(state.storage, now);
              }
              return target.put(key, value, options);
            };
          const value = Reflect.get(target, name, target);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
      const first = await payOwedKeyRecords(testContext({ kv }), state.storage, tenant.tenantId, now);
      const owedAfterFirst = await state.storage.get("key_records_owed");
      const second = await payOwedKeyRecords(testContext(), state.storage, tenant.tenantId, now);
      return {
        renewed,
        first,
        owedAfterFirst,
        second,
        owedAfterSecond: await state.storage.get("key_records_owed"),
      };
    });
    expect(paid.renewed).toBe(true);
    expect(paid.first).not.toBeNull();
    expect(paid.owedAfterFirst).toBeDefined();
    expect(paid.second).toBeNull();
    expect(paid.owedAfterSecond).toBeUndefined();
  });
});

describe("a subscribe whose D1 write committed but whose KV write failed", () => {
  it("answers the subscription, and the coordinator republishes the keys' tier once KV works", async () => {
    const tenant = await registerTenant();
    const plan = await platformPlan("pro");
    const hash = await sha256Hex(tenant.keys.test_secret);
    const caller = ownerCaller(tenant);
    const answered = await subscribe(testContext({ kv: kvRefusingWrites, caller }), {
      plan_id: plan.id,
      payment_method_id: "pm_card_visa",
    });
    expect(answered.tenant.subscriptionTier).toBe("pro");
    const stub = env.TENANT_COORDINATOR.getByName(tenant.tenantId);
    const owed = () => runInDurableObject(stub, (_i, state) => state.storage.get("key_records_owed"));
    expect(await owed()).toBeDefined();
    await runDurableObjectAlarm(stub);
    expect(await owed()).toBeUndefined();
    const record = await env.KV.get<EdgeKeyRecord>(`apikey:${hash}`, "json");
    expect(record?.tier).toBe("pro");
  });
});
