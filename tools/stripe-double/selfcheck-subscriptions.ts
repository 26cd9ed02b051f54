// Self-check of subscription changes: fee validation, prorations (create_prorations, always_invoice,
// none, proration_date), pending updates, pause_collection, cancel at period end and its undo,
// trial_end=now, pausing at trial end and resuming, cancel with prorate/invoice_now, search, what an
// incomplete subscription takes, one currency per subscription.
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

type Item = { amount: number; proration: boolean; invoice: string | null; customer: string };

async function pendingItems(kit: Kit, customer: string): Promise<Item[]> {
  const all = await kit.control<Array<{ object: Item }>>("GET", "/objects?kind=invoiceitem");
  return all.map((o) => o.object).filter((i) => i.customer === customer && i.invoice === null);
}

export async function subscriptionsScenario(kit: Kit): Promise<void> {
  const { stripe } = kit;
  const account = await freshAccount(kit);
  const on = { stripeAccount: account };
  const basic = await monthlyPrice(kit, account, 1500, "Basic");
  const pro = await monthlyPrice(kit, account, 2500, "Pro");
  const customer = await customerWithCard(kit, account);

  step("application_fee_percent validation");
  const bad = await expectError(
    () =>
      stripe.subscriptions.create(
        { customer: customer.id, items: [{ price: basic.id }], application_fee_percent: 10.125 },
        on,
      ),
    Stripe.errors.StripeInvalidRequestError,
    "three decimals",
  );
  check(bad.param === "application_fee_percent", `param ${bad.param}`);

  step("create_prorations at a proration_date");
  const sub = await stripe.subscriptions.create(
    { customer: customer.id, items: [{ price: basic.id, quantity: 2 }], metadata: { tier: "basic" } },
    on,
  );
  const item = sub.items.data[0];
  const start = item?.current_period_start ?? 0;
  const end = item?.current_period_end ?? 0;
  const mid = start + Math.floor((end - start) / 2);
  const fraction = (end - mid) / (end - start);
  const upgraded = await stripe.subscriptions.update(
    sub.id,
    {
      items: [{ id: item?.id, price: pro.id }],
      proration_behavior: "create_prorations",
      proration_date: mid,
      metadata: { tier: "pro" },
    },
    on,
  );
  check(
    upgraded.items.data[0]?.price.id === pro.id && upgraded.latest_invoice === sub.latest_invoice,
    "no invoice now",
  );
  const items = await pendingItems(kit, customer.id);
  const amounts = items.map((i) => i.amount).sort((a, b) => a - b);
  check(
    items.every((i) => i.proration) &&
      amounts[0] === -Math.round(3000 * fraction) &&
      amounts[1] === Math.round(5000 * fraction),
    `proration items ${amounts.join(",")}`,
  );
  const updated = (await eventsOf(kit, { type: "customer.subscription.updated", account })).at(-1);
  check(
    (updated?.data.previous_attributes?.metadata as { tier?: string } | undefined)?.tier === "basic" &&
      "items" in (updated?.data.previous_attributes ?? {}),
    "previous_attributes",
  );
  const renewed = await kit.control<Stripe.Subscription>("POST", `/subscriptions/${sub.id}/advance`);
  const renewal = await stripe.invoices.retrieve(renewed.latest_invoice as string, {}, on);
  const prorated = renewal.lines.data.filter((l) => l.parent?.subscription_item_details?.proration);
  check(
    prorated.length === 2 && renewal.total === 5000 + amounts[0] + amounts[1],
    `renewal with prorations: ${renewal.total}`,
  );
  check(
    renewal.status === "paid" && (await pendingItems(kit, customer.id)).length === 0,
    "prorations invoiced",
  );

  step("always_invoice and none");
  const at = Number(renewed.items.data[0]?.current_period_start) + 86400;
  const [s2, e2] = [
    Number(renewed.items.data[0]?.current_period_start),
    Number(renewed.items.data[0]?.current_period_end),
  ];
  const now = await stripe.subscriptions.update(
    sub.id,
    {
      items: [{ id: item?.id, quantity: 3 }],
      proration_behavior: "always_invoice",
      proration_date: at,
      expand: ["latest_invoice"],
    },
    on,
  );
  const immediate = now.latest_invoice as Stripe.Invoice;
  const f2 = (e2 - at) / (e2 - s2);
  check(immediate.billing_reason === "subscription_update" && immediate.status === "paid", "invoiced now");
  check(
    immediate.total === Math.round(7500 * f2) - Math.round(5000 * f2),
    `always_invoice total ${immediate.total}`,
  );
  const none = await stripe.subscriptions.update(
    sub.id,
    { items: [{ id: item?.id, quantity: 1 }], proration_behavior: "none" },
    on,
  );
  check(none.latest_invoice === immediate.id && (await pendingItems(kit, customer.id)).length === 0, "none");

  step("pending_if_incomplete");
  await stripe.subscriptions.update(sub.id, { default_payment_method: "pm_card_chargeCustomerFail" }, on);
  const held = await stripe.subscriptions.update(
    sub.id,
    {
      items: [{ id: item?.id, quantity: 4 }],
      proration_behavior: "always_invoice",
      proration_date: at,
      payment_behavior: "pending_if_incomplete",
    },
    on,
  );
  check(
    held.pending_update !== null && held.items.data[0]?.quantity === 1 && held.status === "active",
    "pending update",
  );
  check(held.pending_update?.subscription_items?.[0]?.quantity === 4, "pending items");
  await stripe.subscriptions.update(sub.id, { default_payment_method: "pm_card_visa" }, on);
  await stripe.invoices.pay(held.latest_invoice as string, {}, on);
  const applied = await stripe.subscriptions.retrieve(sub.id, {}, on);
  check(applied.pending_update === null && applied.items.data[0]?.quantity === 4, "applied after payment");
  check(
    (await eventsOf(kit, { type: "customer.subscription.pending_update_applied", account })).length === 1,
    "pending_update_applied",
  );

  step("pause_collection and cancel_at_period_end");
  const paused = await stripe.subscriptions.update(
    sub.id,
    { pause_collection: { behavior: "keep_as_draft" } },
    on,
  );
  check(
    paused.pause_collection?.behavior === "keep_as_draft" && paused.status === "active",
    "pause_collection",
  );
  const draftCycle = await kit.control<Stripe.Subscription>("POST", `/subscriptions/${sub.id}/advance`);
  const draft = await stripe.invoices.retrieve(draftCycle.latest_invoice as string, {}, on);
  check(draft.status === "draft" && draft.auto_advance === false, `keep_as_draft renewal: ${draft.status}`);
  const unpaused = await stripe.subscriptions.update(sub.id, { pause_collection: "" }, on);
  check(unpaused.pause_collection === null, "unpaused");
  const ending = await stripe.subscriptions.update(sub.id, { cancel_at_period_end: true }, on);
  check(
    ending.cancel_at_period_end && ending.cancel_at === ending.items.data[0]?.current_period_end,
    "cancel_at_period_end",
  );
  const kept = await stripe.subscriptions.update(sub.id, { cancel_at_period_end: false }, on);
  check(
    !kept.cancel_at_period_end && kept.cancel_at === null && kept.canceled_at === null,
    "pending cancellation undone",
  );

  step("trials: trial_end=now, pause at trial end, resume");
  const trial = await stripe.subscriptions.create(
    { customer: customer.id, items: [{ price: basic.id }], trial_period_days: 7 },
    on,
  );
  const started = await stripe.subscriptions.update(
    trial.id,
    { trial_end: "now", expand: ["latest_invoice"] },
    on,
  );
  check(
    started.status === "active" && (started.latest_invoice as Stripe.Invoice).amount_paid === 1500,
    "trial_end=now bills",
  );
  const bare = await stripe.customers.create({ email: "nocard@example.test" }, on);
  const pausing = await stripe.subscriptions.create(
    {
      customer: bare.id,
      items: [{ price: basic.id }],
      trial_period_days: 3,
      trial_settings: { end_behavior: { missing_payment_method: "pause" } },
    },
    on,
  );
  await expectError(
    () => stripe.subscriptions.resume(pausing.id, {}, on),
    Stripe.errors.StripeInvalidRequestError,
    "resume a trialing one",
  );
  const stopped = await kit.control<Stripe.Subscription>("POST", `/subscriptions/${pausing.id}/advance`);
  check(stopped.status === "paused", `paused: ${stopped.status}`);
  check(
    (await eventsOf(kit, { type: "customer.subscription.paused", account })).length === 1,
    "paused event",
  );
  await stripe.customers.update(
    bare.id,
    { invoice_settings: { default_payment_method: "pm_card_visa" } },
    on,
  );
  const resumed = await stripe.subscriptions.resume(
    pausing.id,
    { billing_cycle_anchor: { type: "now" } },
    on,
  );
  check(resumed.status === "active", `resumed: ${resumed.status}`);
  check(
    (await eventsOf(kit, { type: "customer.subscription.resumed", account })).length === 1,
    "resumed event",
  );

  step("cancel with prorate and invoice_now");
  const refundable = await customerWithCard(kit, account);
  const short = await stripe.subscriptions.create(
    { customer: refundable.id, items: [{ price: pro.id }] },
    on,
  );
  const gone = await stripe.subscriptions.cancel(
    short.id,
    { prorate: true, invoice_now: true, expand: ["latest_invoice"] },
    on,
  );
  const final = gone.latest_invoice as Stripe.Invoice;
  check(
    gone.status === "canceled" &&
      final.id !== short.latest_invoice &&
      final.total < 0 &&
      final.amount_due === 0,
    `final ${final.total}`,
  );
  const credited = await stripe.customers.retrieve(refundable.id, {}, on);
  check(
    !credited.deleted && credited.balance === final.total,
    `credit balance ${(credited as Stripe.Customer).balance}`,
  );

  step("subscription search");
  const found = await stripe.subscriptions.search({ query: "status:'canceled'" }, on);
  check(found.data.length === 1 && found.data[0]?.id === short.id, "status search");
  const tiers = await stripe.subscriptions.search(
    { query: "metadata['tier']:'pro' AND status:'active'" },
    on,
  );
  check(tiers.data.length === 1 && tiers.data[0]?.id === sub.id, "metadata search");

  step("incomplete takes only metadata and its payment method; one currency for life");
  const waiting = await stripe.customers.create({ email: "waiting@example.test" }, on);
  const incomplete = await stripe.subscriptions.create(
    { customer: waiting.id, items: [{ price: basic.id }], payment_behavior: "default_incomplete" },
    on,
  );
  check(incomplete.status === "incomplete", `incomplete: ${incomplete.status}`);
  const tagged = await stripe.subscriptions.update(incomplete.id, { metadata: { k: "v" } }, on);
  check(tagged.metadata.k === "v", "metadata on an incomplete subscription");
  for (const change of [
    { items: [{ id: incomplete.items.data[0]?.id, quantity: 3 }] },
    { pause_collection: { behavior: "void" as const } },
    { cancel_at_period_end: true },
  ]) {
    await expectError(
      () => stripe.subscriptions.update(incomplete.id, change, on),
      Stripe.errors.StripeInvalidRequestError,
      `incomplete: ${Object.keys(change).join()}`,
    );
  }
  check((await stripe.subscriptions.cancel(incomplete.id, {}, on)).status === "canceled", "cancel now");
  const euroProduct = await stripe.products.create({ name: "Euro" }, on);
  const euro = await stripe.prices.create(
    { product: euroProduct.id, unit_amount: 1500, currency: "eur", recurring: { interval: "month" } },
    on,
  );
  const mixed = await expectError(
    () => stripe.subscriptions.update(sub.id, { items: [{ id: sub.items.data[0]?.id, price: euro.id }] }, on),
    Stripe.errors.StripeInvalidRequestError,
    "another currency",
  );
  check(mixed.message.includes("only supports `eur`"), `currency: ${mixed.message}`);
}
