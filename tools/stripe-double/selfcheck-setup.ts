// Self-check of SetupIntents: success attaches the card, a decline leaves `last_setup_error`, 3D
// Secure goes through the double's /3ds page, cancellation and lists.
import Stripe from "stripe";
import { check, eventsOf, expectError, freshAccount, type Kit, step } from "./selfcheck-kit.ts";

export async function setupIntentsScenario(kit: Kit): Promise<void> {
  const { stripe } = kit;
  const account = await freshAccount(kit);
  const on = { stripeAccount: account };
  const customer = await stripe.customers.create({ email: "setup@example.test" }, on);

  step("setup intent succeeds");
  const si = await stripe.setupIntents.create(
    {
      customer: customer.id,
      allowed_payment_method_types: ["card"],
      usage: "off_session",
      metadata: { k: "v" },
    },
    on,
  );
  check(/^seti_\w+$/.test(si.id) && si.status === "requires_payment_method", `created ${si.status}`);
  check(si.client_secret?.startsWith(`${si.id}_secret_`), "client_secret");
  check(
    si.allowed_payment_method_types?.[0] === "card" &&
      si.usage === "off_session" &&
      si.metadata?.k === "v" &&
      si.customer === customer.id,
    "fields",
  );
  const done = await stripe.setupIntents.confirm(si.id, { payment_method: "pm_card_visa" }, on);
  check(done.status === "succeeded" && typeof done.payment_method === "string", `confirmed ${done.status}`);
  const pms = await stripe.customers.listPaymentMethods(customer.id, {}, on);
  check(pms.data.length === 1 && pms.data[0]?.id === done.payment_method, "card attached to the customer");
  const succeeded = await eventsOf(kit, { type: "setup_intent.succeeded", account });
  check(succeeded.length === 1 && succeeded[0]?.account === account, "setup_intent.succeeded (Connect)");
  check(
    (await eventsOf(kit, { type: "setup_intent.created", account })).length === 1,
    "setup_intent.created",
  );
  check(
    (await eventsOf(kit, { type: "payment_method.attached", account })).length === 1,
    "payment_method.attached",
  );
  await expectError(
    () => stripe.setupIntents.confirm(si.id, { payment_method: "pm_card_visa" }, on),
    Stripe.errors.StripeInvalidRequestError,
    "confirm twice",
  ).then((e) => check(e.code === "setup_intent_unexpected_state", `code ${e.code}`));
  await expectError(
    () => stripe.setupIntents.cancel(si.id, {}, on),
    Stripe.errors.StripeInvalidRequestError,
    "cancel a succeeded intent",
  );

  step("setup intent declines");
  const bad = await stripe.setupIntents.create({ customer: customer.id }, on);
  const declined = await expectError(
    () => stripe.setupIntents.confirm(bad.id, { payment_method: "pm_card_chargeDeclined" }, on),
    Stripe.errors.StripeCardError,
    "declining card",
  );
  check(
    declined.code === "card_declined" && declined.setup_intent?.id === bad.id,
    "error carries the intent",
  );
  const failed = await stripe.setupIntents.retrieve(bad.id, {}, on);
  check(
    failed.status === "requires_payment_method" && failed.last_setup_error?.code === "card_declined",
    `after decline: ${failed.status}`,
  );
  check(
    (await eventsOf(kit, { type: "setup_intent.setup_failed", account })).length === 1,
    "setup_failed event",
  );

  step("setup intent with 3D Secure");
  const sca = await stripe.setupIntents.create(
    { customer: customer.id, payment_method: "pm_card_authenticationRequired", confirm: true },
    on,
  );
  check(sca.status === "requires_action" && sca.next_action?.type === "use_stripe_sdk", `3DS: ${sca.status}`);
  const url = (sca.next_action?.use_stripe_sdk as { stripe_js: string } | undefined)?.stripe_js ?? "";
  const visited = await fetch(url);
  check(visited.status === 200, `3DS page ${visited.status}`);
  const authenticated = await stripe.setupIntents.retrieve(sca.id, {}, on);
  check(authenticated.status === "succeeded", `after 3DS: ${authenticated.status}`);

  step("setup intent cancel and list");
  const abandoned = await stripe.setupIntents.create({ customer: customer.id }, on);
  const canceled = await stripe.setupIntents.cancel(abandoned.id, { cancellation_reason: "abandoned" }, on);
  check(canceled.status === "canceled" && canceled.cancellation_reason === "abandoned", "canceled");
  const listed = await stripe.setupIntents.list({ customer: customer.id }, on);
  check(listed.data.length === 4 && listed.data[0]?.id === abandoned.id, `list ${listed.data.length}`);
}
