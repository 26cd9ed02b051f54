// Self-check of refunds: partial and whole, by charge or payment intent, application fee refunds in
// proportion, Stripe's over-refund errors, pending refunds (cancel, settle) and failing ones.
import Stripe from "stripe";
import {
  check,
  customerWithCard,
  eventsOf,
  expectError,
  freshAccount,
  type Kit,
  step,
} from "./selfcheck-kit.ts";

export async function refundsScenario(kit: Kit): Promise<void> {
  const { stripe } = kit;
  const account = await freshAccount(kit);
  const on = { stripeAccount: account };
  const customer = await customerWithCard(kit, account);
  const pay = (card: string, amount = 10000) =>
    stripe.paymentIntents.create(
      {
        amount,
        currency: "usd",
        customer: customer.id,
        payment_method: card,
        confirm: true,
        application_fee_amount: amount / 10,
      },
      on,
    );

  step("partial refund with the application fee");
  const pi = await pay("pm_card_visa");
  const refund = await stripe.refunds.create(
    {
      payment_intent: pi.id,
      amount: 2500,
      reason: "requested_by_customer",
      refund_application_fee: true,
      metadata: { ticket: "7" },
    },
    on,
  );
  check(
    /^re_/.test(refund.id) &&
      refund.status === "succeeded" &&
      refund.amount === 2500 &&
      refund.charge === pi.latest_charge,
    "refund",
  );
  check(
    refund.reason === "requested_by_customer" &&
      refund.payment_intent === pi.id &&
      refund.metadata?.ticket === "7",
    "refund fields",
  );
  const charge = await stripe.charges.retrieve(pi.latest_charge as string, {}, on);
  check(charge.amount_refunded === 2500 && charge.refunded === false, "charge follows");
  const fee = await stripe.applicationFees.retrieve(charge.application_fee as string);
  check(
    fee.amount_refunded === 250 && fee.refunded === false && fee.refunds.data.length === 1,
    `fee refunded ${fee.amount_refunded}`,
  );
  check(fee.refunds.data[0]?.object === "fee_refund" && /^fr_/.test(fee.refunds.data[0].id), "fee_refund");
  const feeEvents = await eventsOf(kit, { type: "application_fee.refunded" });
  check(
    feeEvents.some((e) => e.data.object.id === fee.id && e.account === undefined),
    "application_fee.refunded (platform)",
  );
  check(
    (await eventsOf(kit, { type: "charge.refunded", account })).length === 1,
    "charge.refunded (Connect)",
  );
  check((await eventsOf(kit, { type: "refund.created", account })).length === 1, "refund.created");

  step("over-refunds");
  const tooMuch = await expectError(
    () => stripe.refunds.create({ charge: charge.id, amount: 8000 }, on),
    Stripe.errors.StripeInvalidRequestError,
    "too much",
  );
  check(
    tooMuch.code === "amount_too_large" &&
      tooMuch.message === "Refund amount ($80.00) is greater than unrefunded amount on charge ($75.00)",
    tooMuch.message,
  );
  const rest = await stripe.refunds.create({ charge: charge.id }, on);
  check(rest.amount === 7500 && (await stripe.charges.retrieve(charge.id, {}, on)).refunded, "whole rest");
  const again = await expectError(
    () => stripe.refunds.create({ charge: charge.id }, on),
    Stripe.errors.StripeInvalidRequestError,
    "again",
  );
  check(
    again.code === "charge_already_refunded" &&
      again.message === `Charge ${charge.id} has already been refunded.`,
    again.message,
  );
  const listed = await stripe.refunds.list({ charge: charge.id }, on);
  check(listed.data.length === 2 && listed.data[0]?.id === rest.id, "list by charge");
  const tagged = await stripe.refunds.update(rest.id, { metadata: { note: "x" } }, on);
  check(tagged.metadata?.note === "x", "update");
  await expectError(
    () => stripe.refunds.cancel(rest.id, {}, on),
    Stripe.errors.StripeInvalidRequestError,
    "cancel a succeeded refund",
  );

  step("pending and failing refunds");
  const slow = await pay("pm_card_pendingRefund", 4000);
  const pendingRefund = await stripe.refunds.create({ payment_intent: slow.id }, on);
  check(pendingRefund.status === "pending", `pending: ${pendingRefund.status}`);
  const canceled = await stripe.refunds.cancel(pendingRefund.id, {}, on);
  check(canceled.status === "canceled", "canceled");
  check(
    (await stripe.charges.retrieve(slow.latest_charge as string, {}, on)).amount_refunded === 0,
    "amount_refunded restored",
  );
  const second = await stripe.refunds.create({ payment_intent: slow.id, amount: 1000 }, on);
  const settled = await kit.control<Stripe.Refund>("POST", `/refunds/${second.id}/settle`);
  check(settled.status === "succeeded", "settled");
  const bad = await pay("pm_card_refundFail", 3000);
  const doomed = await stripe.refunds.create({ payment_intent: bad.id }, on);
  const failed = await kit.control<Stripe.Refund>("POST", `/refunds/${doomed.id}/settle`);
  check(doomed.status === "succeeded" && failed.status === "failed", `failed: ${failed.status}`);
  check(
    (await stripe.charges.retrieve(bad.latest_charge as string, {}, on)).amount_refunded === 0,
    "failed refund restores",
  );
  check((await eventsOf(kit, { type: "refund.updated", account })).length >= 4, "refund.updated events");

  step("direct application fee refund");
  const feeId = (await stripe.charges.retrieve(bad.latest_charge as string, {}, on))
    .application_fee as string;
  const direct = await stripe.applicationFees.createRefund(feeId, { amount: 100 });
  check(direct.amount === 100 && direct.fee === feeId, "fee refund");
  const refunds = await stripe.applicationFees.listRefunds(feeId);
  check(refunds.data.length === 1, "list fee refunds");
}
