// A mirror run reads the tenant's rows once, up front, and writes at its end: an API change of the
// same customer committed in between is newer than what the run holds.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  asKey,
  type BillingTenant,
  billingTenant,
  makeCustomer,
  relayConnectEvents,
  tenantEvents,
} from "../billing";
import { heldMirrorRun } from "../platform-billing/helpers";
import { doubleUrl, failNext, stripeObject } from "../stripe-double";

const CUSTOMERS = "/api/v1/auth/customers/";
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A customer.updated of the customer as Stripe holds it now, of `created`. */
async function updatedAtStripe(own: BillingTenant, stripeId: string, created: number) {
  return {
    id: `evt_cus_${Date.now()}_${Math.random().toString(36).slice(2, 8)}`,
    object: "event",
    type: "customer.updated",
    account: own.account,
    created,
    livemode: false,
    data: { object: await stripeObject(`/v1/customers/${stripeId}`, own.account) },
  };
}

const change = (own: BillingTenant, id: string, body: Record<string, unknown>) =>
  asKey(own.keys.test_secret, `${CUSTOMERS}${id}/`, { method: "PATCH", body });

describe("a mirror run and an API change of one customer", () => {
  it("a run that read the customer before the API changed its email does not put the old one back", {
    timeout: 30_000,
  }, async () => {
    const own = await billingTenant();
    // The run waits on another customer's read; this one's snapshot is of the second after its creation.
    const holder = await makeCustomer(own);
    const customer = await makeCustomer(own, { email: "before@example.com" });
    await pause(1_100);
    const event = await updatedAtStripe(own, customer.stripe_customer_id, Math.floor(Date.now() / 1000));
    const run = await heldMirrorRun(own, holder.id, event);
    await pause(1_100);
    const changed = await change(own, customer.id, { email: "after@example.com" });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect(await run.committed).toEqual({ retry: [] });
    const got = await asKey(own.keys.test_secret, `${CUSTOMERS}${customer.id}/`);
    expect(got.body).toMatchObject({ email: "after@example.com" });
  });

  it("a run's snapshot of the same second as the API's delete does not bring the customer back", {
    timeout: 30_000,
  }, async () => {
    const own = await billingTenant();
    const holder = await makeCustomer(own);
    const customer = await makeCustomer(own);
    await pause(1_100);
    // At the start of a second: the run's snapshot and the API's delete are of that second.
    await pause(1000 - (Date.now() % 1000) + 20);
    const event = await updatedAtStripe(own, customer.stripe_customer_id, Math.floor(Date.now() / 1000));
    const run = await heldMirrorRun(own, holder.id, event, { settleMs: 150 });
    const deleted = await asKey(own.keys.test_secret, `${CUSTOMERS}${customer.id}/`, { method: "DELETE" });
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);
    expect(await run.committed).toEqual({ retry: [] });
    const got = await asKey(own.keys.test_secret, `${CUSTOMERS}${customer.id}/`);
    expect(got.body).toMatchObject({ deleted: true });
  });

  it("a run that read the customer back from Stripe after the API changed it does not report the change again", {
    timeout: 30_000,
  }, async () => {
    const own = await billingTenant();
    const customer = await makeCustomer(own, { name: "Before" });
    const other = await makeCustomer(own);
    await pause(1_100);
    const event = await updatedAtStripe(own, other.stripe_customer_id, Math.floor(Date.now() / 1000));
    // The run settles a tie of this customer by reading it at Stripe, after the API's change.
    const run = await heldMirrorRun(own, customer.id, event);
    const changed = await change(own, customer.id, { name: "After" });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect(await run.committed).toEqual({ retry: [] });
    const got = await asKey(own.keys.test_secret, `${CUSTOMERS}${customer.id}/`);
    expect(got.body).toMatchObject({ name: "After" });
    const told = (await tenantEvents(own.tenantId, "customer.updated")).filter(
      (event) => event.data.object.id === customer.id,
    );
    expect(told.map((event) => event.data.object.name)).toEqual(["After"]);
  });

  it("an API change answered in the second the mirror stored the deletion leaves the customer deleted, untold", {
    timeout: 30_000,
  }, async () => {
    const own = await billingTenant();
    const customer = await makeCustomer(own, { name: "Before" });
    await pause(1_100);
    // At the start of a second: Stripe answers the change in it, and the mirror stores a deletion
    // of the same second (the tenant's dashboard) while that answer is on its way.
    await pause(1000 - (Date.now() % 1000) + 20);
    const second = Math.floor(Date.now() / 1000);
    await failNext({
      method: "POST",
      path: `/v1/customers/${customer.stripe_customer_id}`,
      account: own.account,
      delay_ms: 600,
    });
    const changing = change(own, customer.id, { name: "After" });
    await pause(250);
    await env.DB.prepare(
      "UPDATE customers SET status = 'deleted', deleted_at = ?, last_event_created = ? WHERE id = ?",
    )
      .bind(second * 1000, second, customer.id)
      .run();
    const changed = await changing;
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect(changed.body).toMatchObject({ deleted: true, name: "Before" });
    const got = await asKey(own.keys.test_secret, `${CUSTOMERS}${customer.id}/`);
    expect(got.body).toMatchObject({ deleted: true, name: "Before" });
    const told = (await tenantEvents(own.tenantId, "customer.updated")).filter(
      (event) => event.data.object.id === customer.id,
    );
    expect(told).toEqual([]);
  });

  it("a late event of a change made before the API set the default payment method does not take it back", {
    timeout: 30_000,
  }, async () => {
    const own = await billingTenant();
    const customer = await makeCustomer(own, { name: "Before" });
    await pause(1_100);
    // Renamed in the tenant's dashboard: its customer.updated (no default card yet) waits.
    const renamed = await fetch(`${doubleUrl()}/v1/customers/${customer.stripe_customer_id}`, {
      method: "POST",
      headers: {
        Authorization: "Bearer sk_test_dashboard",
        "Stripe-Account": own.account,
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: "name=Dashboard",
    });
    expect(renamed.status).toBe(200);
    await pause(1_100);
    const attached = await asKey(own.keys.test_secret, `${CUSTOMERS}${customer.id}/payment-methods/`, {
      body: { payment_method: "pm_card_visa", set_default: true },
    });
    expect(attached.status, JSON.stringify(attached.body)).toBe(201);
    const card = attached.body.id as string;
    await relayConnectEvents(own.account, {
      only: (event) =>
        event.type === "customer.updated" &&
        event.data.object.name === "Dashboard" &&
        !(event.data.object.invoice_settings as { default_payment_method?: string } | undefined)
          ?.default_payment_method,
    });
    const got = await asKey(own.keys.test_secret, `${CUSTOMERS}${customer.id}/`);
    expect(got.body).toMatchObject({ default_payment_method: card });
    const told = (await tenantEvents(own.tenantId, "customer.updated")).filter(
      (event) => event.data.object.id === customer.id,
    );
    expect(told.map((event) => event.data.object.default_payment_method)).not.toContain(null);
  });
});
