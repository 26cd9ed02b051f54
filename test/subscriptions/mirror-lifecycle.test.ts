import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { billingTenant, makePlan, shuffled, tenantEvents } from "../billing";
import { CONNECT_SECRET, processed, sendSigned } from "../platform-billing/helpers";
import { type DoubleEvent, doubleEvents, doubleUrl } from "../stripe-double";

/** A call to the double as the tenant's own Stripe dashboard would make it (not through our API). */
async function stripe(method: string, path: string, params: Record<string, string>, account: string) {
  const res = await fetch(`${doubleUrl()}${path}`, {
    method,
    headers: {
      Authorization: "Bearer sk_test_dashboard",
      "Stripe-Account": account,
      "Content-Type": "application/x-www-form-urlencoded",
    },
    ...(method === "DELETE" ? {} : { body: new URLSearchParams(params).toString() }),
  });
  const body = (await res.json()) as Record<string, unknown>;
  expect(res.status, JSON.stringify(body)).toBeLessThan(300);
  return body;
}

async function deliver(events: Omit<DoubleEvent, "delivery">[]) {
  for (const event of events) {
    const res = await sendSigned(event, { path: "/webhooks/stripe/connect", secret: CONNECT_SECRET });
    expect(res.status).toBe(200);
  }
  await processed([...new Set(events.map((event) => event.id))], 20_000);
}

/** The mirror of a tenant, by Stripe ids: what a correct mirror must agree on, whatever the order. */
async function mirror(tenantId: string) {
  const query = (sql: string) =>
    env.DB.prepare(sql)
      .bind(tenantId)
      .all()
      .then((r) => r.results);
  return {
    customers: await query(
      "SELECT stripe_customer_id, email, name, metadata, status, default_payment_method, livemode, last_event_created FROM customers WHERE tenant_id = ? ORDER BY stripe_customer_id",
    ),
    subscriptions: await query(
      "SELECT stripe_subscription_id, stripe_customer_id, plan_id, status, quantity, unit_amount, currency, interval, current_period_start, current_period_end, cancel_at_period_end, canceled_at, ended_at, latest_invoice_id, metadata, last_event_created FROM customer_subscriptions WHERE tenant_id = ? ORDER BY stripe_subscription_id",
    ),
    invoices: await query(
      "SELECT stripe_invoice_id, stripe_subscription_id, status, total, amount_paid, amount_due, attempt_count, application_fee_amount, last_event_created FROM invoices WHERE tenant_id = ? ORDER BY stripe_invoice_id",
    ),
  };
}

describe("the mirror follows Connect events in any order", () => {
  it("shuffled, it reaches the same mirror as in order; replaying every event changes nothing", {
    timeout: 60_000,
  }, async () => {
    const tenant = await billingTenant();
    const plan = await makePlan(tenant, { name: "Lifecycle", price_cents: 2500, trial_days: 0 });
    const { account } = tenant;

    // The tenant's customer's life, made at Stripe directly: only Connect events reach us.
    const customer = await stripe(
      "POST",
      "/v1/customers",
      { email: "life@example.com", name: "Life", "metadata[crm]": "7" },
      account,
    );
    const first = await stripe(
      "POST",
      "/v1/subscriptions",
      {
        customer: String(customer.id),
        "items[0][price]": plan.stripe_price_id,
        "items[0][quantity]": "2",
        default_payment_method: "pm_card_visa",
        application_fee_percent: "15",
      },
      account,
    );
    const item = ((first.items as { data: { id: string }[] }).data[0] as { id: string }).id;
    await stripe(
      "POST",
      `/v1/subscriptions/${first.id}`,
      { "items[0][id]": item, "items[0][quantity]": "3", proration_behavior: "none" },
      account,
    );
    await stripe("POST", `/v1/customers/${customer.id}`, { name: "Life Renamed" }, account);
    await stripe("POST", `/v1/subscriptions/${first.id}`, { cancel_at_period_end: "true" }, account);
    const second = await stripe(
      "POST",
      "/v1/subscriptions",
      {
        customer: String(customer.id),
        "items[0][price]": plan.stripe_price_id,
        default_payment_method: "pm_card_visa",
      },
      account,
    );
    await stripe("DELETE", `/v1/subscriptions/${second.id}`, {}, account);
    const events = (await doubleEvents({ account }))
      .filter((event) => /^(customer|invoice)\./.test(event.type))
      .map(({ delivery: _delivery, ...event }) => event);
    expect(events.length).toBeGreaterThan(8);

    await deliver(events);
    const inOrder = await mirror(tenant.tenantId);
    expect(inOrder.customers).toHaveLength(1);
    expect(inOrder.customers[0]).toMatchObject({
      name: "Life Renamed",
      email: "life@example.com",
      status: "active",
    });
    expect(inOrder.subscriptions).toHaveLength(2);
    expect(inOrder.subscriptions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          stripe_subscription_id: first.id,
          status: "active",
          quantity: 3,
          cancel_at_period_end: 1,
          plan_id: plan.id,
        }),
        expect.objectContaining({ stripe_subscription_id: second.id, status: "canceled" }),
      ]),
    );
    expect(inOrder.invoices.every((invoice) => invoice.status === "paid")).toBe(true);

    // The same events again, as new deliveries of a mirror wiped clean, in three shuffled orders.
    for (const seed of [7, 1234, 99_991]) {
      for (const table of ["customers", "customer_subscriptions", "invoices"])
        await env.DB.prepare(`DELETE FROM ${table} WHERE tenant_id = ?`).bind(tenant.tenantId).run();
      const again = shuffled(events, seed).map((event) => ({ ...event, id: `${event.id}_s${seed}` }));
      await deliver(again);
      expect(await mirror(tenant.tenantId), `order of seed ${seed}`).toEqual(inOrder);

      // Replaying every event (Stripe's retries carry the same ids), twice: nothing changes.
      const before = (await tenantEvents(tenant.tenantId, "subscription.updated")).length;
      await deliver([...shuffled(again, seed + 1), ...again]);
      expect(await mirror(tenant.tenantId)).toEqual(inOrder);
      expect((await tenantEvents(tenant.tenantId, "subscription.updated")).length).toBe(before);
    }
  });
});
