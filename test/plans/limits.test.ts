import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, expectError, PASSWORD, registerTenant, unique } from "../harness";
import { connectTenant, failNext, stripeRequests } from "../stripe-double";

const count = async (table: "plans" | "users", tenantId: string) =>
  (
    await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE tenant_id = ?`)
      .bind(tenantId)
      .first<{ n: number }>()
  )?.n ?? 0;

const plan = (name: string) => ({
  name,
  price_cents: 1000,
  currency: "usd",
  billing_interval: "month",
});

describe("tier limits hold under parallel requests", () => {
  it("8 parallel plan creates on a 3-plan tier: exactly 3 succeed, and the others never reach Stripe", async () => {
    const tenant = await registerTenant();
    const account = await connectTenant(tenant.owner.access);
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        call("/api/v1/auth/plans/", { token: tenant.owner.access, body: plan(`Plan ${i}`) }),
      ),
    );
    expect(answers.filter((res) => res.status === 201)).toHaveLength(3);
    for (const refused of answers.filter((res) => res.status !== 201)) {
      expect(expectError(refused, 402, "plan_limit_reached").message).toContain("limit: plans");
    }
    expect(await count("plans", tenant.tenantId)).toBe(3);
    const products = (await stripeRequests({ path: "/v1/products", account })).filter(
      (r) => r.method === "POST",
    );
    expect(products).toHaveLength(3);
  });

  it("a slot is given back when Stripe fails, so the tier's room is not lost", async () => {
    const tenant = await registerTenant();
    const account = await connectTenant(tenant.owner.access);
    await failNext({ method: "POST", path: "/v1/products", account, status: 500, times: 3 });
    expectError(
      await call("/api/v1/auth/plans/", { token: tenant.owner.access, body: plan("Fails") }),
      502,
      "stripe_error",
    );
    for (let i = 0; i < 3; i++) {
      const res = await call("/api/v1/auth/plans/", { token: tenant.owner.access, body: plan(`Ok ${i}`) });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
    expectError(
      await call("/api/v1/auth/plans/", { token: tenant.owner.access, body: plan("Fourth") }),
      402,
      "plan_limit_reached",
    );
  });

  it("10 parallel invites on a 5-user tier leave exactly 5 users", async () => {
    const tenant = await registerTenant();
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        call("/api/v1/auth/tenants/users/", {
          token: tenant.owner.access,
          body: { email: `${unique("inv")}@example.com`, role: "developer", password: PASSWORD },
        }),
      ),
    );
    expect(answers.filter((res) => res.status === 201)).toHaveLength(4);
    for (const refused of answers.filter((res) => res.status !== 201)) {
      expect(expectError(refused, 402, "plan_limit_reached").message).toContain("limit: users");
    }
    expect(await count("users", tenant.tenantId)).toBe(5);
  });
});
