import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { type BillingTenant, billingTenant, makePlan } from "../billing";
import { CONNECT_SECRET, processed, sendSigned, stripeEvent } from "../platform-billing/helpers";

/**
 * The fixed scenario of the analytics answer key: a tenant's customers over February and March
 * 2026, as the Connect events Stripe would send (each at noon UTC of its day).
 *
 *  Plans: Basic $50/month, Pro $200/month, Annual $1,200/year ($100 MRR), Euro €30/month.
 *  February: C1 Basic ×3 with a 20 % forever coupon (MRR 150 − 30 = $120), C2 Annual ($100),
 *            C3 Pro ($200), C4 Euro ×2 (€60). C1's first invoice paid ($120, fee $18).
 *  March:    3rd  C5 starts a trial of Basic
 *            5th  C3 Pro ×1 → ×2                      expansion     +$200
 *            8th  C2 Annual → Basic                   contraction   −$50  ($100 → $50)
 *            10th C6 Basic with 50 % off for 3 months new           +$25  (invoice $25, fee $3.75)
 *            12th C7 starts a trial of Pro
 *            15th C3's renewal paid $400 (fee $60)
 *            17th C5's trial converts to Basic        new           +$50  (invoice $50, fee $7.50)
 *            19th C7's trial ends unpaid (canceled)   trial lost
 *            20th C1 cancels                          churn         −$120
 *            20th C4's invoice paid €60 (fee €9)
 *            22nd C4 Euro ×2 → ×3                     expansion     +€30
 *            25th C1 comes back: Basic ×1             reactivation  +$50
 */
export interface ScenarioPrices {
  basic: string;
  pro: string;
  annual: string;
  euro: string;
}

const at = (month: number, day: number) => Math.floor(Date.UTC(2026, month - 1, day, 12) / 1000);

export interface Sub {
  id: string;
  customer: string;
  price: string;
  amount: number;
  currency: string;
  interval: "month" | "year";
  quantity: number;
  status: string;
  discount?: {
    id: string;
    percent_off: number;
    duration: "forever" | "repeating";
    months?: number;
    start: number;
    /** Unix seconds; a repeating discount ends `months` × 30 days after its start unless given. */
    end?: number;
  };
  trialEnd?: number | null;
}

/** A Stripe subscription object of one item, as a Connect event carries it. */
export function subscription(sub: Sub) {
  const discount = sub.discount;
  return {
    id: sub.id,
    object: "subscription",
    customer: sub.customer,
    status: sub.status,
    cancel_at_period_end: false,
    trial_end: sub.trialEnd ?? null,
    livemode: false,
    metadata: {},
    items: {
      object: "list",
      data: [
        {
          id: `si_${sub.id}`,
          quantity: sub.quantity,
          price: {
            id: sub.price,
            unit_amount: sub.amount,
            currency: sub.currency,
            recurring: { interval: sub.interval, interval_count: 1 },
          },
        },
      ],
    },
    discounts: discount
      ? [
          {
            id: discount.id,
            object: "discount",
            start: discount.start,
            end:
              discount.duration === "repeating"
                ? (discount.end ?? discount.start + (discount.months ?? 0) * 30 * 86_400)
                : null,
            source: {
              type: "coupon",
              coupon: {
                id: `co_${discount.id}`,
                percent_off: discount.percent_off,
                amount_off: null,
                currency: null,
                duration: discount.duration,
                duration_in_months: discount.months ?? null,
              },
            },
          },
        ]
      : [],
  };
}

function paidInvoice(
  id: string,
  customer: string,
  subscriptionId: string,
  amount: number,
  currency: string,
  paidAt: number,
) {
  return {
    id,
    object: "invoice",
    customer,
    subscription: subscriptionId,
    status: "paid",
    currency,
    subtotal: amount,
    total: amount,
    amount_due: amount,
    amount_paid: amount,
    amount_remaining: 0,
    application_fee_amount: Math.round(amount * 0.15),
    attempt_count: 1,
    livemode: false,
    lines: { data: [] },
    status_transitions: { paid_at: paidAt, finalized_at: paidAt },
  };
}

