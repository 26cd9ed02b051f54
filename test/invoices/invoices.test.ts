import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { Logger } from "../../src/lib/logger";
import {
  asKey,
  type BillingTenant,
  billingTenant,
  makeCustomer,
  makePlan,
  relayConnectEvents,
  tenantEvents,
} from "../billing";
import { testContext } from "../context";
import { call, expectError, registerTenant, unique } from "../harness";
import {
  applicationFeeOf,
  INVOICES,
  invoiceVerb,
  makeCoupon,
  makeInvoice,
  ownSeatDraft,
  payingCustomer,
} from "../invoicing";
import { heldMirrorRun, stripeEventRows } from "../platform-billing/helpers";
import {
  type DoubleEvent,
  doubleEvents,
  doubleUrl,
  failNext,
  stripeObject,
  stripeRequests,
} from "../stripe-double";

let tenant: BillingTenant;
let plan: { id: string; stripe_price_id: string };
beforeAll(async () => {
  tenant = await billingTenant();
  plan = await makePlan(tenant, { name: "Seat", price_cents: 1500, trial_days: 0 });
});

const typesOf = async (type: string, id: string) =>
  (await tenantEvents(tenant.tenantId, type)).filter((event) => event.data.object.id === id).length;

describe("one-off invoices", () => {
  it("creates a draft on the connected account, finalizes it with the platform's fee, pays it; each step a tenant event", async () => {
    const customer = await payingCustomer(tenant);
    const res = await asKey(tenant.keys.test_secret, INVOICES, {
      body: {
        customer: customer.id,
        items: [
          { plan: plan.id, quantity: 2 },
          { unit_amount: 250, quantity: 4, description: "Extra storage" },
        ],
        description: "March add-ons",
        metadata: { order: "A-7" },
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({
      id: expect.stringMatching(/^inv_/),
      object: "invoice",
      customer: customer.id,
      subscription: null,
      status: "draft",
      currency: "usd",
      subtotal: 4000,
      total: 4000,
      total_display: "$40.00",
      application_fee_amount: null,
      description: "March add-ons",
      metadata: { order: "A-7" },
      livemode: false,
    });
    // The tenant's metadata, without the keys we put on the Stripe invoice to find it again.
    expect(res.body.metadata).toEqual({ order: "A-7" });
    expect(res.body.lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ amount: 3000, quantity: 2, description: "Seat" }),
        expect.objectContaining({ amount: 1000, quantity: 4, description: "Extra storage" }),
      ]),
    );
    const created = (await stripeRequests({ path: "/v1/invoices", account: tenant.account })).find(
      (r) => r.method === "POST" && r.headers.idempotency_key === `invoice:${res.body.id}`,
    );
    expect(created?.params).toMatchObject({
      auto_advance: "false",
      metadata: {
        tenant_id: tenant.tenantId,
        invoice_id: res.body.id,
        customer_id: customer.id,
        order: "A-7",
      },
    });
    const items = (await stripeRequests({ path: "/v1/invoiceitems", account: tenant.account })).filter((r) =>
      r.headers.idempotency_key?.startsWith(`invoice:${res.body.id}:item:`),
    );
    expect(items).toHaveLength(2);

    const open = await invoiceVerb(tenant, res.body.id, "finalize");
    expect(open.status, JSON.stringify(open.body)).toBe(200);
    expect(open.body).toMatchObject({
      status: "open",
      number: expect.any(String),
      application_fee_amount: 600,
      hosted_invoice_url: expect.stringContaining("http"),
      invoice_pdf: expect.stringContaining("http"),
      finalized_at: expect.any(String),
    });
    const atStripe = await stripeObject(`/v1/invoices/${res.body.stripe_invoice_id}`, tenant.account);
    expect(atStripe).toMatchObject({ status: "open", application_fee_amount: 600, auto_advance: true });

    const paid = await invoiceVerb(tenant, res.body.id, "pay");
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    expect(paid.body).toMatchObject({
      status: "paid",
      amount_paid: 4000,
      amount_remaining: 0,
      attempt_count: 1,
    });
    expect((await applicationFeeOf(tenant.account, res.body.stripe_invoice_id)).amount).toBe(600);
    for (const type of ["invoice.created", "invoice.finalized", "invoice.paid"])
      expect(await typesOf(type, res.body.id), type).toBe(1);

    // Stripe's own events of all this change nothing more, in any order, twice.
    await relayConnectEvents(tenant.account, { shuffle: true, twice: true });
    const got = await call(`${INVOICES}${res.body.id}/`, { token: tenant.tokens.developer });
    expect(got.body).toMatchObject({ status: "paid", amount_paid: 4000, application_fee_amount: 600 });
    expect(got.body.metadata).toEqual({ order: "A-7" });
    for (const type of ["invoice.created", "invoice.finalized", "invoice.paid"])
      expect(await typesOf(type, res.body.id), type).toBe(1);
  });

  it("sends a send_invoice invoice, which stays open until paid on its hosted page; void ends it", async () => {
    const customer = await makeCustomer(tenant);
    const draft = await makeInvoice(tenant, {
      customer: customer.id,
      collection_method: "send_invoice",
      days_until_due: 14,
      currency: "usd",
      items: [{ unit_amount: 9900, description: "Audit" }],
    });
    expect(draft).toMatchObject({ collection_method: "send_invoice", due_date: expect.any(String) });
    const sent = await invoiceVerb(tenant, draft.id, "send");
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    expect(sent.body).toMatchObject({ status: "open", application_fee_amount: 1485 });
    const voided = await invoiceVerb(tenant, draft.id, "void");
    expect(voided.body).toMatchObject({ status: "void", voided_at: expect.any(String) });
    expect(await typesOf("invoice.voided", draft.id)).toBe(1);
  });

  it("every verb follows Stripe's state machine: 409 with the state when it does not apply", async () => {
    const customer = await payingCustomer(tenant);
    const draft = await makeInvoice(tenant, { customer: customer.id, items: [{ plan: plan.id }] });
    const refused = async (verb: string, status: string) => {
      const body = expectError(await invoiceVerb(tenant, draft.id, verb), 409, "invalid_state_transition");
      expect(body.status, verb).toBe(status);
    };
    await refused("void", "draft");
    await refused("mark_uncollectible", "draft");
    await refused("send", "draft");
    expect((await invoiceVerb(tenant, draft.id, "finalize")).body.status).toBe("open");
    await refused("finalize", "open");
    const uncollectible = await invoiceVerb(tenant, draft.id, "mark_uncollectible");
    expect(uncollectible.body.status).toBe("uncollectible");
    await refused("mark_uncollectible", "uncollectible");
    expect((await invoiceVerb(tenant, draft.id, "pay")).body).toMatchObject({
      status: "paid",
      amount_paid: 1500,
    });
    for (const verb of ["finalize", "pay", "void", "mark_uncollectible"]) await refused(verb, "paid");
    expect(await typesOf("invoice.marked_uncollectible", draft.id)).toBe(1);
  });

  it("the same verb 10 times at once: one 200, the rest 409 (not 502), and one tenant event for the change", {
    timeout: 30_000,
  }, async () => {
    // A tenant of its own, its billing user calling: the shared tenant's key keeps its rate.
    const own = await billingTenant();
    const ownPlan = await makePlan(own, { name: "Seat", price_cents: 1500, trial_days: 0 });
    const customer = await payingCustomer(own);
    const count = async (type: string, id: string) =>
      (await tenantEvents(own.tenantId, type)).filter((event) => event.data.object.id === id).length;
    const verbOf = (id: string, verb: string) =>
      call(`${INVOICES}${id}/${verb}/`, { token: own.tokens.billing, method: "POST" });
    for (const [verb, type] of [
      ["finalize", "invoice.finalized"],
      ["void", "invoice.voided"],
      ["pay", "invoice.paid"],
      ["mark_uncollectible", "invoice.marked_uncollectible"],
    ] as const) {
      const draft = await makeInvoice(own, { customer: customer.id, items: [{ plan: ownPlan.id }] });
      if (verb !== "finalize") expect((await verbOf(draft.id, "finalize")).status).toBe(200);
      const all = await Promise.all(Array.from({ length: 10 }, () => verbOf(draft.id, verb)));
      expect(
        all.map((res) => res.status).sort(),
        `${verb}: ${JSON.stringify(all.map((res) => res.body.error ?? res.body.status))}`,
      ).toEqual([200, ...Array(9).fill(409)]);
      expect(await count(type, draft.id), verb).toBe(1);
      // Stripe's own events of it tell the tenant nothing more.
      await relayConnectEvents(own.account);
      expect(await count(type, draft.id), verb).toBe(1);
    }
  });

  it("a pay of a draft that another request finalizes meanwhile still pays it", {
    timeout: 20_000,
  }, async () => {
    const { own, draft } = await ownSeatDraft();
    // The pay's first call (the fee on the draft) reaches Stripe after the finalize's calls.
    await failNext({
      method: "POST",
      path: `/v1/invoices/${draft.stripe_invoice_id}`,
      account: own.account,
      delay_ms: 1_500,
    });
    const paying = invoiceVerb(own, draft.id, "pay");
    await new Promise((resolve) => setTimeout(resolve, 300));
    const open = await invoiceVerb(own, draft.id, "finalize");
    expect(open.body).toMatchObject({ status: "open", application_fee_amount: 225 });
    const paid = await paying;
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    expect(paid.body).toMatchObject({ status: "paid", amount_paid: 1500, application_fee_amount: 225 });
  });

  it("a draft finalized in the tenant's dashboard without our fee is not paid through us (409)", async () => {
    const { own, draft } = await ownSeatDraft();
    const finalized = await fetch(`${doubleUrl()}/v1/invoices/${draft.stripe_invoice_id}/finalize`, {
      method: "POST",
      headers: {
        Authorization: "Bearer sk_test_dashboard",
        "Stripe-Account": own.account,
        "Content-Type": "application/x-www-form-urlencoded",
      },
    });
    expect(finalized.status).toBe(200);
    const refused = expectError(await invoiceVerb(own, draft.id, "pay"), 409, "invalid_state_transition");
    expect(refused.status).toBe("open");
    const atStripe = await stripeObject(`/v1/invoices/${draft.stripe_invoice_id}`, own.account);
    expect(atStripe).toMatchObject({ status: "open", application_fee_amount: null });
  });

  it("a declined payment is 402 payment_failed; the attempt counts, and another card pays", async () => {
    const customer = await payingCustomer(tenant, "pm_card_chargeCustomerFail");
    const draft = await makeInvoice(tenant, { customer: customer.id, items: [{ plan: plan.id }] });
    const failed = expectError(await invoiceVerb(tenant, draft.id, "pay"), 402, "payment_failed");
    expect(failed.invoice).toMatchObject({ id: draft.id, status: "open", attempt_count: 1 });
    expect(failed.decline_code).toBeTruthy();
    const got = await asKey(tenant.keys.test_secret, `${INVOICES}${draft.id}/`);
    expect(got.body).toMatchObject({ status: "open", attempt_count: 1, application_fee_amount: 225 });
    const paid = await invoiceVerb(tenant, draft.id, "pay", { payment_method: "pm_card_visa" });
    expect(paid.body).toMatchObject({ status: "paid", attempt_count: 2 });
    const outOfBand = await makeInvoice(tenant, { customer: customer.id, items: [{ plan: plan.id }] });
    const recorded = await invoiceVerb(tenant, outOfBand.id, "pay", { paid_out_of_band: true });
    expect(recorded.body).toMatchObject({ status: "paid" });
  });

  it("pay with a payment method the customer does not have is 404, not a Stripe failure", async () => {
    // A tenant of its own: the shared tenant's key keeps its rate.
    const own = await billingTenant();
    const ownPlan = await makePlan(own, { name: "Seat", price_cents: 1500, trial_days: 0 });
    const customer = await payingCustomer(own);
    const other = await payingCustomer(own);
    const methods = await asKey(own.keys.test_secret, `/api/v1/auth/customers/${other.id}/payment-methods/`);
    const othersCard = methods.body.data[0]?.id as string;
    expect(othersCard).toMatch(/^pm_/);
    const draft = await makeInvoice(own, { customer: customer.id, items: [{ plan: ownPlan.id }] });
    for (const payment_method of [othersCard, "pm_nope"])
      expectError(await invoiceVerb(own, draft.id, "pay", { payment_method }), 404, "not_found");
    expect((await invoiceVerb(own, draft.id, "pay")).body).toMatchObject({ status: "paid" });
  });

  it("refuses bad input (400), unknown plans and customers (404), inactive plans (409), without calling Stripe", async () => {
    const customer = await makeCustomer(tenant);
    const before = (await stripeRequests({ path: "/v1/invoices", account: tenant.account })).length;
    for (const body of [
      { customer: customer.id, items: [] },
      { customer: customer.id, items: [{ plan: plan.id, unit_amount: 100 }] },
      { customer: customer.id, items: [{ unit_amount: 100 }] },
      { customer: customer.id, items: [{ unit_amount: -5, description: "x" }] },
      { customer: customer.id, items: [{ plan: plan.id, quantity: 0 }] },
      { customer: customer.id, items: [{ plan: plan.id }], collection_method: "send_invoice" },
      { customer: customer.id, items: [{ plan: plan.id }], days_until_due: 3 },
      { customer: customer.id, items: [{ unit_amount: 100, description: "x" }] },
      { customer: customer.id, items: [{ plan: plan.id }], currency: "EUR" },
      { customer: customer.id, items: [{ plan: plan.id }], currency: "eur" },
      { customer: customer.id, items: [{ plan: plan.id }], coupon: "A", promotion_code: "B" },
    ])
      expectError(await asKey(tenant.keys.test_secret, INVOICES, { body }), 400, "validation_error");
    // (As a user: the shared tenant's key keeps its rate for the tests below.)
    // A key Stripe's form encoding would nest, and one of ours (it would overwrite the tenant's).
    for (const metadata of [{ "order[id]": "A-7" }, { customer_id: "crm-1" }])
      expectError(
        await call(INVOICES, {
          token: tenant.tokens.billing,
          body: { customer: customer.id, items: [{ plan: plan.id }], metadata },
        }),
        400,
        "validation_error",
      );
    expectError(
      await asKey(tenant.keys.test_secret, INVOICES, {
        body: { customer: customer.id, items: [{ plan: "plan_nope" }] },
      }),
      404,
      "not_found",
    );
    expectError(
      await asKey(tenant.keys.test_secret, INVOICES, {
        body: { customer: "cust_nope", items: [{ plan: plan.id }] },
      }),
      404,
      "not_found",
    );
    const retired = await makePlan(tenant, { name: "Retired" });
    await call(`/api/v1/auth/plans/${retired.id}/`, { token: tenant.tokens.owner, method: "DELETE" });
    expectError(
      await asKey(tenant.keys.test_secret, INVOICES, {
        body: { customer: customer.id, items: [{ plan: retired.id }] },
      }),
      409,
      "invalid_state_transition",
    );
    expect((await stripeRequests({ path: "/v1/invoices", account: tenant.account })).length).toBe(before);
  });

  it("an amount-off coupon in another currency is 400 on the field that named it, by coupon or promotion code, before Stripe", async () => {
    const own = await billingTenant();
    const usd = await makePlan(own, { name: "Seat", price_cents: 1500, trial_days: 0 });
    const customer = await makeCustomer(own);
    const euros = await makeCoupon(own, { percent_off: undefined, amount_off: 300, currency: "eur" });
    const code = unique("EUR").toUpperCase();
    const promo = await asKey(own.keys.test_secret, `/api/v1/auth/coupons/${euros.id}/promotion-codes/`, {
      body: { code },
    });
    expect(promo.status, JSON.stringify(promo.body)).toBe(201);
    const before = (await stripeRequests({ path: "/v1/invoices", account: own.account })).length;
    for (const [discount, field] of [
      [{ coupon: euros.id }, "coupon"],
      [{ promotion_code: code }, "promotion_code"],
    ] as const) {
      const res = await asKey(own.keys.test_secret, INVOICES, {
        body: { customer: customer.id, items: [{ plan: usd.id }], ...discount },
      });
      expect(expectError(res, 400, "validation_error").details).toEqual([
        { field, message: expect.stringMatching(/eur.*usd/) },
      ]);
    }
    expect((await stripeRequests({ path: "/v1/invoices", account: own.account })).length).toBe(before);
  });

  it("an item's amount (unit × quantity) above Stripe's 99999999 minor units is 400 before Stripe, for amounts and plans", async () => {
    const own = await billingTenant();
    const dear = await makePlan(own, { name: "Dear", price_cents: 50_000_000, trial_days: 0 });
    const customer = await makeCustomer(own);
    const before = (await stripeRequests({ path: "/v1/invoices", account: own.account })).length;
    for (const [item, field] of [
      [{ unit_amount: 50_000_000, quantity: 2, description: "Big" }, "items.0"],
      [{ plan: dear.id, quantity: 2 }, "items.0.quantity"],
    ] as const) {
      const res = await asKey(own.keys.test_secret, INVOICES, {
        body: { customer: customer.id, currency: "usd", items: [item] },
      });
      expect(expectError(res, 400, "validation_error").details).toEqual([
        { field, message: expect.stringContaining("99999999") },
      ]);
    }
    expect((await stripeRequests({ path: "/v1/invoices", account: own.account })).length).toBe(before);
    const fits = await asKey(own.keys.test_secret, INVOICES, {
      body: { customer: customer.id, items: [{ plan: dear.id, quantity: 1 }] },
    });
    expect(fits.status, JSON.stringify(fits.body)).toBe(201);
  });

  it("items summing above Stripe's 99999999 minor units are 400 on items before Stripe, amounts and plans alike; exactly the cap fits", async () => {
    const own = await billingTenant();
    const dear = await makePlan(own, { name: "Dear", price_cents: 50_000_000, trial_days: 0 });
    const customer = await makeCustomer(own);
    const before = (await stripeRequests({ path: "/v1/invoices", account: own.account })).length;
    for (const items of [
      [
        { unit_amount: 60_000_000, description: "Half and more" },
        { unit_amount: 40_000_000, description: "The rest and one" },
      ],
      [{ plan: dear.id }, { unit_amount: 25_000_000, quantity: 2, description: "Plus" }],
    ]) {
      const res = await asKey(own.keys.test_secret, INVOICES, {
        body: { customer: customer.id, currency: "usd", items },
      });
      expect(expectError(res, 400, "validation_error").details).toEqual([
        { field: "items", message: expect.stringContaining("99999999") },
      ]);
    }
    expect((await stripeRequests({ path: "/v1/invoices", account: own.account })).length).toBe(before);
    const fits = await asKey(own.keys.test_secret, INVOICES, {
      body: {
        customer: customer.id,
        items: [{ plan: dear.id }, { unit_amount: 49_999_999, description: "To the cent" }],
      },
    });
    expect(fits.status, JSON.stringify(fits.body)).toBe(201);
    expect(fits.body.total).toBe(99_999_999);
  });

  it("a plan item is its price billed once: Stripe refuses a recurring price on an invoice item (the double too), so the item is a one-time price of the plan's product", async () => {
    const own = await billingTenant();
    const seat = await makePlan(own, { name: "Seat", price_cents: 1500, trial_days: 0 });
    const customer = await makeCustomer(own);
    const direct = await fetch(`${doubleUrl()}/v1/invoiceitems`, {
      method: "POST",
      headers: {
        Authorization: "Bearer sk_test_x",
        "Stripe-Account": own.account,
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams({
        customer: customer.stripe_customer_id,
        "pricing[price]": seat.stripe_price_id,
      }),
    });
    expect(direct.status).toBe(400);
    const refusal = ((await direct.json()) as { error: { message: string; param: string } }).error;
    expect(refusal).toMatchObject({
      param: "pricing[price]",
      message:
        "The price specified is set to `type=recurring` but this field only accepts prices with `type=one_time`.",
    });

    const draft = await makeInvoice(own, {
      customer: customer.id,
      items: [{ plan: seat.id, quantity: 3 }],
    });
    expect(draft.lines).toEqual([
      expect.objectContaining({ amount: 4500, quantity: 3, description: "Seat" }),
    ]);
    const [sent] = (await stripeRequests({ path: "/v1/invoiceitems", account: own.account })).filter((r) =>
      r.headers.idempotency_key?.startsWith(`invoice:${draft.id}:item:`),
    );
    expect(sent?.params).not.toHaveProperty("pricing");
    expect(sent?.params).toMatchObject({
      price_data: { product: seat.stripe_product_id, currency: "usd", unit_amount: "1500" },
      quantity: "3",
    });
  });

  it("a Stripe failure while adding items leaves no draft behind, here or at Stripe", async () => {
    const customer = await makeCustomer(tenant);
    await failNext({
      method: "POST",
      path: "/v1/invoiceitems",
      account: tenant.account,
      status: 500,
      times: 3,
    });
    expectError(
      await asKey(tenant.keys.test_secret, INVOICES, {
        body: { customer: customer.id, items: [{ plan: plan.id }] },
      }),
      502,
      "stripe_error",
    );
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM invoices WHERE customer_id = ?")
      .bind(customer.id)
      .first<{ n: number }>();
    expect(rows?.n).toBe(0);
    const deleted = (await stripeRequests({ path: "/v1/invoices", account: tenant.account })).filter(
      (r) => r.method === "DELETE",
    );
    expect(deleted.length).toBeGreaterThan(0);
  });
});

