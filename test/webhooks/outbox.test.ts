import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type CustomerRow, customers } from "../../src/db/schema";
import { newId } from "../../src/lib/crypto";
import { createdByApi } from "../../src/modules/billing-mirror/api-created";
import { commitChange } from "../../src/modules/webhooks/outbox";
import { testContext } from "../context";
import { registerTenant, unique } from "../harness";

/** A customer row as the API's create or the mirror would write it. */
function customerRow(tenantId: string, stripeCustomerId: string, name: string, stamp: number): CustomerRow {
  const now = new Date();
  return {
    id: newId("cust"),
    tenantId,
    livemode: false,
    externalId: null,
    stripeCustomerId,
    email: null,
    name,
    phone: null,
    description: null,
    address: null,
    metadata: {},
    status: "active",
    defaultPaymentMethod: null,
    deletedAt: null,
    lastEventCreated: stamp,
    createdAt: now,
    updatedAt: now,
  };
}

/** The API's create of `row`, as `createCustomer` commits it. */
function createByApi(tenant: { id: string; companyName: string }, row: CustomerRow) {
  const ctx = testContext();
  const created = createdByApi(
    ctx.db,
    customers,
    { column: customers.stripeCustomerId, value: row.stripeCustomerId },
    row,
  );
  return commitChange(ctx, {
    tenant,
    statements: [created.statement],
    unlessRecorded: created.unlessRecorded,
    event: { type: "customer.created", object: { id: row.id }, livemode: false },
    audit: { action: "customer.created", targetType: "customer", targetId: row.id },
  });
}

const stored = (stripeCustomerId: string) =>
  env.DB.prepare("SELECT id, name FROM customers WHERE stripe_customer_id = ?")
    .bind(stripeCustomerId)
    .all<{ id: string; name: string }>()
    .then((result) => result.results);

const createdEvents = async (tenantId: string) =>
  (
    await env.DB.prepare(
      "SELECT count(*) AS n FROM webhook_events WHERE tenant_id = ? AND type = 'customer.created'",
    )
      .bind(tenantId)
      .first<{ n: number }>()
  )?.n;

const audits = async (tenantId: string) =>
  (
    await env.DB.prepare(
      "SELECT count(*) AS n FROM audit_log WHERE tenant_id = ? AND action = 'customer.created'",
    )
      .bind(tenantId)
      .first<{ n: number }>()
  )?.n;

describe("a create the billing mirror may have recorded first", () => {
  async function setup() {
    const registered = await registerTenant();
    const tenant = { id: registered.tenantId, companyName: "Acme" };
    const stripeCustomerId = `cus_${unique()}`;
    return { tenant, stripeCustomerId };
  }

  it("not recorded: the row, its event and its audit record are written", async () => {
    const { tenant, stripeCustomerId } = await setup();
    const row = customerRow(tenant.id, stripeCustomerId, "From the API", 100);
    expect(await createByApi(tenant, row)).not.toBeNull();
    expect(await stored(stripeCustomerId)).toEqual([{ id: row.id, name: "From the API" }]);
    expect(await createdEvents(tenant.id)).toBe(1);
    expect(await audits(tenant.id)).toBe(1);
  });

  it("recorded first by the mirror: its row takes the API's view, no second event, the audit record stays", async () => {
    const { tenant, stripeCustomerId } = await setup();
    const row = customerRow(tenant.id, stripeCustomerId, "From the API", 100);
    await env.DB.prepare(
      "INSERT INTO customers (id, tenant_id, livemode, stripe_customer_id, name, metadata, last_event_created) VALUES (?, ?, 0, ?, 'From the event', '{}', 100)",
    )
      .bind(row.id, tenant.id, stripeCustomerId)
      .run();
    expect(await createByApi(tenant, row)).toBeNull();
    expect(await stored(stripeCustomerId)).toEqual([{ id: row.id, name: "From the API" }]);
    expect(await createdEvents(tenant.id)).toBe(0);
    expect(await audits(tenant.id)).toBe(1);
  });

  it("recorded first from a newer event: the mirror's row is kept", async () => {
    const { tenant, stripeCustomerId } = await setup();
    const row = customerRow(tenant.id, stripeCustomerId, "From the API", 100);
    await env.DB.prepare(
      "INSERT INTO customers (id, tenant_id, livemode, stripe_customer_id, name, metadata, last_event_created) VALUES (?, ?, 0, ?, 'From a later event', '{}', 101)",
    )
      .bind(row.id, tenant.id, stripeCustomerId)
      .run();
    expect(await createByApi(tenant, row)).toBeNull();
    expect(await stored(stripeCustomerId)).toEqual([{ id: row.id, name: "From a later event" }]);
    expect(await createdEvents(tenant.id)).toBe(0);
  });
});
