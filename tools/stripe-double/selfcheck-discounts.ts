// Self-check of coupons, promotion codes and discounts: objects and errors, redemption limits,
// once/repeating durations on subscription invoices, invoice and preview discounts, removal.
import Stripe from "stripe";
import {
  check,
  customerWithCard,
  eventsOf,
  expectError,
  freshAccount,
  type Kit,
  monthlyPrice,
  step,
} from "./selfcheck-kit.ts";

export async function discountsScenario(kit: Kit): Promise<void> {
  const { stripe } = kit;
  const account = await freshAccount(kit);
  const on = { stripeAccount: account };
  const price = await monthlyPrice(kit, account, 2000, "Team");

  step("coupons");
  const once = await stripe.coupons.create(
    { id: "WELCOME25", percent_off: 25, duration: "once", name: "Welcome" },
    on,
  );
  check(
    once.id === "WELCOME25" && once.valid && once.times_redeemed === 0 && once.duration === "once",
    "coupon",
  );
  const repeating = await stripe.coupons.create(
    { amount_off: 500, currency: "usd", duration: "repeating", duration_in_months: 2 },
    on,
  );
  check(
    /^\w{8}$/.test(repeating.id) && repeating.duration_in_months === 2 && repeating.percent_off === null,
    "amount_off coupon",
  );
  await expectError(
    () => stripe.coupons.create({ percent_off: 10, amount_off: 100, currency: "usd" }, on),
    Stripe.errors.StripeInvalidRequestError,
    "both",
  );
  await expectError(
    () => stripe.coupons.create({ amount_off: 100 }, on),
    Stripe.errors.StripeInvalidRequestError,
    "no currency",
  ).then((e) => check(e.param === "currency", `param ${e.param}`));
  await expectError(
    () => stripe.coupons.create({ percent_off: 10, duration: "repeating" }, on),
    Stripe.errors.StripeInvalidRequestError,
    "no months",
  );
  await expectError(
    () => stripe.coupons.create({ id: "WELCOME25", percent_off: 5 }, on),
    Stripe.errors.StripeInvalidRequestError,
    "duplicate id",
  );
  const renamed = await stripe.coupons.update(once.id, { name: "Hello", metadata: { k: "v" } }, on);
  check(renamed.name === "Hello" && renamed.metadata?.k === "v", "coupon update");
  const single = await stripe.coupons.create({ percent_off: 50, max_redemptions: 1 }, on);
  const scrap = await stripe.coupons.create({ percent_off: 1 }, on);
  check((await stripe.coupons.del(scrap.id, {}, on)).deleted === true, "coupon delete");
  await expectError(
    () => stripe.coupons.retrieve(scrap.id, {}, on),
    Stripe.errors.StripeInvalidRequestError,
    "deleted coupon",
  );
  check((await stripe.coupons.list({}, on)).data.length === 3, "coupon list");

  step("promotion codes");
  const promo = await stripe.promotionCodes.create(
    { promotion: { type: "coupon", coupon: once.id }, code: "SPRING", max_redemptions: 1 },
    on,
  );
  check(
    /^promo_/.test(promo.id) && promo.code === "SPRING" && promo.promotion.coupon === once.id && promo.active,
    "promotion code",
  );
  const byCode = await stripe.promotionCodes.list({ code: "SPRING" }, on);
  check(byCode.data.length === 1 && byCode.data[0]?.id === promo.id, "list by code");
  const off = await stripe.promotionCodes.update(promo.id, { active: false }, on);
  check(off.active === false, "deactivated");

  step("once discount on a subscription");
  const customer = await customerWithCard(kit, account);
  const sub = await stripe.subscriptions.create(
    {
      customer: customer.id,
      items: [{ price: price.id }],
      discounts: [{ coupon: once.id }],
      expand: ["latest_invoice.discounts"],
    },
    on,
  );
  const first = sub.latest_invoice as Stripe.Invoice;
  check(
    first.subtotal === 2000 && first.total === 1500 && first.amount_paid === 1500,
    `first invoice ${first.total}`,
  );
  const discountId = first.total_discount_amounts?.[0]?.discount as string;
  check(
    first.total_discount_amounts?.[0]?.amount === 500 &&
      first.lines.data[0]?.discount_amounts?.[0]?.amount === 500,
    "discount amounts",
  );
  const discount = first.discounts[0] as Stripe.Discount;
  check(
    /^di_/.test(discountId) && discount.id === discountId && discount.source.coupon === once.id,
    "discount object",
  );
  check(
    discount.subscription === sub.id && discount.customer === customer.id && discount.end === null,
    "discount fields",
  );
  const afterFirst = await stripe.subscriptions.retrieve(sub.id, {}, on);
  check(afterFirst.discounts.length === 0, "once is used up");
  check(
    (await eventsOf(kit, { type: "customer.discount.created", account })).length === 1,
    "customer.discount.created",
  );
  check(
    (await eventsOf(kit, { type: "customer.discount.deleted", account })).length === 1,
    "customer.discount.deleted",
  );
  check((await stripe.coupons.retrieve(once.id, {}, on)).times_redeemed === 1, "times_redeemed");
  const next = await kit.control<Stripe.Subscription>("POST", `/subscriptions/${sub.id}/advance`);
  check(
    (await stripe.invoices.retrieve(next.latest_invoice as string, {}, on)).total === 2000,
    "no discount on the renewal",
  );

  step("repeating discount");
  const rep = await stripe.subscriptions.create(
    { customer: customer.id, items: [{ price: price.id }], discounts: [{ coupon: repeating.id }] },
    on,
  );
  const totals = [(await stripe.invoices.retrieve(rep.latest_invoice as string, {}, on)).total];
  for (let i = 0; i < 2; i++) {
    const renewed = await kit.control<Stripe.Subscription>("POST", `/subscriptions/${rep.id}/advance`);
    totals.push((await stripe.invoices.retrieve(renewed.latest_invoice as string, {}, on)).total);
  }
  check(totals.join(",") === "1500,1500,2000", `repeating totals ${totals}`);

  step("redemption limits and removal");
  await expectError(
    () => stripe.subscriptions.update(rep.id, { discounts: [{ promotion_code: promo.id }] }, on),
    Stripe.errors.StripeInvalidRequestError,
    "inactive code",
  );
  await stripe.promotionCodes.update(promo.id, { active: true }, on);
  const withCode = await stripe.subscriptions.update(
    rep.id,
    { discounts: [{ promotion_code: promo.id }] },
    on,
  );
  check(
    withCode.discounts.length === 1 &&
      (await stripe.promotionCodes.retrieve(promo.id, {}, on)).times_redeemed === 1,
    "code redeemed",
  );
  const maxed = await expectError(
    () =>
      stripe.subscriptions.create(
        { customer: customer.id, items: [{ price: price.id }], discounts: [{ promotion_code: promo.id }] },
        on,
      ),
    Stripe.errors.StripeInvalidRequestError,
    "code used up",
  );
  check(maxed.message.includes("maximum number of redemptions"), maxed.message);
  await stripe.subscriptions.create(
    { customer: customer.id, items: [{ price: price.id }], discounts: [{ coupon: single.id }] },
    on,
  );
  const expired = await expectError(
    () =>
      stripe.subscriptions.create(
        { customer: customer.id, items: [{ price: price.id }], discounts: [{ coupon: single.id }] },
        on,
      ),
    Stripe.errors.StripeInvalidRequestError,
    "coupon used up",
  );
  check(
    expired.code === "coupon_expired" && (await stripe.coupons.retrieve(single.id, {}, on)).valid === false,
    expired.message,
  );
  const cleared = await stripe.subscriptions.update(rep.id, { discounts: "" }, on);
  check(cleared.discounts.length === 0, "discounts='' removes");
  await stripe.subscriptions.update(rep.id, { discounts: [{ coupon: repeating.id }] }, on);
  const removed = await stripe.subscriptions.deleteDiscount(rep.id, {}, on);
  check(removed.deleted === true && removed.object === "discount", "DELETE subscription discount");
  await expectError(
    () => stripe.subscriptions.deleteDiscount(rep.id, {}, on),
    Stripe.errors.StripeInvalidRequestError,
    "no discount left",
  );
  await expectError(
    () => stripe.customers.deleteDiscount(customer.id, {}, on),
    Stripe.errors.StripeInvalidRequestError,
    "customer without discount",
  );

  step("invoice and preview discounts");
  const ten = await stripe.coupons.create({ percent_off: 10 }, on);
  const product = await stripe.products.create({ name: "Extra" }, on);
  const limited = await stripe.coupons.create(
    { amount_off: 5000, currency: "usd", applies_to: { products: [product.id] } },
    on,
  );
  const extra = await stripe.prices.create({ product: product.id, unit_amount: 300, currency: "usd" }, on);
  const invoice = await stripe.invoices.create(
    { customer: customer.id, discounts: [{ coupon: ten.id }] },
    on,
  );
  await stripe.invoiceItems.create(
    { customer: customer.id, invoice: invoice.id, amount: 3000, currency: "usd" },
    on,
  );
  check((await stripe.invoices.retrieve(invoice.id, {}, on)).total === 2700, "10% off an invoice");
  const capped = await stripe.invoices.create(
    { customer: customer.id, discounts: [{ coupon: limited.id }] },
    on,
  );
  await stripe.invoiceItems.create(
    { customer: customer.id, invoice: capped.id, pricing: { price: extra.id } },
    on,
  );
  await stripe.invoiceItems.create(
    { customer: customer.id, invoice: capped.id, amount: 1000, currency: "usd" },
    on,
  );
  const cappedNow = await stripe.invoices.finalizeInvoice(capped.id, {}, on);
  check(
    cappedNow.total === 1000 && cappedNow.total_discount_amounts?.[0]?.amount === 300,
    `applies_to and cap: ${cappedNow.total}`,
  );
  const plain = await stripe.subscriptions.create(
    { customer: customer.id, items: [{ price: price.id }] },
    on,
  );
  const preview = await stripe.invoices.createPreview(
    { subscription: plain.id, discounts: [{ coupon: ten.id }] },
    on,
  );
  check(
    preview.total === 1800 && preview.total_discount_amounts?.[0]?.amount === 200,
    `preview ${preview.total}`,
  );
  check((await stripe.coupons.retrieve(ten.id, {}, on)).times_redeemed === 1, "a preview redeems nothing");

  step("promotion code at checkout");
  const summer = await stripe.promotionCodes.create(
    { promotion: { type: "coupon", coupon: ten.id }, code: "SUMMER" },
    on,
  );
  const session = await stripe.checkout.sessions.create(
    {
      mode: "subscription",
      line_items: [{ price: price.id }],
      allow_promotion_codes: true,
      success_url: "http://localhost:8787/ok",
    },
    on,
  );
  const bad = await fetch(`${session.url}?promotion_code=NOPE`);
  check(bad.status === 400, "unknown code refused on the page");
  await fetch(`${session.url}?promotion_code=SUMMER`, { redirect: "manual" });
  const done = await stripe.checkout.sessions.retrieve(session.id, {}, on);
  check(
    done.status === "complete" && done.amount_total === 1800 && done.total_details?.amount_discount === 200,
    "discounted checkout",
  );
  check(
    (await stripe.promotionCodes.retrieve(summer.id, {}, on)).times_redeemed === 1,
    "code redeemed at checkout",
  );
}
