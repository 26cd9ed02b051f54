import { describe, expect, it } from "vitest";
import { billingTenant, makePlan, relayConnectEvents } from "../billing";
import { call } from "../harness";
import { CONNECT_SECRET, processed, sendSigned, stripeEvent } from "../platform-billing/helpers";
import { atStripeDashboard, stripeObject } from "../stripe-double";

const withQuantity = (subscription: Record<string, unknown>, quantity: number) => {
  const items = subscription.items as { data: Record<string, unknown>[] };
  return { ...subscription, items: { ...items, data: [{ ...items.data[0], quantity }] } };
};

describe("a subscription changed twice in one second", () => {
  it.each([
    ["the stale snapshot last (its id sorting last)", [5, 3]],
    ["the stale snapshot first", [3, 5]],
  ] as const)(
    "counts in MRR as Stripe has it after that second, as the mirror does: %s",
    {
      timeout: 60_000,
    },
    async (_, order) => {
      const tenant = await billingTenant();
      const plan = await makePlan(tenant, { name: "Seats", price_cents: 2000, trial_days: 0 });
      const { account } = tenant;
      const customer = await atStripeDashboard("/v1/customers", { email: "seats@example.com" }, account);
      const created = await atStripeDashboard(
        "/v1/subscriptions",
        {
          customer: String(customer.id),
          "items[0][price]": plan.stripe_price_id,
          default_payment_method: "pm_card_visa",
        },
        account,
      );
      await relayConnectEvents(account);
      // 1 seat → 3 → 5 within one second: Stripe stamps both updates alike. The one with 5 seats is
      // Stripe's state now; its event id sorts first.
      const item = (created.items as { data: { id: string }[] }).data[0]?.id as string;
      await atStripeDashboard(
        `/v1/subscriptions/${created.id}`,
        { "items[0][id]": item, "items[0][quantity]": "5", proration_behavior: "none" },
        account,
      );
      const now = await stripeObject(`/v1/subscriptions/${created.id}`, account);
      const second = Math.floor(Date.now() / 1000) + 5;
      const updated = (quantity: number, id: string) => ({
        ...stripeEvent("customer.subscription.updated", withQuantity(now, quantity), second, { account }),
        id,
      });
      const tag = Math.random().toString(36).slice(2, 8);
      const ids = { 5: `evt_a_five_${tag}`, 3: `evt_b_three_${tag}` };
      for (const event of order.map((quantity) => updated(quantity, ids[quantity]))) {
        await sendSigned(event, { path: "/webhooks/stripe/connect", secret: CONNECT_SECRET });
        expect((await processed([event.id]))[event.id]?.status).toBe("processed");
      }

      const mirrored = await call(`/api/v1/auth/subscriptions/?limit=10`, { token: tenant.tokens.owner });
      expect(mirrored.body.data.map((s: { quantity: number }) => s.quantity)).toEqual([5]);
      const summary = await call("/api/v1/auth/analytics/summary/?mode=test&currency=usd", {
        token: tenant.tokens.owner,
      });
      expect(summary.body.currencies[0]).toMatchObject({ mrr: 10_000, subscribers: 1, paying_customers: 1 });
      const movements = await call("/api/v1/auth/analytics/movements/?mode=test", {
        token: tenant.tokens.owner,
      });
      expect(
        movements.body.data.map((m: { type: string; mrr_before: number; mrr_after: number }) => [
          m.type,
          m.mrr_before,
          m.mrr_after,
        ]),
      ).toEqual([
        ["expansion", 2000, 10_000],
        ["new", 0, 2000],
      ]);
    },
  );
});
