// Self-check of test clocks: trial_will_end, trial end, renewals, payment retries on the retry
// schedule (recovery, cancel, unpaid), incomplete_expired, auto-advancing one-off invoices, clock
// events and errors.
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

const DAY = 86400;

export async function clocksScenario(kit: Kit): Promise<void> {
  const { stripe } = kit;
  const account = await freshAccount(kit);
  const on = { stripeAccount: account };
  const price = await monthlyPrice(kit, account, 2000);
  const t0 = 1_900_000_000;
  const clock = await stripe.testHelpers.testClocks.create({ frozen_time: t0, name: "dunning" }, on);
  check(/^clock_/.test(clock.id) && clock.status === "ready" && clock.frozen_time === t0, "clock");
  const advance = async (id: string, to: number) => {
    const res = await stripe.testHelpers.testClocks.advance(id, { frozen_time: to }, on);
    check(res.status === "advancing", `advance answered ${res.status}`);
    const ready = await stripe.testHelpers.testClocks.retrieve(id, {}, on);
    check(ready.status === "ready" && ready.frozen_time === to, "ready");
  };

  step("trial on a test clock");
  const customer = await customerWithCard(kit, account, "pm_card_visa", { test_clock: clock.id });
  check(customer.test_clock === clock.id && customer.created === t0, "customer lives at the clock's time");
  const sub = await stripe.subscriptions.create(
    { customer: customer.id, items: [{ price: price.id }], trial_period_days: 7 },
    on,
  );
  check(
    sub.created === t0 && sub.trial_end === t0 + 7 * DAY && sub.test_clock === clock.id,
    "subscription at clock time",
  );
  await advance(clock.id, t0 + 5 * DAY);
  const notice = await eventsOf(kit, { type: "customer.subscription.trial_will_end", account });
  check(notice.length === 1 && notice[0]?.data.object.id === sub.id, "trial_will_end");
  check(
    (
      await kit.control<Array<{ created: number }>>(
        "GET",
        `/events?type=customer.subscription.trial_will_end&account=${account}`,
      )
    )[0]?.created ===
      t0 + 4 * DAY,
    "notice at trial end - 3 days",
  );
  await advance(clock.id, t0 + 8 * DAY);
  const active = await stripe.subscriptions.retrieve(sub.id, { expand: ["latest_invoice"] }, on);
  const first = active.latest_invoice as Stripe.Invoice;
  check(
    active.status === "active" && first.status === "paid" && first.created === t0 + 7 * DAY,
    `trial ended: ${active.status}`,
  );

  step("renewal fails, retries, recovers");
  await kit.control("POST", "/retry_schedule", {
    customer: customer.id,
    delays_days: [1, 2],
    after: "unpaid",
  });
  await stripe.customers.update(
    customer.id,
    { invoice_settings: { default_payment_method: "pm_card_chargeCustomerFail" } },
    on,
  );
  const periodEnd = Number(active.items.data[0]?.current_period_end);
  await advance(clock.id, periodEnd + 3600);
  const failing = await stripe.subscriptions.retrieve(sub.id, { expand: ["latest_invoice"] }, on);
  const renewal = failing.latest_invoice as Stripe.Invoice;
  check(
    failing.status === "past_due" && renewal.status === "open" && renewal.attempt_count === 1,
    `past_due: ${failing.status}`,
  );
  check(renewal.next_payment_attempt === periodEnd + DAY, `next attempt ${renewal.next_payment_attempt}`);
  await stripe.customers.update(
    customer.id,
    { invoice_settings: { default_payment_method: "pm_card_visa" } },
    on,
  );
  check(
    (await stripe.invoices.retrieve(renewal.id, {}, on)).attempt_count === 1,
    "a new default card does not retry by itself",
  );
  await advance(clock.id, periodEnd + DAY + 60);
  const recovered = await stripe.invoices.retrieve(renewal.id, {}, on);
  check(recovered.status === "paid" && recovered.attempt_count === 2, `retry paid: ${recovered.status}`);
  check((await stripe.subscriptions.retrieve(sub.id, {}, on)).status === "active", "back to active");

  step("retries exhausted: canceled (default schedule) and unpaid");
  const clock2 = await stripe.testHelpers.testClocks.create({ frozen_time: t0 }, on);
  const doomed = await customerWithCard(kit, account, "pm_card_visa", { test_clock: clock2.id });
  const lost = await stripe.subscriptions.create({ customer: doomed.id, items: [{ price: price.id }] }, on);
  await stripe.customers.update(
    doomed.id,
    { invoice_settings: { default_payment_method: "pm_card_chargeCustomerFail" } },
    on,
  );
  const end2 = Number(lost.items.data[0]?.current_period_end);
  await advance(clock2.id, end2 + 20 * DAY);
  const failures = (await eventsOf(kit, { type: "invoice.payment_failed", account })).filter(
    (e) => e.data.object.customer === doomed.id,
  );
  check(
    failures.map((e) => e.data.object.attempt_count).join(",") === "1,2,3,4,5",
    `attempts ${failures.map((e) => e.data.object.attempt_count)}`,
  );
  const delays = failures.map((e) => e.data.object.next_payment_attempt);
  check(
    delays[0] === end2 + DAY &&
      delays[1] === end2 + 4 * DAY &&
      delays[3] === end2 + 16 * DAY &&
      delays[4] === null,
    `schedule ${delays}`,
  );
  const canceled = await stripe.subscriptions.retrieve(lost.id, {}, on);
  check(
    canceled.status === "canceled" && canceled.cancellation_details?.reason === "payment_failed",
    `after retries: ${canceled.status}`,
  );
  const clock3 = await stripe.testHelpers.testClocks.create({ frozen_time: t0 }, on);
  await kit.control("POST", "/retry_schedule", { account, delays_days: [1], after: "unpaid" });
  const late = await customerWithCard(kit, account, "pm_card_visa", { test_clock: clock3.id });
  const owing = await stripe.subscriptions.create({ customer: late.id, items: [{ price: price.id }] }, on);
  await stripe.customers.update(
    late.id,
    { invoice_settings: { default_payment_method: "pm_card_chargeCustomerFail" } },
    on,
  );
  await advance(clock3.id, Number(owing.items.data[0]?.current_period_end) + 2 * DAY);
  check((await stripe.subscriptions.retrieve(owing.id, {}, on)).status === "unpaid", "unpaid");

  step("incomplete_expired and auto-advancing invoices");
  const clock4 = await stripe.testHelpers.testClocks.create({ frozen_time: t0 }, on);
  const bad = await customerWithCard(kit, account, "pm_card_chargeCustomerFail", { test_clock: clock4.id });
  const stuck = await stripe.subscriptions.create({ customer: bad.id, items: [{ price: price.id }] }, on);
  check(stuck.status === "incomplete", "incomplete");
  const good = await customerWithCard(kit, account, "pm_card_visa", { test_clock: clock4.id });
  const draft = await stripe.invoices.create({ customer: good.id, auto_advance: true }, on);
  await stripe.invoiceItems.create(
    { customer: good.id, invoice: draft.id, amount: 900, currency: "usd" },
    on,
  );
  check(draft.automatically_finalizes_at === t0 + 3600, "automatically_finalizes_at");
  await advance(clock4.id, t0 + DAY);
  const expired = await stripe.subscriptions.retrieve(stuck.id, { expand: ["latest_invoice"] }, on);
  check(
    expired.status === "incomplete_expired" && (expired.latest_invoice as Stripe.Invoice).status === "void",
    `expired: ${expired.status}`,
  );
  const collected = await stripe.invoices.retrieve(draft.id, {}, on);
  check(
    collected.status === "paid" && collected.status_transitions.finalized_at === t0 + 3600,
    `auto-advanced: ${collected.status}`,
  );

  step("clock events, errors, delete");
  check(
    (await eventsOf(kit, { type: "test_helpers.test_clock.ready", account })).length >= 6,
    "ready events",
  );
  check(
    (await eventsOf(kit, { type: "test_helpers.test_clock.advancing", account })).length >= 6,
    "advancing events",
  );
  await expectError(
    () => stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: t0 }, on),
    Stripe.errors.StripeInvalidRequestError,
    "backwards",
  );
  const clocks = await stripe.testHelpers.testClocks.list({}, on);
  check(clocks.data.length === 4, `clocks ${clocks.data.length}`);
  const gone = await stripe.testHelpers.testClocks.del(clock4.id, {}, on);
  check(gone.deleted === true, "deleted clock");
  check((await stripe.customers.retrieve(good.id, {}, on)).deleted === true, "its customers are deleted");
  await kit.control("DELETE", `/retry_schedule?account=${account}`);
}
