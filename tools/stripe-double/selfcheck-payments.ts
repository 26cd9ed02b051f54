// Self-check of what invoices collect with: PaymentIntents, Charges, InvoicePayments,
// `confirmation_secret`, application fees, declines and 3D Secure.
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

export async function paymentsScenario(kit: Kit): Promise<void> {
  const { stripe } = kit;
  const account = await freshAccount(kit);
  const on = { stripeAccount: account };
  const price = await monthlyPrice(kit, account, 1500);

  step("invoice payment of a paid subscription");
  const customer = await customerWithCard(kit, account);
  const sub = await stripe.subscriptions.create(
    {
      customer: customer.id,
      items: [{ price: price.id, quantity: 2 }],
      application_fee_percent: 10,
      expand: ["latest_invoice.payments.data.payment.payment_intent", "latest_invoice.confirmation_secret"],
    },
    on,
  );
  const invoice = sub.latest_invoice as Stripe.Invoice;
  check(sub.status === "active" && invoice.status === "paid" && invoice.amount_paid === 3000, "paid");
  const payment = invoice.payments?.data[0];
  check(invoice.payments?.data.length === 1 && payment?.object === "invoice_payment", "invoice.payments");
  check(
    payment?.status === "paid" &&
      payment.amount_paid === 3000 &&
      payment.amount_requested === 3000 &&
      payment.is_default,
    "invoice payment fields",
  );
  const pi = payment?.payment.payment_intent as Stripe.PaymentIntent;
  check(payment?.payment.type === "payment_intent" && pi.object === "payment_intent", "expanded intent");
  check(
    pi.status === "succeeded" && pi.amount === 3000 && pi.application_fee_amount === 300,
    `intent ${pi.status}`,
  );
  check(pi.client_secret?.startsWith(`${pi.id}_secret_`), "intent client_secret");
  check(
    invoice.confirmation_secret?.type === "payment_intent" &&
      invoice.confirmation_secret.client_secret === pi.client_secret,
    "confirmation_secret",
  );
  const charge = await stripe.charges.retrieve(pi.latest_charge as string, {}, on);
  check(
    charge.amount === 3000 &&
      charge.amount_refunded === 0 &&
      !charge.refunded &&
      charge.status === "succeeded",
    "charge",
  );
  check(charge.application_fee_amount === 300 && /^fee_/.test(String(charge.application_fee)), "charge fee");
  const fee = await stripe.applicationFees.retrieve(charge.application_fee as string);
  check(
    fee.account === account && fee.amount === 300 && fee.charge === charge.id,
    "application fee on the platform",
  );
  const feeEvents = await eventsOf(kit, { type: "application_fee.created" });
  check(
    feeEvents.some((e) => e.data.object.id === fee.id && e.account === undefined),
    "application_fee.created (platform)",
  );
  const listed = await stripe.invoicePayments.list({ invoice: invoice.id }, on);
  check(listed.data.length === 1 && listed.data[0]?.id === payment?.id, "GET /v1/invoice_payments?invoice=");
  check(
    (invoice as unknown as { application_fee_amount: number }).application_fee_amount === 300,
    "invoice fee",
  );

  step("default_incomplete and confirming the intent");
  const pending = await stripe.subscriptions.create(
    {
      customer: customer.id,
      items: [{ price: price.id }],
      payment_behavior: "default_incomplete",
      expand: ["latest_invoice.confirmation_secret"],
    },
    on,
  );
  const open = pending.latest_invoice as Stripe.Invoice;
  check(
    pending.status === "incomplete" && open.status === "open" && open.amount_paid === 0,
    "incomplete, open",
  );
  const secret = open.confirmation_secret?.client_secret ?? "";
  const piId = secret.split("_secret_")[0] ?? "";
  const waiting = await stripe.paymentIntents.retrieve(piId, {}, on);
  check(
    waiting.status === "requires_confirmation" && waiting.latest_charge === null,
    `nothing charged: ${waiting.status}`,
  );
  const confirmed = await stripe.paymentIntents.confirm(piId, { payment_method: "pm_card_visa" }, on);
  check(confirmed.status === "succeeded", "confirmed");
  const activated = await stripe.subscriptions.retrieve(pending.id, { expand: ["latest_invoice"] }, on);
  check(
    activated.status === "active" && (activated.latest_invoice as Stripe.Invoice).status === "paid",
    "active after confirm",
  );
  await expectError(
    () => stripe.paymentIntents.confirm(piId, { payment_method: "pm_card_visa" }, on),
    Stripe.errors.StripeInvalidRequestError,
    "confirm twice",
  ).then((e) => check(e.code === "payment_intent_unexpected_state", `code ${e.code}`));

  step("declined first payment");
  const failing = await customerWithCard(kit, account, "pm_card_chargeCustomerFail");
  const incomplete = await stripe.subscriptions.create(
    { customer: failing.id, items: [{ price: price.id }], expand: ["latest_invoice.payments"] },
    on,
  );
  const unpaid = incomplete.latest_invoice as Stripe.Invoice;
  check(
    incomplete.status === "incomplete" && unpaid.attempt_count === 1 && unpaid.next_payment_attempt === null,
    "incomplete",
  );
  const failedPi = await stripe.paymentIntents.retrieve(
    unpaid.payments?.data[0]?.payment.payment_intent as string,
    {},
    on,
  );
  check(
    failedPi.status === "requires_payment_method" && failedPi.last_payment_error?.code === "card_declined",
    "last_payment_error",
  );
  const failedCharge = await stripe.charges.retrieve(failedPi.latest_charge as string, {}, on);
  check(failedCharge.status === "failed" && failedCharge.failure_code === "card_declined", "failed charge");
  const declined = await expectError(
    () => stripe.paymentIntents.confirm(failedPi.id, { payment_method: "pm_card_chargeDeclined" }, on),
    Stripe.errors.StripeCardError,
    "confirm with a declining card",
  );
  check(declined.payment_intent?.id === failedPi.id, "decline carries the intent");
  await stripe.paymentIntents.confirm(failedPi.id, { payment_method: "pm_card_mastercard" }, on);
  const recovered = await stripe.subscriptions.retrieve(incomplete.id, {}, on);
  check(recovered.status === "active", `recovered: ${recovered.status}`);

  step("3D Secure on the first payment");
  const sca = await customerWithCard(kit, account, "pm_card_authenticationRequired");
  const needsAction = await stripe.subscriptions.create(
    {
      customer: sca.id,
      items: [{ price: price.id }],
      expand: ["latest_invoice.payments.data.payment.payment_intent"],
    },
    on,
  );
  const scaPi = (needsAction.latest_invoice as Stripe.Invoice).payments?.data[0]?.payment
    .payment_intent as Stripe.PaymentIntent;
  check(needsAction.status === "incomplete" && scaPi.status === "requires_action", `3DS: ${scaPi.status}`);
  const action = await eventsOf(kit, { type: "invoice.payment_action_required", account });
  check(action.length === 1, "invoice.payment_action_required");
  const page = (scaPi.next_action?.use_stripe_sdk as { stripe_js: string } | undefined)?.stripe_js ?? "";
  check((await fetch(page)).status === 200, "3DS page");
  const authenticated = await stripe.subscriptions.retrieve(
    needsAction.id,
    { expand: ["latest_invoice"] },
    on,
  );
  check(
    authenticated.status === "active" && (authenticated.latest_invoice as Stripe.Invoice).status === "paid",
    "after 3DS",
  );

  step("standalone payment intent");
  const direct = await stripe.paymentIntents.create(
    {
      amount: 2000,
      currency: "usd",
      customer: customer.id,
      payment_method: "pm_card_visa",
      confirm: true,
      application_fee_amount: 100,
    },
    on,
  );
  check(direct.status === "succeeded" && direct.amount_received === 2000, "direct payment");
  const charges = await stripe.charges.list({ payment_intent: direct.id }, on);
  check(charges.data.length === 1 && charges.data[0]?.application_fee_amount === 100, "charges list");
  const intents = await stripe.paymentIntents.list({ customer: customer.id }, on);
  check(intents.data.length >= 3, `intents of the customer: ${intents.data.length}`);
}
