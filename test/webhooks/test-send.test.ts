import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { call, expectError, registerTeam, unique } from "../harness";
import { behave, hookUrl, received } from "../receiver";

const CONFIG = "/api/v1/auth/tenants/webhooks/config/";
const TEST = "/api/v1/auth/tenants/webhooks/test/";

describe("POST /webhooks/test/", () => {
  it("sends the seed's test event, signed, and answers the receiver's status, time and body", async () => {
    const team = await registerTeam();
    const hook = unique("test-ok");
    await behave(hook, [], { status: 200, body: "thanks!" });
    const saved = await call(CONFIG, { token: team.tokens.owner, body: { webhook_url: hookUrl(hook) } });
    const res = await call(TEST, {
      token: team.tokens.admin,
      body: { event_type: "subscription.created", test_data: { subscription_id: "sub_123" } },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      message: "Test webhook sent successfully",
      webhook_url: hookUrl(hook),
      status_code: 200,
      response_time_ms: expect.any(Number),
      response_body: "thanks!",
      success: true,
      event_sent: {
        id: expect.stringMatching(/^evt_test_/),
        object: "event",
        type: "subscription.created",
        data: { object: { subscription_id: "sub_123" } },
        livemode: false,
        tenant: { id: team.tenantId },
      },
    });
    const [request] = await received(hook, 1);
    const headers = request?.headers ?? {};
    const verified = new Webhook(saved.body.webhook_secret).verify(request?.body ?? "", {
      "webhook-id": headers["webhook-id"] ?? "",
      "webhook-timestamp": headers["webhook-timestamp"] ?? "",
      "webhook-signature": headers["webhook-signature"] ?? "",
    });
    expect(verified).toMatchObject({ type: "subscription.created" });
    expectError(await call(TEST, { token: team.tokens.developer, body: {} }), 403, "forbidden");
  });

  it("during a rotation signs with both secrets, and either verifies", async () => {
    const team = await registerTeam();
    const hook = unique("rotate");
    const first = await call(CONFIG, { token: team.tokens.owner, body: { webhook_url: hookUrl(hook) } });
    const second = await call(CONFIG, {
      token: team.tokens.owner,
      body: { webhook_url: hookUrl(hook), regenerate_secret: true },
    });
    await call(TEST, { token: team.tokens.owner, method: "POST" });
    const [request] = await received(hook, 1);
    const headers = request?.headers ?? {};
    expect((headers["webhook-signature"] ?? "").split(" ")).toHaveLength(2);
    expect((headers["x-webhook-signature"] ?? "").match(/v1=/g)).toHaveLength(2);
    for (const secret of [first.body.webhook_secret, second.body.webhook_secret]) {
      expect(() =>
        new Webhook(secret).verify(request?.body ?? "", {
          "webhook-id": headers["webhook-id"] ?? "",
          "webhook-timestamp": headers["webhook-timestamp"] ?? "",
          "webhook-signature": headers["webhook-signature"] ?? "",
        }),
      ).not.toThrow();
    }
  });

  it("keeps the first 1 KB of a longer answer, whole characters of it, and all of a short one", async () => {
    const team = await registerTeam();
    const hook = unique("test-long");
    await call(CONFIG, { token: team.tokens.owner, body: { webhook_url: hookUrl(hook) } });
    for (const [body, kept] of [
      ["x".repeat(5_000), "x".repeat(1_024)],
      ["é".repeat(600), "é".repeat(512)],
      ["y".repeat(1_024), "y".repeat(1_024)],
      ["", ""],
    ]) {
      await behave(hook, [], { status: 200, body });
      const res = await call(TEST, { token: team.tokens.owner, method: "POST" });
      expect(res.body).toMatchObject({ status_code: 200, response_body: kept });
    }
  });

  it("answers non-2xx receivers with success false, and 502 when nothing listens", async () => {
    const team = await registerTeam();
    const hook = unique("test-500");
    await behave(hook, [], { status: 500, body: "boom" });
    await call(CONFIG, { token: team.tokens.owner, body: { webhook_url: hookUrl(hook) } });
    const failing = await call(TEST, { token: team.tokens.owner, method: "POST" });
    expect(failing.body).toMatchObject({ status_code: 500, success: false, response_body: "boom" });

    await call(CONFIG, { token: team.tokens.owner, body: { webhook_url: "http://127.0.0.1:1/hook" } });
    const refused = await call(TEST, { token: team.tokens.owner, method: "POST" });
    expect(refused.status).toBe(502);
    expect(refused.body).toMatchObject({
      error: "webhook_unreachable",
      webhook_url: "http://127.0.0.1:1/hook",
    });
  });

  it("answers 409 without a configured URL", async () => {
    const team = await registerTeam();
    expectError(await call(TEST, { token: team.tokens.owner, method: "POST" }), 409, "conflict");
  });

  it("answers 408 webhook_timeout (the seed's message and webhook_url) when the receiver does not answer within 10 s", {
    timeout: 20_000,
  }, async () => {
    const team = await registerTeam();
    const hook = unique("test-hang");
    await behave(hook, [], { hang: true });
    await call(CONFIG, { token: team.tokens.owner, body: { webhook_url: hookUrl(hook) } });
    const res = await call(TEST, { token: team.tokens.owner, method: "POST" });
    expectError(res, 408, "webhook_timeout");
    expect(res.body).toMatchObject({
      message: "Your webhook endpoint did not respond within 10 seconds",
      webhook_url: hookUrl(hook),
    });
  });

  it("appears in the delivery log, marked as a test, with its one attempt", async () => {
    const team = await registerTeam();
    const ok = unique("test-log");
    await behave(ok, [], { status: 200, body: "fine" });
    await call(CONFIG, { token: team.tokens.owner, body: { webhook_url: hookUrl(ok) } });
    const sent = await call(TEST, { token: team.tokens.owner, body: {} });
    expect(sent.status).toBe(200);

    const failing = unique("test-log-500");
    await behave(failing, [], { status: 500, body: "nope" });
    await call(CONFIG, { token: team.tokens.owner, body: { webhook_url: hookUrl(failing) } });
    const refused = await call(TEST, { token: team.tokens.owner, body: { event_type: "plan.created" } });
    expect(refused.body).toMatchObject({ status_code: 500, success: false });

    const log = await call("/api/v1/auth/tenants/webhooks/deliveries/", { token: team.tokens.developer });
    expect(log.body.data).toEqual([
      expect.objectContaining({
        event_id: refused.body.event_sent.id,
        type: "plan.created",
        status: "failed",
        attempts: 1,
        test: true,
        next_attempt_at: null,
      }),
      expect.objectContaining({
        event_id: sent.body.event_sent.id,
        status: "delivered",
        attempts: 1,
        test: true,
      }),
    ]);
    const detail = await call(`/api/v1/auth/tenants/webhooks/deliveries/${sent.body.event_sent.id}/`, {
      token: team.tokens.billing,
    });
    expect(detail.body.payload).toEqual(sent.body.event_sent);
    expect(detail.body.attempt_log).toEqual([
      expect.objectContaining({ attempt: 1, status_code: 200, outcome: "success", response_body: "fine" }),
    ]);
  });

  it("is not queued again by recover when it failed: a test send is sent once", async () => {
    const team = await registerTeam();
    const hook = unique("test-recover");
    await behave(hook, [{ status: 500 }], { status: 200 });
    await call(CONFIG, { token: team.tokens.owner, body: { webhook_url: hookUrl(hook) } });
    const sent = await call(TEST, { token: team.tokens.owner, body: {} });
    expect(sent.body.status_code).toBe(500);

    const recover = await call("/api/v1/auth/tenants/webhooks/recover/", {
      token: team.tokens.owner,
      body: { since: new Date(Date.now() - 3600_000).toISOString() },
    });
    expect(recover.status).toBe(202);
    expect(recover.body.requeued).toBe(0);
    const detail = await call(`/api/v1/auth/tenants/webhooks/deliveries/${sent.body.event_sent.id}/`, {
      token: team.tokens.owner,
    });
    expect(detail.body).toMatchObject({ status: "failed", attempts: 1 });
  });

  it("refuses test data that makes the event larger than 256 KB (413), as any event: nothing sent or logged", async () => {
    const team = await registerTeam();
    const hook = unique("test-large");
    await behave(hook, [], { status: 200 });
    await call(CONFIG, { token: team.tokens.owner, body: { webhook_url: hookUrl(hook) } });
    const res = await call(TEST, {
      token: team.tokens.owner,
      body: { test_data: { blob: "x".repeat(300 * 1024) } },
    });
    expectError(res, 413, "payload_too_large");
    expect(await received(hook, 0, 500)).toEqual([]);
    const log = await call("/api/v1/auth/tenants/webhooks/deliveries/", { token: team.tokens.owner });
    expect(log.body.data).toEqual([]);
  });
});