describe("a draft deleted at Stripe", () => {
  it("is 404 to verbs at once, and once invoice.deleted is mirrored, to reads and lists; its older events do not bring it back", async () => {
    const customer = await payingCustomer(tenant);
    const draft = await makeInvoice(tenant, {
      customer: customer.id,
      currency: "usd",
      items: [{ unit_amount: 1234, description: "To be deleted" }],
    });
    const ofDraft = (event: DoubleEvent) => event.data.object.id === draft.stripe_invoice_id;
    await relayConnectEvents(tenant.account, { only: (event) => !ofDraft(event) });
    // The tenant deletes the draft in its Stripe dashboard.
    const gone = await fetch(`${doubleUrl()}/v1/invoices/${draft.stripe_invoice_id}`, {
      method: "DELETE",
      headers: { Authorization: "Bearer sk_test_dashboard", "Stripe-Account": tenant.account },
    });
    expect(gone.status).toBe(200);
    // Stripe has no such invoice any more: 404, as Stripe answers, before the mirror knows.
    const verb = (name: string) =>
      call(`${INVOICES}${draft.id}/${name}/`, { token: tenant.tokens.billing, method: "POST" });
    expectError(await verb("finalize"), 404, "not_found");

    // The deletion's event first, the draft's older ones after it.
    await relayConnectEvents(tenant.account, {
      only: (event) => event.type === "invoice.deleted" && ofDraft(event),
    });
    const older = await relayConnectEvents(tenant.account, { only: ofDraft });
    expect(older.map((event) => event.type)).toContain("invoice.created");

    const read = (path: string) => call(path, { token: tenant.tokens.billing });
    expectError(await read(`${INVOICES}${draft.id}/`), 404, "not_found");
    const drafts = await read(`${INVOICES}?status=draft&customer=${customer.id}`);
    expect(drafts.body.data.map((row: { id: string }) => row.id)).not.toContain(draft.id);
    for (const name of ["finalize", "pay", "send", "void"]) expectError(await verb(name), 404, "not_found");
  });
});

