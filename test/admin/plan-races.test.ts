import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { unique } from "../harness";

const TOKEN = "test-platform-admin-token";

async function admin(path: string, method = "GET", body?: unknown) {
  const res = await exports.default.fetch(`http://api.test/api/v1/admin${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${TOKEN}`,
      "CF-Connecting-IP": "198.51.100.78",
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

describe("a platform plan patched several times at once", () => {
  it("keeps every change: patches of different fields and limits at once lose none of them", async () => {
    const id = unique("race").toLowerCase();
    const created = await admin("/plans", "POST", {
      id,
      name: "Race",
      tier: "starter",
      price_cents: 2900,
      billing_interval: "month",
      limits: {
        api_requests_per_minute: 600,
        api_requests_per_month: 250_000,
        plans: 20,
        webhook_endpoints: 3,
        users: 10,
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const patches = [
      { name: "Race renamed" },
      { description: "Described" },
      { trial_days: 7 },
      { price_cents: 3100 },
      { limits: { api_requests_per_minute: 900 } },
      { limits: { plans: 5 } },
      { limits: { users: 7 } },
      { limits: { webhook_endpoints: 4 } },
    ];
    const answers = await Promise.all(patches.map((patch) => admin(`/plans/${id}`, "PATCH", patch)));
    expect(answers.map((res) => res.status)).toEqual(patches.map(() => 200));
    const plan = (await admin(`/plans/${id}`)).body;
    expect(plan).toMatchObject({
      name: "Race renamed",
      description: "Described",
      trial_days: 7,
      price_cents: 3100,
      limits: {
        api_requests_per_minute: 900,
        api_requests_per_month: 250_000,
        plans: 5,
        webhook_endpoints: 4,
        users: 7,
      },
    });
    const unlimited = await admin(`/plans/${id}`, "PATCH", { limits: { users: null } });
    expect(unlimited.body.limits).toEqual({ ...plan.limits, users: null });
  });
});
