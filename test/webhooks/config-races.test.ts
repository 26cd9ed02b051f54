import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { call, registerTenant, unique } from "../harness";
import { hookUrl, type Received, received } from "../receiver";

const CONFIG = "/api/v1/auth/tenants/webhooks/config/";
const TEST = "/api/v1/auth/tenants/webhooks/test/";

function verifies(secret: string, request: Received) {
  try {
    new Webhook(secret).verify(request.body, {
      "webhook-id": request.headers["webhook-id"] ?? "",
      "webhook-timestamp": request.headers["webhook-timestamp"] ?? "",
      "webhook-signature": request.headers["webhook-signature"] ?? "",
    });
    return true;
  } catch {
    return false;
  }
}

/** The secrets answered in full (as new) that do not verify the next delivery: none, by contract. */
async function secretsThatDoNotSign(
  token: string,
  hook: string,
  answers: { body: Record<string, unknown> }[],
) {
  const shown = answers.map((answer) => answer.body.webhook_secret as string).filter((s) => !s.includes("*"));
  expect(shown.length).toBeGreaterThan(0);
  expect((await call(TEST, { token, method: "POST" })).status).toBe(200);
  const [request] = await received(hook, 1);
  if (!request) throw new Error("no delivery");
  return shown.filter((secret) => !verifies(secret, request)).map((secret) => secret.slice(-6));
}

const rotations = async (tenantId: string) =>
  (
    await env.DB.prepare(
      "SELECT count(*) AS n FROM audit_log WHERE tenant_id = ? AND action LIKE 'webhook_endpoint.%'",
    )
      .bind(tenantId)
      .first<{ n: number }>()
  )?.n;

describe("webhook configuration saved several times at once", () => {
  it("a first save sent five times at once: every secret answered as new signs the deliveries", async () => {
    const tenant = await registerTenant();
    const hook = unique("double");
    const answers = await Promise.all(
      Array.from({ length: 5 }, () =>
        call(CONFIG, { token: tenant.owner.access, body: { webhook_url: hookUrl(hook) } }),
      ),
    );
    for (const answer of answers) expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(await secretsThatDoNotSign(tenant.owner.access, hook, answers)).toEqual([]);
    // One audit record per save that was written.
    expect(await rotations(tenant.tenantId)).toBe(5);
  });

  it("two rotations at once: one rotates, the other is 409 or rotates after it; every secret answered as new signs", async () => {
    const tenant = await registerTenant();
    const hook = unique("rotate");
    const body = { webhook_url: hookUrl(hook) };
    expect((await call(CONFIG, { token: tenant.owner.access, body })).status).toBe(200);
    const answers = await Promise.all(
      Array.from({ length: 2 }, () =>
        call(CONFIG, { token: tenant.owner.access, body: { ...body, regenerate_secret: true } }),
      ),
    );
    for (const answer of answers) expect([200, 409], JSON.stringify(answer.body)).toContain(answer.status);
    const rotated = answers.filter((answer) => answer.status === 200);
    expect(await secretsThatDoNotSign(tenant.owner.access, hook, rotated)).toEqual([]);
  });
});

describe("webhook URL removed several times at once", () => {
  it("one removes it (200), the others find none (404), one audit record", async () => {
    const tenant = await registerTenant();
    const token = tenant.owner.access;
    expect((await call(CONFIG, { token, body: { webhook_url: hookUrl(unique("rm")) } })).status).toBe(200);
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => call(CONFIG, { token, method: "DELETE" })),
    );
    expect(answers.map((res) => res.status).sort()).toEqual([200, 404, 404, 404, 404, 404]);
    const removed = await env.DB.prepare(
      "SELECT count(*) AS n FROM audit_log WHERE tenant_id = ? AND action = 'webhook_endpoint.removed'",
    )
      .bind(tenant.tenantId)
      .first<{ n: number }>();
    expect(removed?.n).toBe(1);
  });
});