describe("reading invoices", () => {
  it("lists newest first with status, customer, subscription, created and due_date filters", async () => {
    const own = await billingTenant();
    const ownPlan = await makePlan(own, { name: "P", trial_days: 0 });
    const a = await makeCustomer(own);
    const b = await makeCustomer(own);
    const first = await makeInvoice(own, { customer: a.id, items: [{ plan: ownPlan.id }] });
    const second = await makeInvoice(own, {
      customer: b.id,
      items: [{ plan: ownPlan.id }],
      collection_method: "send_invoice",
      days_until_due: 30,
    });
    await asKey(own.keys.test_secret, `${INVOICES}${second.id}/finalize/`, { method: "POST" });
    const list = (query = "") =>
      asKey(own.keys.test_secret, `${INVOICES}?${query}`).then((r) => {
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        return r.body.data.map((invoice: { id: string }) => invoice.id);
      });
    expect(await list()).toEqual([second.id, first.id]);
    expect(await list(`customer=${a.id}`)).toEqual([first.id]);
    expect(await list("status=open")).toEqual([second.id]);
    expect(await list("status=draft")).toEqual([first.id]);
    const soon = new Date(Date.now() + 40 * 86_400_000).toISOString();
    expect(await list(`due_date[lte]=${soon}`)).toEqual([second.id]);
    expect(await list(`created[gte]=${new Date(Date.now() + 60_000).toISOString()}`)).toEqual([]);
    const page = await asKey(own.keys.test_secret, `${INVOICES}?limit=1`);
    expect(page.body).toMatchObject({ has_more: true, next_cursor: expect.any(String) });
    const next = await asKey(own.keys.test_secret, `${INVOICES}?limit=1&cursor=${page.body.next_cursor}`);
    expect(next.body.data.map((invoice: { id: string }) => invoice.id)).toEqual([first.id]);
    expectError(await asKey(own.keys.test_secret, `${INVOICES}?status=nope`), 400, "validation_error");
    expectError(await asKey(own.keys.test_secret, `${INVOICES}?subscription=subs_nope`), 404, "not_found");
  });

  it("roles, keys, modes and tenants", async () => {
    const customer = await makeCustomer(tenant);
    const draft = await makeInvoice(tenant, { customer: customer.id, items: [{ plan: plan.id }] });
    for (const role of ["owner", "admin", "developer", "billing"] as const)
      expect((await call(`${INVOICES}${draft.id}/`, { token: tenant.tokens[role] })).status).toBe(200);
    expectError(
      await call(`${INVOICES}${draft.id}/finalize/`, { token: tenant.tokens.developer, method: "POST" }),
      403,
      "forbidden",
    );
    expectError(
      await call(INVOICES, { token: tenant.tokens.developer, body: { customer: customer.id, items: [] } }),
      403,
      "forbidden",
    );
    const billing = await call(`${INVOICES}${draft.id}/finalize/`, {
      token: tenant.tokens.billing,
      method: "POST",
    });
    expect(billing.status, JSON.stringify(billing.body)).toBe(200);
    expectError(await asKey(tenant.keys.test_public, `${INVOICES}${draft.id}/`), 403, "forbidden");
    expectError(await asKey(tenant.keys.live_secret, `${INVOICES}${draft.id}/`), 404, "not_found");
    expectError(
      await asKey(tenant.keys.live_secret, INVOICES, {
        body: { customer: customer.id, items: [{ plan: plan.id }] },
      }),
      409,
      "livemode_mismatch",
    );
    const other = await registerTenant();
    expectError(await call(`${INVOICES}${draft.id}/`, { token: other.owner.access }), 404, "not_found");
    expectError(
      await asKey(other.keys.test_secret, `${INVOICES}${draft.id}/void/`, { method: "POST" }),
      404,
      "not_found",
    );
    expect((await call(`${INVOICES}?limit=100`, { token: other.owner.access })).body.data).toEqual([]);
  });
});

