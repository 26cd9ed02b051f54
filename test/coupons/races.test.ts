import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { asKey, billingTenant } from "../billing";
import { unique } from "../harness";
import { COUPONS, makeCoupon, payingCustomer } from "../invoicing";

async function auditCount(tenantId: string, action: string, targetId: string) {
  const row = await env.DB.prepare(
    "SELECT count(*) AS n FROM audit_log WHERE tenant_id = ? AND action = ? AND target_id = ?",
  )
    .bind(tenantId, action, targetId)
    .first<{ n: number }>();
  return row?.n;
}

describe("coupon changes sent several times at once", () => {
  it("ten deactivations of one promotion code at once: all answer it inactive, one audit record tells it", async () => {
    const own = await billingTenant();
    const coupon = await makeCoupon(own, { percent_off: 10 });
    const made = await asKey(own.keys.test_secret, `${COUPONS}${coupon.id}/promotion-codes/`, {
      body: { code: unique("ONCE").toUpperCase() },
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        asKey(own.keys.test_secret, `${COUPONS}${coupon.id}/promotion-codes/${made.body.id}/deactivate/`, {
          method: "POST",
        }),
      ),
    );
    expect(answers.map((res) => res.status)).toEqual(Array(10).fill(200));
    expect(answers.every((res) => res.body.active === false)).toBe(true);
    expect(await auditCount(own.tenantId, "promotion_code.deactivated", made.body.id)).toBe(1);
  });

  it("ten removals of a customer's discount at once: one removes it (200), the others find none (409), one audit record", async () => {
    const own = await billingTenant();
    const coupon = await makeCoupon(own, { percent_off: 10 });
    const customer = await payingCustomer(own);
    const path = `/api/v1/auth/customers/${customer.id}/discount/`;
    expect((await asKey(own.keys.test_secret, path, { body: { coupon: coupon.id } })).status).toBe(200);
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => asKey(own.keys.test_secret, path, { method: "DELETE" })),
    );
    const statuses = answers.map((res) => res.status).sort();
    expect(statuses).toEqual([200, ...Array(9).fill(409)]);
    expect(await auditCount(own.tenantId, "customer.discount_removed", customer.id)).toBe(1);
  });
});
