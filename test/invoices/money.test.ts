import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { asKey, type BillingTenant, billingTenant, makePlan, relayConnectEvents } from "../billing";
import {
  applicationFeeOf,
  INVOICES,
  invoiceVerb,
  makeCoupon,
  makeInvoice,
  payingCustomer,
} from "../invoicing";
import { advanceSubscription, stripeObject } from "../stripe-double";

// Money checks against Stripe's arithmetic (the double's, recorded from Stripe): per line,
// percent discounts are round(amount × percent / 100) and amount discounts are capped and shared;
// total = subtotal − discounts (+ tax, none here); the platform's fee on every paid invoice is
// round(total × PLATFORM_FEE_PERCENT / 100), tax included in the base as Stripe's
// `application_fee_percent` computes it.

const PERCENT = Number(env.PLATFORM_FEE_PERCENT ?? 15);
const fee = (total: number) => Math.round((total * PERCENT) / 100);

let tenant: BillingTenant;
let plan: { id: string };
beforeAll(async () => {
  tenant = await billingTenant();
  plan = await makePlan(tenant, { name: "Odd", price_cents: 1999, trial_days: 0 });
});

/** The mirror of a subscription's invoices, the first then the renewal, once Stripe's events are in. */
async function subscriptionInvoices(subscription: string) {
  await relayConnectEvents(tenant.account);
  const res = await asKey(tenant.keys.test_secret, `${INVOICES}?subscription=${subscription}`);
  const first = (invoice: { billing_reason: string }) =>
    invoice.billing_reason === "subscription_create" ? 0 : 1;
  return [...res.body.data].sort((a, b) => first(a) - first(b));
}

describe("money", () => {
  it("a subscription of quantity 3 with a 20 % forever coupon: 5997 − 1199 = 4798 every period, fee 720 on each", async () => {
    expect(PERCENT).toBe(15);
    const coupon = await makeCoupon(tenant, { percent_off: 20, duration: "forever" });
    const customer = await payingCustomer(tenant);
    const sub = await asKey(tenant.keys.test_secret, "/api/v1/auth/subscriptions/", {
      body: {
        customer: customer.id,
        plan: plan.id,
        quantity: 3,
        coupon: coupon.id,
        payment_behavior: "allow_incomplete",
      },
    });
    expect(sub.status, JSON.stringify(sub.body)).toBe(201);
    await advanceSubscription(sub.body.stripe_subscription_id);
    const invoices = await subscriptionInvoices(sub.body.id);
    expect(invoices).toHaveLength(2);
    for (const invoice of invoices) {
      expect(invoice).toMatchObject({
        status: "paid",
        subtotal: 5997,
        discount_amount: 1199,
        tax: 0,
        total: 4798,
        amount_paid: 4798,
        total_display: "$47.98",
        application_fee_amount: fee(4798),
      });
      expect(invoice.lines).toEqual([
        expect.objectContaining({ amount: 5997, quantity: 3, discount_amount: 1199 }),
      ]);
      expect(fee(4798)).toBe(720);
      expect((await applicationFeeOf(tenant.account, invoice.stripe_invoice_id)).amount).toBe(720);
    }
  });

  it("an amount-off coupon once: 5997 − 500 = 5497 (fee 825) the first period, 5997 (fee 900) the next", async () => {
    const coupon = await makeCoupon(tenant, {
      percent_off: undefined,
      amount_off: 500,
      currency: "usd",
      duration: "once",
    });
    const customer = await payingCustomer(tenant);
    const sub = await asKey(tenant.keys.test_secret, "/api/v1/auth/subscriptions/", {
      body: {
        customer: customer.id,
        plan: plan.id,
        quantity: 3,
        coupon: coupon.id,
        payment_behavior: "allow_incomplete",
      },
    });
    await advanceSubscription(sub.body.stripe_subscription_id);
    const [first, second] = await subscriptionInvoices(sub.body.id);
    expect(first).toMatchObject({
      subtotal: 5997,
      discount_amount: 500,
      total: 5497,
      application_fee_amount: 825,
    });
    expect(second).toMatchObject({
      subtotal: 5997,
      discount_amount: 0,
      total: 5997,
      application_fee_amount: 900,
    });
    for (const invoice of [first, second])
      expect((await applicationFeeOf(tenant.account, invoice.stripe_invoice_id)).amount).toBe(
        fee(invoice.total),
      );
  });

  it("a one-off invoice of the same: the fee set at finalization is PLATFORM_FEE_PERCENT of Stripe's total", async () => {
    const coupon = await makeCoupon(tenant, { percent_off: 20, duration: "forever" });
    const customer = await payingCustomer(tenant);
    const draft = await makeInvoice(tenant, {
      customer: customer.id,
      items: [
        { plan: plan.id, quantity: 3 },
        { unit_amount: 333, quantity: 3, description: "Add-on" },
      ],
      coupon: coupon.id,
    });
    // Lines 5997 and 999: discounts round(1199.4) = 1199 and round(199.8) = 200.
    expect(draft).toMatchObject({
      subtotal: 6996,
      discount_amount: 1399,
      total: 5597,
      application_fee_amount: null,
    });
    const open = await invoiceVerb(tenant, draft.id, "finalize");
    expect(open.body).toMatchObject({ total: 5597, application_fee_amount: fee(5597) });
    expect(fee(5597)).toBe(840);
    expect(await stripeObject(`/v1/invoices/${draft.stripe_invoice_id}`, tenant.account)).toMatchObject({
      application_fee_amount: 840,
    });
    const paid = await invoiceVerb(tenant, draft.id, "pay");
    expect(paid.body).toMatchObject({ status: "paid", amount_paid: 5597 });
    expect((await applicationFeeOf(tenant.account, draft.stripe_invoice_id)).amount).toBe(840);
  });
});