/**
 * Starts an invoice create (21.00 of hours) whose last call at Stripe, the read after its items,
 * is answered `holdMs` late: its draft, and the draft's invoice.created, exist meanwhile.
 */
const createHeldAtStripe = (customerId: string, marker: string, holdMs: number) =>
  failNext({ method: "GET", path: "/v1/invoices", account: tenant.account, delay_ms: holdMs }).then(() =>
    asKey(tenant.keys.test_secret, INVOICES, {
      body: {
        customer: customerId,
        currency: "usd",
        description: marker,
        items: [{ unit_amount: 700, quantity: 3, description: "Hours" }],
      },
    }),
  );

describe("an invoice the mirror records first", () => {
  it("while the create waits on Stripe, its invoice.created event is mirrored: 201, one row with the API's view, one tenant event", {
    timeout: 20_000,
  }, async () => {
    const customer = await payingCustomer(tenant);
    const marker = `Mirrored first ${Date.now()}`;
    // Stripe's answer to the create's last call comes late; its invoice.created event meanwhile
    // reaches the mirror, which stores the draft under the id our metadata carries.
    let answered = false;
    const creating = createHeldAtStripe(customer.id, marker, 5_000).finally(() => {
      answered = true;
    });
    let mirrored: Awaited<ReturnType<typeof relayConnectEvents>> = [];
    for (let waited = 0; mirrored.length === 0 && waited < 3_000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      mirrored = await relayConnectEvents(tenant.account, {
        only: (event) => event.type === "invoice.created" && event.data.object.description === marker,
      });
    }
    expect(mirrored).toHaveLength(1);
    const stripeInvoiceId = (mirrored[0]?.data.object as { id?: string } | undefined)?.id;
    const stored = () =>
      env.DB.prepare("SELECT id, total FROM invoices WHERE stripe_invoice_id = ?")
        .bind(stripeInvoiceId ?? "")
        .all<{ id: string; total: number }>()
        .then((result) => result.results);
    // The race happened: the mirror stored Stripe's first snapshot while the create still waits.
    expect(answered).toBe(false);
    expect(await stored()).toEqual([{ id: expect.stringMatching(/^inv_/), total: 0 }]);
    const res = await creating;
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ status: "draft", total: 2100 });
    expect(await stored()).toEqual([{ id: res.body.id, total: 2100 }]);
    // The tenant was told once, by the mirror, with Stripe's first snapshot (as Stripe's own event).
    const created = (await tenantEvents(tenant.tenantId, "invoice.created")).filter(
      (event) => event.data.object.id === res.body.id,
    );
    expect(created.map((event) => event.data.object.total)).toEqual([0]);
  });
});

