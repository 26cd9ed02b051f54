// Drives the double with the official SDK, the way the Worker does: every endpoint family, the
// error classes the SDK raises, injected failures, OAuth, and signed webhook deliveries.
// Run: node_modules/.bin/node tools/stripe-double/selfcheck.ts  (exits non-zero on any failure)
import Stripe from "stripe";
import { billingScenario } from "./selfcheck-billing.ts";
import { checkoutScenario } from "./selfcheck-checkout.ts";
import { clocksScenario } from "./selfcheck-clocks.ts";
import { connectScenario, oauthScenario } from "./selfcheck-connect.ts";
import { crosscutScenario } from "./selfcheck-crosscut.ts";
import { customersScenario } from "./selfcheck-customers.ts";
import { discountsScenario } from "./selfcheck-discounts.ts";
import { invoicesScenario } from "./selfcheck-invoices.ts";
import {
  check,
  expectError,
  type Kit,
  makeKit,
  type Receiver,
  startReceiver,
  step,
} from "./selfcheck-kit.ts";
import { paymentsScenario } from "./selfcheck-payments.ts";
import { portalScenario } from "./selfcheck-portal.ts";
import { previewScenario } from "./selfcheck-preview.ts";
import { refundsScenario } from "./selfcheck-refunds.ts";
import { setupIntentsScenario } from "./selfcheck-setup.ts";
import { subscriptionsScenario } from "./selfcheck-subscriptions.ts";
import { startStripeDouble } from "./server.ts";

async function logAndWebhooks(
  kit: Kit,
  receiver: Receiver,
  account: Stripe.Account,
  productId: string,
): Promise<void> {
  const { stripe } = kit;
  step("request log");
  const requests = (await kit.control("GET", "/requests")) as Array<{
    headers: { authorization_present: boolean };
  }>;
  check(
    requests.length > 20 && requests.every((r) => typeof r.headers.authorization_present === "boolean"),
    "log",
  );
  check(!JSON.stringify(requests).includes("sk_test_123"), "the API key is never echoed");

  step("webhooks");
  const custom = (await kit.control("POST", "/events", {
    type: "invoice.payment_failed",
    data: { object: { id: "in_custom", object: "invoice" } },
    account: account.id,
  })) as { id: string; account: string };
  check(custom.id.startsWith("evt_") && custom.account === account.id, "custom event");
  await kit.control("POST", "/flush");
  const events = (await kit.control("GET", "/events")) as Array<{
    type: string;
    delivery: { status: string };
  }>;
  check(
    events.every((e) => e.delivery.status === "delivered"),
    "every event delivered",
  );
  check(
    receiver.received.length === events.length,
    `${receiver.received.length} received of ${events.length}`,
  );
  const verified = receiver.received.map((r) =>
    stripe.webhooks.constructEvent(
      r.body,
      r.signature,
      r.path === "/connect" ? "whsec_selfcheck_connect" : "whsec_selfcheck_platform",
    ),
  );
  const types = new Set(verified.map((e) => e.type));
  for (const type of [
    "account.updated",
    "product.created",
    "product.updated",
    "price.created",
    "customer.created",
    "customer.updated",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.payment_succeeded",
    "account.application.deauthorized",
    "invoice.payment_failed",
    "payment_intent.succeeded",
    "charge.refunded",
    "application_fee.created",
    "application_fee.refunded",
    "setup_intent.succeeded",
    "checkout.session.completed",
    "customer.discount.created",
    "test_helpers.test_clock.ready",
    "invoice.voided",
    "coupon.created",
  ]) {
    check(types.has(type as Stripe.Event.Type), `event ${type} was delivered`);
  }
  const productEvent = verified.find((e) => e.type === "product.created");
  check(
    productEvent?.account === account.id && productEvent.api_version === "2026-10-28.endive",
    "Connect event envelope",
  );
  const stored = await stripe.events.retrieve(productEvent.id, {}, { stripeAccount: account.id });
  check(stored.id === productEvent.id && stored.type === "product.created", "GET /v1/events/:id");
  check(
    receiver.received.find((r) => r.body.includes('"product.created"'))?.path === "/connect",
    "Connect events go to connect_url",
  );
  await expectError(
    async () =>
      stripe.webhooks.constructEvent(
        receiver.received[0]?.body ?? "",
        receiver.received[0]?.signature ?? "",
        "whsec_wrong",
      ),
    Stripe.errors.StripeSignatureVerificationError,
    "wrong secret",
  );

  step("reset");
  await kit.control("POST", "/reset");
  await expectError(
    () => stripe.products.retrieve(productId, {}, { stripeAccount: account.id }),
    Stripe.errors.StripePermissionError,
    "after reset",
  );
  check(((await kit.control("GET", "/requests")) as unknown[]).length === 1, "log cleared");
}

async function main(): Promise<void> {
  const double = await startStripeDouble({ port: 0 });
  const receiver = await startReceiver();
  const kit = makeKit(double);
  try {
    step("health");
    check((await kit.control<{ ok: boolean }>("GET", "/health")).ok === true, "health");
    await kit.control("POST", "/webhooks", {
      url: `${receiver.url}/platform`,
      secret: "whsec_selfcheck_platform",
      connect_url: `${receiver.url}/connect`,
      connect_secret: "whsec_selfcheck_connect",
    });
    const account = await connectScenario(kit);
    const productId = await billingScenario(kit, account);
    await oauthScenario(kit);
    await customersScenario(kit);
    await setupIntentsScenario(kit);
    await paymentsScenario(kit);
    await subscriptionsScenario(kit);
    await previewScenario(kit);
    await checkoutScenario(kit);
    await portalScenario(kit);
    await invoicesScenario(kit);
    await clocksScenario(kit);
    await refundsScenario(kit);
    await discountsScenario(kit);
    await crosscutScenario(kit);
    await logAndWebhooks(kit, receiver, account, productId);
  } finally {
    await double.close();
    await receiver.close();
  }
  console.log("selfcheck ok");
}

main().catch((err: unknown) => {
  console.error("selfcheck FAILED:", err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
