// A tenant's own Stripe customers (made in its dashboard or by its scripts) reach the billing
// mirror through Connect events with whatever metadata they carry. Metadata that names an id or
// an external id another customer already has must not wedge the tenant's event processing: the
// mirror stores the new customer without the clashing value, and everything else goes on.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { processStripeEvents } from "../../src/modules/platform-billing/billing-runs";
import { asKey, type BillingTenant, billingTenant, makeCustomer, makePlan } from "../billing";
import { testContext } from "../context";
import { unique } from "../harness";
import { makeInvoice, payingCustomer } from "../invoicing";
import {
  CONNECT_SECRET,
  processed,
  recordReceivedConnectEvents,
  sendSigned,
  stripeEventRows,
} from "../platform-billing/helpers";
import { doubleUrl } from "../stripe-double";

let tenant: BillingTenant;
beforeAll(async () => {
  tenant = await billingTenant();
});

const stripeLike = (prefix: string) => `${prefix}_${unique("own").replace(/[^A-Za-z0-9]/g, "")}`;

/** A `type` Connect event of a Stripe object our API did not make. */
function connectEvent(type: string, object: Record<string, unknown>) {
  return {
    id: stripeLike("evt"),
    object: "event",
    type,
    account: tenant.account,
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    data: { object: { livemode: false, ...object } },
  };
}

function customerCreated(metadata: Record<string, string>) {
  const stripeId = stripeLike("cus");
  const event = connectEvent("customer.created", {
    id: stripeId,
    object: "customer",
    email: "own@example.com",
    name: "Own",
    metadata,
  });
  return { stripeId, event };
}

async function deliver(event: { id: string }) {
  const res = await sendSigned(event, { path: "/webhooks/stripe/connect", secret: CONNECT_SECRET });
  expect(res.status).toBe(200);
  return (await processed([event.id], 15_000))[event.id];
}

const rowOf = (stripeId: string) =>
  env.DB.prepare("SELECT id, external_id AS externalId, email FROM customers WHERE stripe_customer_id = ?")
    .bind(stripeId)
    .first<{ id: string; externalId: string | null; email: string | null }>();

