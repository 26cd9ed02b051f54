// Self-check of Checkout: sessions, the double's payment page (success, cancel, decline), the
// subscription it creates with its fee, expiry and lists.
import Stripe from "stripe";
import { check, eventsOf, expectError, freshAccount, type Kit, monthlyPrice, step } from "./selfcheck-kit.ts";

async function visit(url: string): Promise<{ status: number; location: string | null }> {
  const res = await fetch(url, { redirect: "manual" });
  await res.text();
  return { status: res.status, location: res.headers.get("location") };
}

export async function checkoutScenario(kit: Kit): Promise<void> {
  const { stripe } = kit;
  const account = await freshAccount(kit);
  const on = { stripeAccount: account };
  const price = await monthlyPrice(kit, account, 1500, "Pro");

  step("checkout session");
  const session = await stripe.checkout.sessions.create(
    {
      mode: "subscription",
      line_items: [{ price: price.id, quantity: 1 }],
      customer_email: "buyer@example.test",
      success_url: "http://localhost:8787/done?session={CHECKOUT_SESSION_ID}",
      cancel_url: "http://localhost:8787/cancel",
      subscription_data: { application_fee_percent: 10, metadata: { tenant_id: "t_9" } },
      metadata: { plan: "pro" },
      client_reference_id: "user_1",
    },
    on,
  );
  check(/^cs_test_\w+$/.test(session.id) && session.object === "checkout.session", `id ${session.id}`);
  check(
    session.status === "open" && session.payment_status === "unpaid" && session.amount_total === 1500,
    "open",
  );
  check(
    session.expires_at === session.created + 86400 && session.url?.endsWith(`/checkout/pay/${session.id}`),
    "url/expiry",
  );
  const lines = await stripe.checkout.sessions.listLineItems(session.id, {}, on);
  check(
    lines.data.length === 1 && lines.data[0]?.price?.id === price.id && lines.data[0].amount_total === 1500,
    "line items",
  );

  step("checkout page: cancel and decline");
  const canceled = await visit(`${session.url}?cancel=1`);
  check(canceled.status === 302 && canceled.location === "http://localhost:8787/cancel", "cancel redirect");
  const declined = await visit(`${session.url}?card=pm_card_chargeDeclined`);
  check(declined.status === 402, `declined page ${declined.status}`);
  check((await stripe.checkout.sessions.retrieve(session.id, {}, on)).status === "open", "still open");

  step("checkout page: pay");
  const paid = await visit(session.url ?? "");
  check(
    paid.status === 302 && paid.location === `http://localhost:8787/done?session=${session.id}`,
    `success ${paid.location}`,
  );
  const done = await stripe.checkout.sessions.retrieve(
    session.id,
    { expand: ["subscription.latest_invoice"] },
    on,
  );
  check(
    done.status === "complete" && done.payment_status === "paid" && typeof done.customer === "string",
    "complete",
  );
  check(done.customer_details?.email === "buyer@example.test", "customer_details");
  const sub = done.subscription as Stripe.Subscription;
  const invoice = sub.latest_invoice as Stripe.Invoice;
  check(
    sub.status === "active" && sub.application_fee_percent === 10 && sub.metadata.tenant_id === "t_9",
    "subscription",
  );
  check(
    invoice.status === "paid" &&
      (invoice as unknown as { application_fee_amount: number }).application_fee_amount === 150,
    "first invoice",
  );
  check(done.invoice === invoice.id, "session invoice");
  const completed = await eventsOf(kit, { type: "checkout.session.completed", account });
  check(
    completed.length === 1 && completed[0]?.data.object.client_reference_id === "user_1",
    "checkout.session.completed",
  );
  check((await eventsOf(kit, { type: "customer.created", account })).length === 1, "customer.created");
  const again = await visit(session.url ?? "");
  check(
    again.status === 302 && (await stripe.subscriptions.list({}, on)).data.length === 1,
    "paying twice creates nothing",
  );

  step("checkout with a trial, expiry, errors, list");
  const trial = await stripe.checkout.sessions.create(
    {
      mode: "subscription",
      line_items: [{ price: price.id }],
      customer: done.customer as string,
      subscription_data: { trial_period_days: 14 },
      success_url: "http://localhost:8787/ok",
    },
    on,
  );
  await visit(trial.url ?? "");
  const trialed = await stripe.checkout.sessions.retrieve(trial.id, { expand: ["subscription"] }, on);
  check(
    trialed.payment_status === "no_payment_required" &&
      (trialed.subscription as Stripe.Subscription).status === "trialing",
    "trial",
  );
  const stale = await stripe.checkout.sessions.create(
    { mode: "subscription", line_items: [{ price: price.id }], success_url: "http://localhost:8787/ok" },
    on,
  );
  const expired = await stripe.checkout.sessions.expire(stale.id, {}, on);
  check(
    expired.status === "expired" &&
      (await eventsOf(kit, { type: "checkout.session.expired", account })).length === 1,
    "expired",
  );
  await expectError(
    () => stripe.checkout.sessions.expire(stale.id, {}, on),
    Stripe.errors.StripeInvalidRequestError,
    "expire twice",
  );
  check((await visit(`${kit.double.url}/checkout/pay/${stale.id}`)).status === 410, "expired page");
  await expectError(
    () =>
      stripe.checkout.sessions.create(
        {
          mode: "subscription",
          line_items: [{ price: price.id }],
          customer: "cus_x",
          customer_email: "a@b.test",
        },
        on,
      ),
    Stripe.errors.StripeInvalidRequestError,
    "customer and customer_email",
  );
  const platformPrice = await monthlyPrice(kit, undefined, 900, "Platform");
  const fee = await expectError(
    () =>
      stripe.checkout.sessions.create({
        mode: "subscription",
        line_items: [{ price: platformPrice.id }],
        subscription_data: { application_fee_percent: 5 },
      }),
    Stripe.errors.StripeInvalidRequestError,
    "fee on the platform",
  );
  check(fee.param === "subscription_data[application_fee_percent]", `param ${fee.param}`);
  const complete = await stripe.checkout.sessions.list({ status: "complete" }, on);
  check(complete.data.length === 2, `complete sessions ${complete.data.length}`);
}
