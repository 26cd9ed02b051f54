import { expect } from "vitest";
import { asKey, type BillingTenant, billingTenant, makeCustomer, makePlan } from "./billing";
import { stripeObject } from "./stripe-double";

/** Test helpers for invoices, refunds, coupons and dunning, on top of test/billing.ts. */

export const INVOICES = "/api/v1/auth/invoices/";
export const REFUNDS = "/api/v1/auth/refunds/";
export const COUPONS = "/api/v1/auth/coupons/";

/** A customer with a saved default card (`pm_card_visa` unless another test card is given). */
export async function payingCustomer(tenant: BillingTenant, card = "pm_card_visa") {
  const customer = await makeCustomer(tenant);
  const attached = await asKey(
    tenant.keys.test_secret,
    `/api/v1/auth/customers/${customer.id}/payment-methods/`,
    { body: { payment_method: card, set_default: true } },
  );
  expect(attached.status, JSON.stringify(attached.body)).toBe(201);
  return customer;
}

/** A draft one-off invoice made with the tenant's test secret key. */
export async function makeInvoice(tenant: BillingTenant, body: Record<string, unknown>) {
  const res = await asKey(tenant.keys.test_secret, INVOICES, { body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

/**
 * A tenant of its own (its key keeps the shared tenant's rate) with a $15 Seat plan, a paying
 * customer and a draft of one Seat: the start of a test that races on one invoice.
 */
export async function ownSeatDraft() {
  const own = await billingTenant();
  const plan = await makePlan(own, { name: "Seat", price_cents: 1500, trial_days: 0 });
  const customer = await payingCustomer(own);
  const draft = await makeInvoice(own, { customer: customer.id, items: [{ plan: plan.id }] });
  return { own, plan, customer, draft };
}

/** `POST /invoices/{id}/<verb>/` with the test secret key. */
export const invoiceVerb = (tenant: BillingTenant, id: string, verb: string, body?: unknown) =>
  asKey(tenant.keys.test_secret, `${INVOICES}${id}/${verb}/`, { method: "POST", ...(body ? { body } : {}) });

/** A paid one-off invoice of `amount` (one item) for a paying customer. */
export async function paidInvoice(tenant: BillingTenant, amount = 5000, card = "pm_card_visa") {
  const customer = await payingCustomer(tenant, card);
  const draft = await makeInvoice(tenant, {
    customer: customer.id,
    currency: "usd",
    items: [{ unit_amount: amount, description: "Consulting" }],
  });
  const paid = await invoiceVerb(tenant, draft.id, "pay");
  expect(paid.status, JSON.stringify(paid.body)).toBe(200);
  expect(paid.body.status).toBe("paid");
  return { customer, invoice: paid.body };
}

/** A coupon of the tenant, made with its test secret key. */
export async function makeCoupon(tenant: BillingTenant, body: Record<string, unknown> = {}) {
  const res = await asKey(tenant.keys.test_secret, COUPONS, {
    body: { percent_off: 20, duration: "forever", ...body },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

/** The application fee Stripe took on an invoice's payment (the platform's object at the double). */
export async function applicationFeeOf(account: string, stripeInvoiceId: string) {
  const invoice = await stripeObject(`/v1/invoices/${stripeInvoiceId}?expand[]=payments`, account);
  const payments = (invoice.payments as { data: { payment: { payment_intent: string } }[] }).data;
  const intent = payments[0]?.payment.payment_intent;
  const charges = await stripeObject(`/v1/charges?payment_intent=${intent}`, account);
  const charge = (charges.data as { application_fee: string | null; id: string }[])[0];
  expect(charge?.application_fee, "the charge made no application fee").toBeTruthy();
  return stripeObject(`/v1/application_fees/${charge?.application_fee}`);
}