describe("an invoice the API stores while a mirror run that read before it is under way", () => {
  it("the run's commit fails on the Stripe id and it runs again from the API's row: one row, one tenant event", {
    timeout: 30_000,
  }, async () => {
    const customer = await payingCustomer(tenant);
    const marker = `Stored mid-run ${Date.now()}`;
    // The create's last call at Stripe comes late, after its draft (and invoice.created) exist.
    const creating = createHeldAtStripe(customer.id, marker, 4_000);
    let created: DoubleEvent | undefined;
    for (let waited = 0; !created && waited < 3_000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      created = (await doubleEvents({ account: tenant.account, type: "invoice.created" })).find(
        (event) => event.data.object.description === marker,
      );
    }
    if (!created) throw new Error("the draft's invoice.created never came");

    // One mirror run of two events: a same-second snapshot of the customer that differs from the
    // mirror's, so the run reads the customer from Stripe (held 7 s) after reading its rows and
    // before its commit; and the draft's invoice.created, new to the run.
    const { delivery: _delivery, ...invoiceCreated } = created;
    const { lines, logger } = recording();
    const { committed: run, tieId } = await heldMirrorRun(tenant, customer.id, invoiceCreated, {
      holdMs: 7_000,
      settleMs: 0,
      ctx: testContext({ log: logger }),
    });

    const res = await creating;
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ status: "draft", total: 2100 });
    expect(await run).toEqual({ retry: [] });
    // The race happened: the run's first commit met the create's row, and it ran again.
    expect(lines.map((line) => line.msg)).toContain("mirror run read before an API create; running it again");
    const notes = await stripeEventRows([tieId, invoiceCreated.id]);
    expect(Object.values(notes).map((note) => note.status)).toEqual(["processed", "processed"]);

    const stored = await env.DB.prepare("SELECT id, total FROM invoices WHERE stripe_invoice_id = ?")
      .bind((created.data.object as { id: string }).id)
      .all<{ id: string; total: number }>();
    expect(stored.results).toEqual([{ id: res.body.id, total: 2100 }]);
    const told = (await tenantEvents(tenant.tenantId, "invoice.created")).filter(
      (event) => event.data.object.id === res.body.id,
    );
    expect(told.map((event) => event.data.object.total)).toEqual([2100]);
  });
});

