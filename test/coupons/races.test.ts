import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { asKey, billingTenant } from "../billing";
import { unique } from "../harness";
import { COUPONS, makeCoupon } from "../invoicing";

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
});
