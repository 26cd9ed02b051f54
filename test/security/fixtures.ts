/**
 * Cross-tenant fixtures of the shared security suite (test/security/cross-tenant.test.ts).
 *
 * Every route whose path has a parameter (`/api/v1/auth/plans/{id}`) must either have a fixture
 * here or an exemption (with its reason) in EXEMPT below; the suite fails otherwise. For each such
 * route and method the suite:
 *   1. calls `create(a)` to make one resource in tenant A and get its id (once per route and
 *      method, so a check that deletes does not spoil another);
 *   2. calls the route with that id as tenant B: a user of the first role the route admits, and
 *      each of B's API keys the route takes; every answer must be 404 `not_found`;
 *   3. calls it as tenant A with the same role (and A's keys): at least one 2xx, which proves the
 *      id was real, so the 404 of step 2 came from the tenant check.
 *
 * Shape of an entry:
 *   FIXTURES["<path as in the OpenAPI document>"] = {
 *     create: (a: SecurityTenant) => Promise<string | Record<string, string>>,
 *       // the parameter's value; an object { param: value } when the path has several
 *     body?: { POST?: unknown; PATCH?: unknown; PUT?: unknown; DELETE?: unknown },
 *       // a valid body per method, for routes that validate it before looking the resource up
 *   }
 * Each path needs its own entry (sub-actions too), but entries share their `create`:
 *
 *   const customer = async (a: SecurityTenant) =>
 *     (await created("/api/v1/auth/customers/", a.tokens.owner, { email: "c@example.com" })).id;
 *   FIXTURES["/api/v1/auth/customers/{id}"] = { create: customer, body: { PATCH: { name: "New" } } };
 *   FIXTURES["/api/v1/auth/customers/{id}/archive"] = { create: customer };
 *
 * `a` is a team (one logged-in user per role, `a.tokens[role]`, `a.userIds[role]`) with its four
 * API keys in full (`a.keys.test_secret`, ...). Helpers below: `created()` posts and expects 201,
 * `unlimited()` lifts A's usage limits and `connectedTenant()`
 * connects its Stripe account, each once.
 */
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { emitTenantEvent } from "../../src/modules/webhooks/events.service";
import { testContext } from "../context";
import { eventually } from "../eventually";
import { call, PASSWORD, unique } from "../harness";
import { connectTenant } from "../stripe-double";
import type { SecurityTenant } from "./tenants";

export interface Fixture {
  create: (a: SecurityTenant) => Promise<string | Record<string, string>>;
  body?: Partial<Record<"POST" | "PATCH" | "PUT" | "DELETE", unknown>>;
}

/** Posts `body` to `path` as `token`, expects 201 and returns the body. */
// biome-ignore lint/suspicious/noExplicitAny: fixtures read arbitrary JSON bodies
export async function created(path: string, token: string, body: unknown): Promise<Record<string, any>> {
  const res = await call(path, { token, body });
  expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(201);
  return res.body;
}

const once = new Map<string, Promise<void>>();
function memo(key: string, run: () => Promise<void>): Promise<void> {
  let done = once.get(key);
  if (!done) {
    done = run();
    once.set(key, done);
  }
  return done;
}

/** Lifts the tenant's usage limits (users, plans) once: the suite makes one resource per check. */
export const unlimited = (a: SecurityTenant) =>
  memo(`tier:${a.tenantId}`, async () => {
    await env.DB.prepare("UPDATE tenants SET subscription_tier = 'pro' WHERE id = ?").bind(a.tenantId).run();
  });

/** Connects the tenant's Stripe account once (and lifts its limits). */
export const connectedTenant = (a: SecurityTenant) =>
  memo(`stripe:${a.tenantId}`, async () => {
    await unlimited(a);
    await connectTenant(a.tokens.owner);
  });

const plan = async (a: SecurityTenant) => {
  await connectedTenant(a);
  const body = { name: unique("Plan "), price_cents: 1500, currency: "usd", billing_interval: "month" };
  return (await created("/api/v1/auth/plans/", a.tokens.owner, body)).id as string;
};

const user = async (a: SecurityTenant) => {
  await unlimited(a);
  const body = { email: `${unique("member")}@example.com`, role: "developer", password: PASSWORD };
  return (await created("/api/v1/auth/tenants/users/", a.tokens.owner, body)).user.id as string;
};