describe("the mirror and a tenant's own Stripe customers", () => {
  it("metadata naming another customer's external id: stored without it; the other keeps it", async () => {
    const external = unique("ext");
    const first = await makeCustomer(tenant, { external_id: external });
    const { stripeId, event } = customerCreated({ external_id: external });
    expect(await deliver(event)).toMatchObject({ status: "processed" });
    expect(await rowOf(stripeId)).toMatchObject({ externalId: null, email: "own@example.com" });
    expect(await rowOf(first.stripe_customer_id)).toMatchObject({ id: first.id, externalId: external });
  });

  it("metadata naming another customer's id (ours): stored under a new id; the other is untouched", async () => {
    const first = await makeCustomer(tenant);
    const { stripeId, event } = customerCreated({ customer_id: first.id });
    expect(await deliver(event)).toMatchObject({ status: "processed" });
    const stored = await rowOf(stripeId);
    expect(stored?.id).toMatch(/^cust_/);
    expect(stored?.id).not.toBe(first.id);
    expect(await rowOf(first.stripe_customer_id)).toMatchObject({ id: first.id, email: first.email });
  });

  it("an invoice whose metadata names another invoice's id: stored under a new id; the other is untouched", async () => {
    const customer = await payingCustomer(tenant);
    const first = await makeInvoice(tenant, {
      customer: customer.id,
      currency: "usd",
      items: [{ unit_amount: 500, quantity: 1, description: "One" }],
    });
    const stripeId = stripeLike("in");
    const event = connectEvent("invoice.created", {
      id: stripeId,
      object: "invoice",
      customer: customer.stripe_customer_id,
      status: "draft",
      currency: "usd",
      total: 900,
      metadata: { invoice_id: first.id as string },
    });
    expect(await deliver(event)).toMatchObject({ status: "processed" });
    const rows = await env.DB.prepare(
      "SELECT id, stripe_invoice_id AS stripeId, total FROM invoices WHERE id = ? OR stripe_invoice_id = ?",
    )
      .bind(first.id, stripeId)
      .all<{ id: string; stripeId: string; total: number }>();
    expect(rows.results).toHaveLength(2);
    expect(rows.results.find((row) => row.id === first.id)).toMatchObject({ total: 500 });
    expect(rows.results.find((row) => row.stripeId === stripeId)).toMatchObject({
      id: expect.stringMatching(/^inv_/),
      total: 900,
    });
  });

  it("a snapshot read back from Stripe naming another customer's external id: the customer keeps its own", async () => {
    const external = unique("ext");
    const holder = await makeCustomer(tenant, { external_id: external });
    const other = await makeCustomer(tenant);
    // At Stripe, the other customer is given the holder's external id behind our back.
    const changed = await fetch(`${doubleUrl()}/v1/customers/${other.stripe_customer_id}`, {
      method: "POST",
      headers: {
        Authorization: "Bearer sk_test_tenant_script",
        "Stripe-Account": tenant.account,
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams({ "metadata[external_id]": external }),
    });
    expect(changed.status).toBe(200);
    // A same-second snapshot that differs from the mirror's: the run reads the customer back.
    const row = await env.DB.prepare("SELECT last_event_created AS stamp FROM customers WHERE id = ?")
      .bind(other.id)
      .first<{ stamp: number }>();
    const event = {
      ...connectEvent("customer.updated", {
        id: other.stripe_customer_id,
        object: "customer",
        name: "Not the name",
      }),
      created: row?.stamp ?? 0,
    };
    expect(await deliver(event)).toMatchObject({ status: "processed" });
    expect(await rowOf(other.stripe_customer_id)).toMatchObject({ id: other.id, externalId: null });
    expect(await rowOf(holder.stripe_customer_id)).toMatchObject({ id: holder.id, externalId: external });
  });

  it("a subscription whose metadata names another subscription's id: stored under a new id", async () => {
    const plan = await makePlan(tenant, { trial_days: 0 });
    const customer = await payingCustomer(tenant);
    const first = await asKey(tenant.keys.test_secret, "/api/v1/auth/subscriptions/", {
      body: { customer: customer.id, plan: plan.id },
    });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    const stripeId = stripeLike("sub");
    const event = connectEvent("customer.subscription.created", {
      id: stripeId,
      object: "subscription",
      customer: customer.stripe_customer_id,
      status: "active",
      items: {
        data: [
          {
            price: {
              id: plan.stripe_price_id,
              unit_amount: 2000,
              currency: "usd",
              recurring: { interval: "month" },
            },
            quantity: 1,
          },
        ],
      },
      metadata: { subscription_id: first.body.id as string },
    });
    expect(await deliver(event)).toMatchObject({ status: "processed" });
    const rows = await env.DB.prepare(
      "SELECT id, stripe_subscription_id AS stripeId FROM customer_subscriptions WHERE id = ? OR stripe_subscription_id = ?",
    )
      .bind(first.body.id, stripeId)
      .all<{ id: string; stripeId: string }>();
    expect(rows.results).toHaveLength(2);
    expect(rows.results.find((row) => row.id === first.body.id)?.stripeId).toBe(
      first.body.stripe_subscription_id,
    );
    expect(rows.results.find((row) => row.stripeId === stripeId)?.id).toMatch(/^subs_/);
  });

  it("metadata naming another tenant's customer id: stored under a new id; the other tenant's row is untouched", async () => {
    const other = await billingTenant();
    const theirs = await makeCustomer(other);
    const { stripeId, event } = customerCreated({ customer_id: theirs.id });
    expect(await deliver(event)).toMatchObject({ status: "processed" });
    const stored = await env.DB.prepare(
      "SELECT id, tenant_id AS tenantId FROM customers WHERE stripe_customer_id = ?",
    )
      .bind(stripeId)
      .first<{ id: string; tenantId: string }>();
    expect(stored).toMatchObject({ id: expect.stringMatching(/^cust_/), tenantId: tenant.tenantId });
    expect(stored?.id).not.toBe(theirs.id);
    const row = await env.DB.prepare("SELECT tenant_id AS tenantId, email FROM customers WHERE id = ?")
      .bind(theirs.id)
      .first<{ tenantId: string; email: string }>();
    expect(row).toEqual({ tenantId: other.tenantId, email: theirs.email });
  });

  it("two new customers of one run naming the same free id and external id: the first takes them, the second is stored without", async () => {
    // Both in one run (stored as received, then processed together), so the run's own first
    // insert is what the second must not collide with; neither value is held before the run.
    const copiedId = `cust_${crypto.randomUUID().replaceAll("-", "").slice(0, 22)}`;
    const external = unique("ext");
    const created = Math.floor(Date.now() / 1000);
    const pair = [
      customerCreated({ customer_id: copiedId, external_id: external }),
      customerCreated({ customer_id: copiedId, external_id: external }),
    ];
    // Same second: the run takes them in id order, so pair[0] comes first.
    const events = pair.map(({ event }, index) => ({
      ...event,
      id: `evt_pair_${index}_${event.id}`,
      created,
    }));
    const ids = events.map((event) => event.id);
    await recordReceivedConnectEvents(tenant.account, events);
    expect(await processStripeEvents(testContext(), tenant.tenantId, ids)).toMatchObject({ retry: [] });

    const rows = await stripeEventRows(ids);
    expect(ids.map((id) => rows[id]?.status)).toEqual(["processed", "processed"]);
    const [first, second] = await Promise.all(pair.map(({ stripeId }) => rowOf(stripeId)));
    expect(first).toMatchObject({ id: copiedId, externalId: external });
    expect(second?.id).toMatch(/^cust_/);
    expect(second?.id).not.toBe(copiedId);
    expect(second?.externalId).toBeNull();
  });
});
