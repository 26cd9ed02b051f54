import { describe, expect, it } from "vitest";
import { call, expectError, registerTeam, registerTenant } from "../harness";
import { hookUrl } from "../receiver";

const CONFIG = "/api/v1/auth/tenants/webhooks/config/";

describe("webhook configuration", () => {
  it("creates a secret on first save, shows it once, masks it after, and rotates on request", async () => {
    const team = await registerTeam();
    const empty = await call(CONFIG, { token: team.tokens.billing });
    expect(empty.body).toMatchObject({ configured: false, webhook_url: null, webhook_secret: null });

    const first = await call(CONFIG, { token: team.tokens.admin, body: { webhook_url: hookUrl("cfg-a") } });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      message: "Webhook configured successfully",
      webhook_url: hookUrl("cfg-a"),
      webhook_secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
      test_url: "/api/v1/auth/tenants/webhooks/test/",
      warning: expect.stringContaining("New webhook secret"),
      enabled_events: ["*"],
    });
    const secret = first.body.webhook_secret as string;

    const read = await call(CONFIG, { token: team.tokens.developer });
    expect(read.body).toMatchObject({
      configured: true,
      status: "enabled",
      webhook_secret: `whsec_****...${secret.slice(-4)}`,
      instructions: { signature_header: "X-Webhook-Signature" },
    });
    expect(JSON.stringify(read.body)).not.toContain(secret);

    const again = await call(CONFIG, { token: team.tokens.owner, body: { webhook_url: hookUrl("cfg-b") } });
    expect(again.body.webhook_secret).toBe(`whsec_****...${secret.slice(-4)}`);
    expect(again.body.warning).toBeUndefined();

    const rotated = await call(CONFIG, {
      token: team.tokens.owner,
      body: { webhook_url: hookUrl("cfg-b"), regenerate_secret: true, enabled_events: ["plan.created"] },
    });
    expect(rotated.body.webhook_secret).toMatch(/^whsec_/);
    expect(rotated.body.webhook_secret).not.toBe(secret);
    expect(rotated.body.enabled_events).toEqual(["plan.created"]);
    const after = await call(CONFIG, { token: team.tokens.owner });
    expect(Date.parse(after.body.previous_secret_expires_at) - Date.now()).toBeGreaterThan(23 * 3600_000);
  });

  it("DELETE removes the URL (owner only) and keeps the secret", async () => {
    const team = await registerTeam();
    const saved = await call(CONFIG, { token: team.tokens.owner, body: { webhook_url: hookUrl("cfg-del") } });
    expectError(await call(CONFIG, { token: team.tokens.admin, method: "DELETE" }), 403, "forbidden");
    const removed = await call(CONFIG, { token: team.tokens.owner, method: "DELETE" });
    expect(removed.body).toEqual({
      message: "Webhook configuration removed",
      note: "Webhook secret was preserved. You can reconfigure the URL anytime.",
    });
    const read = await call(CONFIG, { token: team.tokens.owner });
    expect(read.body).toMatchObject({ configured: false, webhook_url: null });
    expect(read.body.webhook_secret).toBe(`whsec_****...${(saved.body.webhook_secret as string).slice(-4)}`);
    expectError(await call(CONFIG, { token: team.tokens.owner, method: "DELETE" }), 404, "not_found");
  });

  it("only owners and admins configure", async () => {
    const team = await registerTeam();
    for (const role of ["developer", "billing"] as const) {
      expectError(
        await call(CONFIG, { token: team.tokens[role], body: { webhook_url: hookUrl("x") } }),
        403,
        "forbidden",
      );
    }
    expectError(await call(CONFIG), 401, "unauthenticated");
  });

  it.each([
    "https://10.0.0.1/hook",
    "https://169.254.169.254/latest/meta-data",
    "https://[::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[::ffff:a00:1]/hook",
    "https://100.64.0.1/hook",
    "https://foo.internal/hook",
    "https://192.168.1.10/hook",
    "https://user:pass@example.com/hook",
    "ftp://example.com/hook",
    "http://example.com/hook",
    "not a url",
  ])("refuses %s with 400 and saves nothing", async (url) => {
    const tenant = await registerTenant();
    const res = await call(CONFIG, { token: tenant.owner.access, body: { webhook_url: url } });
    const error = expectError(res, 400, "validation_error");
    expect(error.details[0].field).toBe("webhook_url");
    expect((await call(CONFIG, { token: tenant.owner.access })).body.configured).toBe(false);
  });

  it("refuses unknown event types", async () => {
    const tenant = await registerTenant();
    const res = await call(CONFIG, {
      token: tenant.owner.access,
      body: { webhook_url: hookUrl("x"), enabled_events: ["plan.created", "everything.exploded"] },
    });
    expectError(res, 400, "validation_error");
  });
});
