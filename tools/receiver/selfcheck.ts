// Exercises the webhook receiver end to end: node_modules/.bin/node tools/receiver/selfcheck.ts
import assert from "node:assert/strict";
import http from "node:http";
import type { RecordedRequest, Stats } from "./server.ts";
import { startReceiver } from "./server.ts";

const receiver = await startReceiver({ port: 0, maxRecorded: 50 });
const base = receiver.url;

async function json<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(`${base}${path}`, init);
  assert.ok(res.ok, `${init?.method ?? "GET"} ${path} → ${res.status} ${await res.clone().text()}`);
  return (await res.json()) as T;
}

const requests = (name: string, query = "") =>
  json<RecordedRequest[]>(`/__receiver/requests/${name}${query}`);
const stats = (name: string) => json<Stats>(`/__receiver/stats/${name}`);
/** PUTs a behaviour: `script` steps in order, then `after` (the JSON's "then") for every later request. */
const behave = (name: string, script: unknown[], after?: unknown) =>
  json(`/__receiver/behaviour/${name}`, { method: "PUT", body: behaviourJson(script, after) });

function behaviourJson(script: unknown[], after: unknown): string {
  // biome-ignore lint/suspicious/noThenProperty: the receiver's behaviour JSON names this field "then".
  return JSON.stringify(after === undefined ? { script } : { script, then: after });
}
const post = (name: string, body: string, headers: Record<string, string> = {}, init: RequestInit = {}) =>
  fetch(`${base}/hooks/${name}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body,
    ...init,
  });

async function check(label: string, fn: () => Promise<void>) {
  try {
    await fn();
    console.log(`  ok  ${label}`);
  } catch (err) {
    console.error(`  FAIL ${label}`);
    throw err;
  }
}

try {
  await check("health", async () => {
    assert.deepEqual(await json("/__receiver/health"), { ok: true });
  });

  await check("default 200 OK, request recorded", async () => {
    const res = await post("plain", '{"id":"evt_1","type":"x"}', { "Webhook-Id": "msg_1", "X-Multi": "a" });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "OK");
    const [got, ...more] = await requests("plain");
    assert.ok(got);
    assert.equal(more.length, 0);
    assert.equal(got.method, "POST");
    assert.equal(got.path, "/hooks/plain");
    assert.equal(got.body, '{"id":"evt_1","type":"x"}');
    assert.equal(got.headers["webhook-id"], "msg_1");
    assert.equal(got.headers["content-type"], "application/json");
    assert.equal(got.headers["x-multi"], "a");
    assert.ok(Math.abs(got.received_at - Date.now()) < 5_000);
  });

  await check("script 500, 500, 200 then default", async () => {
    await behave("flaky", [{ status: 500 }, { status: 500 }, { status: 200 }]);
    const statuses: number[] = [];
    const bodies: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await post("flaky", JSON.stringify({ id: "evt_retry", attempt: i }));
      statuses.push(res.status);
      bodies.push(await res.text());
    }
    assert.deepEqual(statuses, [500, 500, 200, 200]);
    assert.deepEqual(bodies, ["error", "error", "OK", "OK"]);
    const got = await requests("flaky");
    assert.equal(got.length, 4);
    assert.deepEqual(
      got.slice(0, 3).map((r) => JSON.parse(r.body).attempt),
      [0, 1, 2],
    );
  });

  await check("script of exactly three: requests has 3 entries", async () => {
    await behave("three", [{ status: 500 }, { status: 500 }, { status: 200 }]);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await post("three", `{"id":"evt_3","n":${i}}`)).status);
    assert.deepEqual(statuses, [500, 500, 200]);
    assert.equal((await requests("three")).length, 3);
    const s = await stats("three");
    assert.equal(s.count, 3);
    assert.equal(s.distinct_ids, 1);
    assert.equal(s.duplicates, 2);
  });

  await check("302 with Location, then with Retry-After", async () => {
    await behave("moved", [{ status: 302, headers: { Location: "https://example.com/elsewhere" } }], {
      status: 429,
      body: "slow down",
      headers: { "Retry-After": "120" },
    });
    const res = await post("moved", "{}", {}, { redirect: "manual" });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get("location"), "https://example.com/elsewhere");
    await res.arrayBuffer();
    const after = await post("moved", "{}");
    assert.equal(after.status, 429);
    assert.equal(after.headers.get("retry-after"), "120");
    assert.equal(await after.text(), "slow down");
  });

  await check("delay_ms 300", async () => {
    await behave("slow", [], { status: 200, delay_ms: 300 });
    const started = performance.now();
    const res = await post("slow", "{}");
    await res.text();
    const took = performance.now() - started;
    assert.equal(res.status, 200);
    assert.ok(took >= 290, `answered after ${took.toFixed(0)} ms`);
    assert.ok(took < 2_000, `answered after ${took.toFixed(0)} ms`);
  });

  await check("hang: the client times out, the receiver lives on", async () => {
    await behave("stuck", [], { hang: true });
    const started = performance.now();
    await assert.rejects(
      post("stuck", '{"id":"evt_hang"}', {}, { signal: AbortSignal.timeout(200) }),
      (err: Error) => {
        assert.equal(err.name, "TimeoutError");
        return true;
      },
    );
    const took = performance.now() - started;
    assert.ok(took >= 190 && took < 2_000, `aborted after ${took.toFixed(0)} ms`);
    assert.deepEqual(await json("/__receiver/health"), { ok: true });
    const [got] = await requests("stuck");
    assert.equal(got?.body, '{"id":"evt_hang"}');
  });

  await check("stats: duplicates by body id, webhook-id header fallback", async () => {
    for (const id of ["a", "b", "a", "c", "a"]) await (await post("dups", JSON.stringify({ id }))).text();
    await (await post("dups", "not json", { "Webhook-Id": "b" })).text();
    await (await post("dups", "{}", { "Webhook-Id": "d" })).text();
    await (await post("dups", "{}")).text();
    const s = await stats("dups");
    assert.equal(s.count, 8);
    assert.equal(s.distinct_ids, 4);
    assert.equal(s.duplicates, 3);
    assert.equal(s.without_id, 1);
    assert.ok(s.first_received_at !== null && s.last_received_at !== null);
    assert.ok(s.first_received_at <= s.last_received_at);
    const empty = await stats("nobody");
    assert.equal(empty.count, 0);
    assert.equal(empty.first_received_at, null);
  });

  await check("requests long-poll: ?min=N waits for the Nth request", async () => {
    const waiting = requests("later", "?min=2&timeout_ms=5000");
    await new Promise((r) => setTimeout(r, 50));
    await (await post("later", '{"id":"1"}')).text();
    await (await post("later", '{"id":"2"}')).text();
    assert.equal((await waiting).length, 2);
    const started = performance.now();
    assert.equal((await requests("later", "?min=5&timeout_ms=100")).length, 2);
    assert.ok(performance.now() - started >= 90);
  });

  await check("invalid behaviour is rejected with 400", async () => {
    const bad = [
      '{"script":[{"status":42}]}',
      '{"then":{"delay":5}}',
      '{"scrpt":[]}',
      "[]",
      "{",
      '{"then":{"headers":{"X":"a\\nb"}}}',
    ];
    for (const body of bad) {
      const res = await fetch(`${base}/__receiver/behaviour/bad`, { method: "PUT", body });
      assert.equal(res.status, 400, body);
      await res.text();
    }
  });

  await check("body over 1 MB → 413, not recorded", async () => {
    const res = await post("big", "x".repeat(1024 * 1024 + 1));
    assert.equal(res.status, 413);
    await res.text();
    assert.equal((await requests("big")).length, 0);
    const ok = await post("big", "x".repeat(1024 * 1024));
    assert.equal(ok.status, 200);
    await ok.text();
  });

  await check("keep-alive: one socket serves many requests", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    let reused = 0;
    for (let i = 0; i < 30; i++) {
      reused += await new Promise<number>((resolve, reject) => {
        const req = http.request(
          `${base}/hooks/pooled`,
          { method: "POST", agent, headers: { "Content-Type": "application/json" } },
          (res) => {
            res.resume();
            res.on("end", () => resolve(req.reusedSocket ? 1 : 0));
          },
        );
        req.on("error", reject);
        req.end(JSON.stringify({ id: `evt_${i}` }));
      });
    }
    agent.destroy();
    assert.equal(reused, 29);
    const s = await stats("pooled");
    assert.equal(s.count, 30);
    assert.equal(s.distinct_ids, 30);
    assert.equal(s.duplicates, 0);
  });

  await check("memory bound: the oldest recordings are dropped, stats still count", async () => {
    // maxRecorded is 50 here and earlier checks recorded more than that already: older ones go first.
    for (let i = 0; i < 40; i++) await (await post("flood", JSON.stringify({ id: `f${i}` }))).text();
    const flood = await requests("flood");
    assert.equal(flood.length, 40);
    assert.equal(JSON.parse(flood[0]?.body ?? "{}").id, "f0");
    const s = await stats("flood");
    assert.equal(s.count, 40);
    const total = (
      await Promise.all(
        ["plain", "flaky", "three", "moved", "slow", "stuck", "dups", "later", "big", "pooled"].map((n) =>
          requests(n),
        ),
      )
    ).reduce((sum, r) => sum + r.length, 0);
    assert.equal(total + flood.length, 50);
    assert.equal((await stats("pooled")).count, 30);
  });

  await check("DELETE one name; POST reset clears everything", async () => {
    await json("/__receiver/flaky", { method: "DELETE" });
    assert.equal((await requests("flaky")).length, 0);
    assert.equal((await stats("flaky")).count, 0);
    assert.equal((await post("flaky", "{}")).status, 200, "behaviour is cleared too");
    assert.equal((await requests("flood")).length, 40);
    await json("/__receiver/reset", { method: "POST" });
    for (const name of ["flood", "flaky", "dups", "moved"]) {
      assert.equal((await requests(name)).length, 0);
      assert.equal((await stats(name)).count, 0);
    }
    assert.equal((await post("moved", "{}", {}, { redirect: "manual" })).status, 200);
  });

  await check("close() returns while a request hangs", async () => {
    await behave("stuck", [], { hang: true });
    const pending = post("stuck", "{}").catch(() => "closed");
    await new Promise((r) => setTimeout(r, 50));
    const started = performance.now();
    await receiver.close();
    assert.ok(performance.now() - started < 1_000);
    assert.equal(await pending, "closed");
  });
} catch (err) {
  console.error(err);
  await receiver.close();
  process.exit(1);
}

console.log("receiver selfcheck ok");
