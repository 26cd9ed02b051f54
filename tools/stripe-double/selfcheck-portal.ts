// Self-check of the Billing Portal: sessions, the double's page canceling at period end (and
// renewing), a configuration canceling immediately.
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

export async function portalScenario(kit: Kit): Promise<void> {
  const { stripe } = kit;
  const account = await freshAccount(kit);
  const on = { stripeAccount: account };
  const price = await monthlyPrice(kit, account, 1500);
  const customer = await customerWithCard(kit, account);
  const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] }, on);

  step("billing portal session");
  const session = await stripe.billingPortal.sessions.create(
    { customer: customer.id, return_url: "http://localhost:8787/account" },
    on,
  );
  check(/^bps_\w+$/.test(session.id) && session.object === "billing_portal.session", `id ${session.id}`);
  check(
    session.customer === customer.id &&
      session.return_url === "http://localhost:8787/account" &&
      session.livemode === false,
    "fields",
  );
  check(
    /^bpc_/.test(String(session.configuration)) &&
      session.url.endsWith(`/billing_portal/session/${session.id}`),
    "url/configuration",
  );
  const listed = await (await fetch(session.url)).text();
  check(
    listed.includes(sub.id) && listed.includes("http://localhost:8787/account"),
    "page lists the subscription",
  );

  step("billing portal cancel and renew");
  const canceled = await fetch(`${session.url}?cancel=${sub.id}`);
  check(canceled.status === 200 && (await canceled.text()).includes("Return"), "cancel page");
  const ending = await stripe.subscriptions.retrieve(sub.id, {}, on);
  check(ending.cancel_at_period_end && ending.status === "active", "cancel at period end");
  const updated = (await eventsOf(kit, { type: "customer.subscription.updated", account })).at(-1);
  check(updated?.data.previous_attributes?.cancel_at_period_end === false, "updated event");
  await fetch(`${session.url}?renew=${sub.id}`);
  check(!(await stripe.subscriptions.retrieve(sub.id, {}, on)).cancel_at_period_end, "renewed");
  const back = await fetch(`${session.url}?return=1`, { redirect: "manual" });
  check(back.status === 302 && back.headers.get("location") === "http://localhost:8787/account", "return");

  step("billing portal configuration");
  const config = await stripe.billingPortal.configurations.create(
    {
      features: { subscription_cancel: { enabled: true, mode: "immediately" } },
      default_return_url: "http://localhost:8787/home",
    },
    on,
  );
  check(
    config.object === "billing_portal.configuration" &&
      config.features.subscription_cancel.mode === "immediately",
    "config",
  );
  const now = await stripe.billingPortal.sessions.create(
    { customer: customer.id, configuration: config.id },
    on,
  );
  check(now.return_url === "http://localhost:8787/home", "default_return_url");
  await fetch(`${now.url}?cancel=${sub.id}`);
  check((await stripe.subscriptions.retrieve(sub.id, {}, on)).status === "canceled", "canceled immediately");
  check(
    (await eventsOf(kit, { type: "customer.subscription.deleted", account })).length === 1,
    "deleted event",
  );
  await expectError(
    () => stripe.billingPortal.sessions.create({ customer: "cus_nope" }, on),
    Stripe.errors.StripeInvalidRequestError,
    "unknown customer",
  );
}