/** Every Connect event of the scenario, in the order Stripe would have sent them. */
export function scenarioEvents(account: string, prices: ScenarioPrices, tag: string) {
  const c = (n: number) => `cus_${tag}${n}`;
  const s = (name: string) => `sub_${tag}${name}`;
  const basic = { price: prices.basic, amount: 5000, currency: "usd", interval: "month" as const };
  const pro = { price: prices.pro, amount: 20_000, currency: "usd", interval: "month" as const };
  const annual = { price: prices.annual, amount: 120_000, currency: "usd", interval: "year" as const };
  const euro = { price: prices.euro, amount: 3000, currency: "eur", interval: "month" as const };
  const forever = { id: `di_${tag}f`, percent_off: 20, duration: "forever" as const, start: at(2, 1) };
  const threeMonths = {
    id: `di_${tag}r`,
    percent_off: 50,
    duration: "repeating" as const,
    months: 3,
    start: at(3, 10),
  };
  const sub = (type: string, created: number, fields: Sub) =>
    stripeEvent(type, subscription(fields), created, { account });
  const invoice = (
    id: string,
    customer: string,
    sub: string,
    amount: number,
    currency: string,
    paidAt: number,
  ) =>
    stripeEvent(
      "invoice.paid",
      paidInvoice(`in_${tag}${id}`, customer, sub, amount, currency, paidAt),
      paidAt,
      { account },
    );

  const c1 = { id: s("1"), customer: c(1), ...basic, quantity: 3, status: "active", discount: forever };
  const c2 = { id: s("2"), customer: c(2), ...annual, quantity: 1, status: "active" };
  const c3 = { id: s("3"), customer: c(3), ...pro, quantity: 1, status: "active" };
  const c4 = { id: s("4"), customer: c(4), ...euro, quantity: 2, status: "active" };
  const c5 = { id: s("5"), customer: c(5), ...basic, quantity: 1, status: "trialing", trialEnd: at(3, 17) };
  const c6 = { id: s("6"), customer: c(6), ...basic, quantity: 1, status: "active", discount: threeMonths };
  const c7 = { id: s("7"), customer: c(7), ...pro, quantity: 1, status: "trialing", trialEnd: at(3, 19) };
  return [
    sub("customer.subscription.created", at(2, 1), c1),
    invoice("1", c(1), c1.id, 12_000, "usd", at(2, 1)),
    sub("customer.subscription.created", at(2, 10), c2),
    sub("customer.subscription.created", at(2, 15), c3),
    sub("customer.subscription.created", at(2, 20), c4),
    sub("customer.subscription.created", at(3, 3), c5),
    sub("customer.subscription.updated", at(3, 5), { ...c3, quantity: 2 }),
    sub("customer.subscription.updated", at(3, 8), { ...c2, ...basic }),
    sub("customer.subscription.created", at(3, 10), c6),
    invoice("6", c(6), c6.id, 2500, "usd", at(3, 10)),
    sub("customer.subscription.created", at(3, 12), c7),
    invoice("3", c(3), c3.id, 40_000, "usd", at(3, 15)),
    sub("customer.subscription.updated", at(3, 17), { ...c5, status: "active", trialEnd: null }),
    invoice("5", c(5), c5.id, 5000, "usd", at(3, 17)),
    sub("customer.subscription.deleted", at(3, 19), { ...c7, status: "canceled" }),
    sub("customer.subscription.deleted", at(3, 20), { ...c1, status: "canceled" }),
    invoice("4", c(4), c4.id, 6000, "eur", at(3, 20)),
    sub("customer.subscription.updated", at(3, 22), { ...c4, quantity: 3 }),
    sub("customer.subscription.created", at(3, 25), {
      id: s("1b"),
      customer: c(1),
      ...basic,
      quantity: 1,
      status: "active",
    }),
  ];
}

/** A connected tenant (on a tier with room for four plans) and the scenario's four plans. */
export async function scenarioTenant(): Promise<{ tenant: BillingTenant; prices: ScenarioPrices }> {
  const tenant = await billingTenant();
  await env.DB.prepare("UPDATE tenants SET subscription_tier = 'pro' WHERE id = ?")
    .bind(tenant.tenantId)
    .run();
  const plan = (name: string, price_cents: number, currency: string, billing_interval: string) =>
    makePlan(tenant, { name, price_cents, currency, billing_interval }).then(
      (p) => p.stripe_price_id as string,
    );
  const prices = {
    basic: await plan("Basic", 5000, "usd", "month"),
    pro: await plan("Pro", 20_000, "usd", "month"),
    annual: await plan("Annual", 120_000, "usd", "year"),
    euro: await plan("Euro", 3000, "eur", "month"),
  };
  return { tenant, prices };
}

/** Sends the events as Stripe would (signed Connect webhooks) and waits until each is processed. */
export async function deliver(events: { id: string }[]) {
  for (const event of events) {
    const res = await sendSigned(event, { path: "/webhooks/stripe/connect", secret: CONNECT_SECRET });
    expect(res.status).toBe(200);
  }
  await processed([...new Set(events.map((event) => event.id))], 20_000);
}

/** An active subscription of one to Basic ($50/month, at `price`): `sub_<tag>` of `cus_<tag>`. */
export const basicSub = (price: string, tag: string): Sub => ({
  id: `sub_${tag}`,
  customer: `cus_${tag}`,
  price,
  amount: 5000,
  currency: "usd",
  interval: "month",
  quantity: 1,
  status: "active",
});

/**
 * A connected tenant with one customer on Basic ($50/month) at 50 % off for three months:
 * subscribed at `created`, the discount ending at `ends` (unix seconds both).
 */
export async function discountedTenant(tag: string, created: number, ends: number) {
  const tenant = await billingTenant();
  const plan = await makePlan(tenant, { name: "Basic", price_cents: 5000, currency: "usd" });
  const sub: Sub = {
    ...basicSub(plan.stripe_price_id, tag),
    discount: {
      id: `di_${tag}`,
      percent_off: 50,
      duration: "repeating",
      months: 3,
      start: created,
      end: ends,
    },
  };
  await deliver([
    stripeEvent("customer.subscription.created", subscription(sub), created, { account: tenant.account }),
  ]);
  return tenant;
}