/** An event of A's whose delivery is settled (skipped: A has no endpoint), so it can be resent. */
const webhookEvent = async (a: SecurityTenant) => {
  const event = await emitTenantEvent(testContext(), {
    tenantId: a.tenantId,
    type: "plan.created",
    object: { id: "plan_fixture" },
  });
  await eventually(async () => {
    const row = await env.DB.prepare("SELECT status FROM webhook_events WHERE id = ?")
      .bind(event.id)
      .first<{ status: string }>();
    // A standalone emit reaches D1 with its coordinator's first run: no row yet is still pending.
    expect(row?.status ?? "pending").not.toBe("pending");
  });
  return event.id;
};

const customer = async (a: SecurityTenant) => {
  await connectedTenant(a);
  return (await created("/api/v1/auth/customers/", a.tokens.owner, { email: `${unique("c")}@example.com` }))
    .id as string;
};

/** A customer with a saved card, and the card's id. */
const customerWithCard = async (a: SecurityTenant) => {
  const id = await customer(a);
  const card = await created(`/api/v1/auth/customers/${id}/payment-methods/`, a.tokens.owner, {
    payment_method: "pm_card_visa",
  });
  return { id, payment_method: card.id as string };
};

/**
 * A subscription in a trial: every verb applies to it (an `incomplete` one, waiting for its first
 * payment, takes only metadata or cancelling now, as at Stripe).
 */
const subscription = async (a: SecurityTenant) => {
  const customerId = await customer(a);
  const planId = await plan(a);
  return (
    await created("/api/v1/auth/subscriptions/", a.tokens.owner, {
      customer: customerId,
      plan: planId,
      trial_days: 7,
    })
  ).id as string;
};

