// Self-check of what every new endpoint shares: idempotent POSTs (replays, conflicts, no double
// effects), livemode from the key, Connect events carrying `account`, metadata semantics, expand in
// lists.
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

export async function crosscutScenario(kit: Kit): Promise<void> {
  const { stripe, config } = kit;
  const account = await freshAccount(kit);
  const on = { stripeAccount: account };
  const price = await monthlyPrice(kit, account, 1000);
  const customer = await customerWithCard(kit, account);

  step("idempotent POSTs");
  const pi = await stripe.paymentIntents.create(
    { amount: 5000, currency: "usd", customer: customer.id, payment_method: "pm_card_visa", confirm: true },
    on,
  );
  const key = { ...on, idempotencyKey: "refund-once" };
  const r1 = await stripe.refunds.create({ payment_intent: pi.id, amount: 1000 }, key);
  const r2 = await stripe.refunds.create({ payment_intent: pi.id, amount: 1000 }, key);
  const log = await kit.control<Array<{ idempotent_replayed: boolean }>>(
    "GET",
    `/requests?path=/v1/refunds&account=${account}`,
  );
  check(r1.id === r2.id && log.some((r) => r.idempotent_replayed), "refund replayed");
  check(
    (await stripe.charges.retrieve(pi.latest_charge as string, {}, on)).amount_refunded === 1000,
    "refunded once",
  );
  await expectError(
    () => stripe.refunds.create({ payment_intent: pi.id, amount: 2000 }, key),
    Stripe.errors.StripeIdempotencyError,
    "same key, other params",
  );
  const clock = await stripe.testHelpers.testClocks.create({ frozen_time: 1_900_000_000 }, on);
  const onClock = await customerWithCard(kit, account, "pm_card_visa", { test_clock: clock.id });
  await stripe.subscriptions.create({ customer: onClock.id, items: [{ price: price.id }] }, on);
  const advanceKey = { ...on, idempotencyKey: "advance-once" };
  await stripe.testHelpers.testClocks.advance(
    clock.id,
    { frozen_time: 1_900_000_000 + 40 * 86400 },
    advanceKey,
  );
  await stripe.testHelpers.testClocks.advance(
    clock.id,
    { frozen_time: 1_900_000_000 + 40 * 86400 },
    advanceKey,
  );
  const invoices = await stripe.invoices.list({ customer: onClock.id }, on);
  check(invoices.data.length === 2, `one renewal despite the replay: ${invoices.data.length}`);
  const session = await stripe.checkout.sessions.create(
    { mode: "subscription", line_items: [{ price: price.id }], success_url: "http://localhost:8787/ok" },
    { ...on, idempotencyKey: "cs-1" },
  );
  const again = await stripe.checkout.sessions.create(
    { mode: "subscription", line_items: [{ price: price.id }], success_url: "http://localhost:8787/ok" },
    { ...on, idempotencyKey: "cs-1" },
  );
  check(session.id === again.id, "checkout session replayed");

  step("livemode from the key");
  const live = new Stripe("sk_live_double", config);
  const liveCustomer = await live.customers.create({ email: "live@example.test" });
  check(liveCustomer.livemode === true, "live customer");
  const livePrice = await monthlyPrice({ ...kit, stripe: live }, undefined, 700);
  check(livePrice.livemode === true, "live price");
  const liveSession = await live.checkout.sessions.create({
    mode: "subscription",
    line_items: [{ price: livePrice.id }],
    customer_email: "live@example.test",
  });
  check(liveSession.id.startsWith("cs_live_") && liveSession.livemode, "live checkout session");
  const liveCoupon = await live.coupons.create({ percent_off: 5 });
  check(liveCoupon.livemode === true, "live coupon");

  step("Connect events and metadata");
  for (const type of [
    "payment_intent.succeeded",
    "charge.succeeded",
    "refund.created",
    "charge.refunded",
    "invoice_payment.paid",
    "test_helpers.test_clock.ready",
    "invoice.paid",
  ]) {
    const events = await eventsOf(kit, { type, account });
    check(events.length > 0 && events.every((e) => e.account === account), `${type} carries account`);
  }
  const coupon = await stripe.coupons.create({ percent_off: 5, metadata: { a: "1", b: "2" } }, on);
  const edited = await stripe.coupons.update(coupon.id, { metadata: { a: "", c: "3" } }, on);
  check(
    !("a" in (edited.metadata ?? {})) && edited.metadata?.b === "2" && edited.metadata?.c === "3",
    "metadata merge",
  );
  const cleared = await stripe.coupons.update(coupon.id, { metadata: "" }, on);
  check(Object.keys(cleared.metadata ?? {}).length === 0, "metadata cleared");

  step("expand in lists");
  const withPayments = await stripe.invoices.list(
    { customer: onClock.id, expand: ["data.payments", "data.confirmation_secret"] },
    on,
  );
  check(
    withPayments.data.every(
      (i) => i.payments?.object === "list" && i.confirmation_secret?.type === "payment_intent",
    ),
    "expand data.payments",
  );
}