describe("an invoice the API changes while a mirror run that read it before is under way", () => {
  it("the run's older snapshot does not overwrite the API's newer state", { timeout: 30_000 }, async () => {
    const { own, customer, draft } = await ownSeatDraft();
    expect((await invoiceVerb(own, draft.id, "finalize")).body.status).toBe("open");
    await relayConnectEvents(own.account);
    // At Stripe, the tenant's dashboard notes something on the open invoice: invoice.updated.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const noted = await fetch(`${doubleUrl()}/v1/invoices/${draft.stripe_invoice_id}`, {
      method: "POST",
      headers: {
        Authorization: "Bearer sk_test_dashboard",
        "Stripe-Account": own.account,
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: "metadata[note]=checked",
    });
    expect(noted.status).toBe(200);
    const updated = (await doubleEvents({ account: own.account, type: "invoice.updated" })).find(
      (event) =>
        (event.data.object as { id?: string }).id === draft.stripe_invoice_id &&
        (event.data.object as { metadata?: Record<string, string> }).metadata?.note === "checked",
    );
    if (!updated) throw new Error("no invoice.updated");
    const { delivery: _delivery, ...invoiceUpdated } = updated;

    // One mirror run reads the open invoice, then waits on Stripe (a same-second customer snapshot
    // it settles by reading the customer, held 4 s) before its commit...
    const { committed: run } = await heldMirrorRun(own, customer.id, invoiceUpdated, { settleMs: 0 });
    // ...while the invoice is paid through the API, a second later on Stripe's clock.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const paid = await invoiceVerb(own, draft.id, "pay");
    expect(paid.body).toMatchObject({ status: "paid" });
    expect(await run).toEqual({ retry: [] });

    const got = await asKey(own.keys.test_secret, `${INVOICES}${draft.id}/`);
    expect(got.body).toMatchObject({ status: "paid", amount_paid: 1500 });
    await relayConnectEvents(own.account);
    const told = (await tenantEvents(own.tenantId, "invoice.paid")).filter(
      (event) => event.data.object.id === draft.id,
    );
    expect(told).toHaveLength(1);
  });
});

const recording = () => {
  const lines: { level: string; msg: string }[] = [];
  const logger: Logger = {
    info: (msg) => lines.push({ level: "info", msg }),
    warn: (msg) => lines.push({ level: "warn", msg }),
    error: (msg) => lines.push({ level: "error", msg }),
    with: () => logger,
  };
  return { lines, logger };
};