/** A subscription in the state a verb needs (`cancel` scheduled for resume, `pause`d for unpause). */
const subscriptionAfter = (verb: "cancel" | "pause") => async (a: SecurityTenant) => {
  const id = await subscription(a);
  const res = await call(`/api/v1/auth/subscriptions/${id}/${verb}/`, {
    token: a.tokens.owner,
    method: "POST",
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return id;
};

/** A draft one-off invoice of A's (`send_invoice` for `send`), of a customer with a card (for `pay`). */
const invoice =
  (options: { sent?: boolean; finalized?: boolean } = {}) =>
  async (a: SecurityTenant) => {
    const { id: customerId } = await customerWithCard(a);
    const draft = await created("/api/v1/auth/invoices/", a.tokens.owner, {
      customer: customerId,
      currency: "usd",
      items: [{ unit_amount: 1000, description: "Fixture" }],
      ...(options.sent ? { collection_method: "send_invoice", days_until_due: 7 } : {}),
    });
    if (options.finalized) {
      const res = await call(`/api/v1/auth/invoices/${draft.id}/finalize/`, {
        token: a.tokens.owner,
        method: "POST",
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
    return draft.id as string;
  };

/** A refund of a paid invoice of A's. */
const refund = async (a: SecurityTenant) => {
  const id = await invoice()(a);
  const paid = await call(`/api/v1/auth/invoices/${id}/pay/`, { token: a.tokens.owner, method: "POST" });
  expect(paid.status, JSON.stringify(paid.body)).toBe(200);
  return (await created("/api/v1/auth/refunds/", a.tokens.owner, { invoice: id, amount: 100 })).id as string;
};

const coupon = async (a: SecurityTenant) => {
  await connectedTenant(a);
  return (await created("/api/v1/auth/coupons/", a.tokens.owner, { percent_off: 10 })).id as string;
};

/** The coupon the customer-discount fixtures name in their body: made once in A, under this id. */
const SECURITY_COUPON = unique("SECURITY").toUpperCase();
const securityCoupon = (a: SecurityTenant) =>
  memo(`coupon:${a.tenantId}`, async () => {
    await connectedTenant(a);
    await created("/api/v1/auth/coupons/", a.tokens.owner, { id: SECURITY_COUPON, percent_off: 10 });
  });

/** A customer of A's carrying A's coupon. */
const discountedCustomer = async (a: SecurityTenant) => {
  const id = await customer(a);
  await securityCoupon(a);
  const res = await call(`/api/v1/auth/customers/${id}/discount/`, {
    token: a.tokens.owner,
    body: { coupon: SECURITY_COUPON },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return id;
};

const promotionCode = async (a: SecurityTenant) => {
  const id = await coupon(a);
  const code = await created(`/api/v1/auth/coupons/${id}/promotion-codes/`, a.tokens.owner, {});
  return { id, code_id: code.id as string };
};

export const FIXTURES: Record<string, Fixture> = {
  "/api/v1/auth/invoices/{id}": { create: invoice() },
  "/api/v1/auth/invoices/{id}/finalize": { create: invoice() },
  "/api/v1/auth/invoices/{id}/pay": { create: invoice() },
  "/api/v1/auth/invoices/{id}/send": { create: invoice({ sent: true }) },
  "/api/v1/auth/invoices/{id}/void": { create: invoice({ finalized: true }) },
  "/api/v1/auth/invoices/{id}/mark_uncollectible": { create: invoice({ finalized: true }) },
  "/api/v1/auth/refunds/{id}": { create: refund },
  "/api/v1/auth/coupons/{id}": { create: coupon },
  "/api/v1/auth/coupons/{id}/promotion-codes": { create: coupon },
  "/api/v1/auth/coupons/{id}/promotion-codes/{code_id}/deactivate": { create: promotionCode },
  "/api/v1/auth/customers/{id}/discount": {
    create: discountedCustomer,
    body: { POST: { coupon: SECURITY_COUPON } },
  },
  "/api/v1/auth/customers/{id}": {
    create: customer,
    body: { PATCH: { name: "New" }, POST: { name: "New" } },
  },
  "/api/v1/auth/customers/{id}/setup-intent": { create: customer },
  "/api/v1/auth/customers/{id}/payment-methods": {
    create: customer,
    body: { POST: { payment_method: "pm_card_visa" } },
  },
  "/api/v1/auth/customers/{id}/payment-methods/{payment_method}/default": { create: customerWithCard },
  "/api/v1/auth/customers/{id}/payment-methods/{payment_method}": { create: customerWithCard },
  "/api/v1/auth/analytics/customers/{id}": { create: customer },
  "/api/v1/auth/customers/{id}/portal-session": {
    create: customer,
    body: { POST: { return_url: "https://tenant.example/account" } },
  },
  "/api/v1/auth/subscriptions/{id}": {
    create: subscription,
    body: { PATCH: { quantity: 2 }, POST: { quantity: 2 } },
  },
  "/api/v1/auth/subscriptions/{id}/preview": { create: subscription, body: { POST: { quantity: 2 } } },
  "/api/v1/auth/subscriptions/{id}/cancel": { create: subscription },
  "/api/v1/auth/subscriptions/{id}/resume": { create: subscriptionAfter("cancel") },
  "/api/v1/auth/subscriptions/{id}/pause": { create: subscription },
  "/api/v1/auth/subscriptions/{id}/unpause": { create: subscriptionAfter("pause") },
  "/api/v1/auth/tenants/users/{id}": { create: user, body: { PATCH: { role: "billing" } } },
  "/api/v1/auth/plans/{id}": { create: plan, body: { PATCH: { description: "Changed" } } },
  "/api/v1/auth/plans/{id}/duplicate": {
    create: plan,
    body: { POST: { name: unique("Copy "), price_cents: 2500 } },
  },
  "/api/v1/auth/tenants/webhooks/deliveries/{event_id}": { create: webhookEvent },
  "/api/v1/auth/tenants/webhooks/deliveries/{event_id}/resend": { create: webhookEvent },
};

/** Parameterized routes that need no cross-tenant fixture, each with the reason. */
export const EXEMPT: Record<string, string> = {
  "/api/v1/admin/plans/{id}": "operator route: platform plans belong to the platform, not to a tenant",
  "/api/v1/admin/tenants/{id}": "operator route: the operator sees every tenant by design",
  "/api/v1/admin/stripe-events/{id}":
    "operator route: the operator sees every tenant's Stripe events by design",
  "/api/v1/admin/stripe-events/{id}/retry":
    "operator route: the operator retries any tenant's Stripe event by design",
  "/api/v1/admin/analytics/tenants/{id}":
    "operator route: the operator reads every tenant's analytics by design",
  "/api/v1/admin/analytics/tenants/{id}/reconcile":
    "operator route: the operator reconciles any tenant's analytics by design",
};
