// Self-check of POST /v1/invoices/create_preview: upcoming renewal with a plan change's prorations,
// the immediate invoice of always_invoice, a new subscription's first invoice; nothing is stored.
import Stripe from "stripe";
import {
  check,
  customerWithCard,
  expectError,
  freshAccount,
  type Kit,
  monthlyPrice,
  step,
} from "./selfcheck-kit.ts";

export async function previewScenario(kit: Kit): Promise<void> {
  const { stripe } = kit;
  const account = await freshAccount(kit);
  const on = { stripeAccount: account };
  const basic = await monthlyPrice(kit, account, 1500, "Basic");
  const pro = await monthlyPrice(kit, account, 2500, "Pro");
  const customer = await customerWithCard(kit, account);
  const sub = await stripe.subscriptions.create(
    { customer: customer.id, items: [{ price: basic.id }], application_fee_percent: 10 },
    on,
  );
  const item = sub.items.data[0];
  const [start, end] = [Number(item?.current_period_start), Number(item?.current_period_end)];
  const mid = start + Math.floor((end - start) / 3);
  const fraction = (end - mid) / (end - start);
  const eventsBefore = (await kit.control<unknown[]>("GET", `/events?account=${account}`)).length;

  step("preview of a plan change (create_prorations)");
  const upcoming = await stripe.invoices.createPreview(
    {
      customer: customer.id,
      subscription: sub.id,
      subscription_details: { items: [{ id: item?.id, price: pro.id }], proration_date: mid },
    },
    on,
  );
  check(upcoming.id.startsWith("upcoming_in_") && upcoming.status === "draft", `id ${upcoming.id}`);
  const prorations = upcoming.lines.data.filter(
    (l) => l.parent?.subscription_item_details?.proration === true,
  );
  const credit = -Math.round(1500 * fraction);
  const debit = Math.round(2500 * fraction);
  check(
    prorations.length === 2 &&
      prorations.some((l) => l.amount === credit) &&
      prorations.some((l) => l.amount === debit),
    `proration lines ${prorations.map((l) => l.amount).join(",")}`,
  );
  check(
    upcoming.billing_reason === "subscription_cycle" && upcoming.period_start === end,
    "upcoming renewal",
  );
  check(
    upcoming.subtotal === 2500 + credit + debit && upcoming.total === upcoming.subtotal,
    `subtotal ${upcoming.subtotal}`,
  );
  check(
    upcoming.amount_due === upcoming.total && upcoming.total_discount_amounts?.length === 0,
    "amount_due",
  );
  check(
    upcoming.parent?.subscription_details?.subscription_proration_date === mid,
    "subscription_proration_date",
  );
  check(
    (upcoming as unknown as { application_fee_amount: number }).application_fee_amount ===
      Math.round(upcoming.total * 0.1),
    "fee on the preview",
  );

  step("preview of always_invoice");
  const now = await stripe.invoices.createPreview(
    {
      subscription: sub.id,
      subscription_details: {
        items: [{ id: item?.id, quantity: 2 }],
        proration_behavior: "always_invoice",
        proration_date: mid,
      },
    },
    on,
  );
  check(now.billing_reason === "subscription_update" && now.lines.data.length === 2, "immediate invoice");
  check(
    now.total === Math.round(3000 * fraction) - Math.round(1500 * fraction),
    `always_invoice total ${now.total}`,
  );

  step("preview of a new subscription and of no change");
  const first = await stripe.invoices.createPreview(
    { customer: customer.id, subscription_details: { items: [{ price: pro.id, quantity: 3 }] } },
    on,
  );
  check(
    first.billing_reason === "subscription_create" && first.total === 7500,
    `new subscription ${first.total}`,
  );
  const plain = await stripe.invoices.createPreview({ subscription: sub.id }, on);
  check(
    plain.total === 1500 && plain.lines.data.every((l) => !l.parent?.subscription_item_details?.proration),
    "no change",
  );

  step("preview changes nothing");
  const after = await stripe.subscriptions.retrieve(sub.id, {}, on);
  check(after.items.data[0]?.price.id === basic.id, "subscription untouched");
  const eventsAfter = (await kit.control<unknown[]>("GET", `/events?account=${account}`)).length;
  check(eventsAfter === eventsBefore, `no events (${eventsBefore} → ${eventsAfter})`);
  const stored = await kit.control<Array<{ object: { customer: string } }>>(
    "GET",
    "/objects?kind=invoiceitem",
  );
  check(!stored.some((o) => o.object.customer === customer.id), "no invoice items");
  const canceled = await stripe.subscriptions.update(sub.id, { cancel_at_period_end: true }, on);
  const none = await expectError(
    () => stripe.invoices.createPreview({ subscription: canceled.id }, on),
    Stripe.errors.StripeInvalidRequestError,
    "nothing upcoming",
  );
  check(none.code === "invoice_upcoming_none", `code ${none.code}`);
}
