// Self-check of one-off invoices and their state machine: invoice items, drafts, finalize, pay,
// send, void, mark_uncollectible, delete, wrong-state refusals, hosted page and PDF.
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

async function refused(call: () => unknown, message: string): Promise<void> {
  const e = await expectError(call, Stripe.errors.StripeInvalidRequestError, message);
  check(e.message === message && e.statusCode === 400 && e.code === undefined, `message: ${e.message}`);
}

export async function invoicesScenario(kit: Kit): Promise<void> {
  const { stripe } = kit;
  const account = await freshAccount(kit);
  const on = { stripeAccount: account };
  const customer = await customerWithCard(kit, account);
  const product = await stripe.products.create({ name: "Setup" }, on);
  const once = await stripe.prices.create({ product: product.id, unit_amount: 500, currency: "usd" }, on);

  step("invoice items and drafts");
  const fee = await stripe.invoiceItems.create(
    { customer: customer.id, amount: 3000, currency: "usd", description: "Onboarding" },
    on,
  );
  check(/^ii_/.test(fee.id) && fee.invoice === null && fee.amount === 3000, "pending item");
  await stripe.invoiceItems.create({ customer: customer.id, pricing: { price: once.id }, quantity: 2 }, on);
  const pending = await stripe.invoiceItems.list({ customer: customer.id, pending: true }, on);
  check(pending.data.length === 2, "two pending items");
  const draft = await stripe.invoices.create(
    {
      customer: customer.id,
      pending_invoice_items_behavior: "include",
      description: "Setup",
      application_fee_amount: 200,
      auto_advance: false,
    },
    on,
  );
  check(
    draft.status === "draft" &&
      draft.number === null &&
      draft.lines.data.length === 2 &&
      draft.total === 4000,
    `draft ${draft.total}`,
  );
  check(draft.billing_reason === "manual" && draft.hosted_invoice_url === null, "draft fields");
  await stripe.invoiceItems.create(
    { customer: customer.id, invoice: draft.id, amount: 1000, currency: "usd" },
    on,
  );
  const grown = await stripe.invoices.update(draft.id, { metadata: { order: "42" } }, on);
  check(
    grown.lines.data.length === 3 && grown.amount_due === 5000 && grown.metadata?.order === "42",
    "item added to the draft",
  );
  const perUnit = await stripe.invoiceItems.create(
    {
      customer: customer.id,
      currency: "usd",
      unit_amount_decimal: Stripe.Decimal.from("250"),
      quantity: 3,
      description: "Seats",
    },
    on,
  );
  check(
    perUnit.amount === 750 && perUnit.quantity === 3,
    `unit_amount_decimal × quantity: ${perUnit.amount}`,
  );
  await stripe.invoiceItems.del(perUnit.id, {}, on);
  const monthly = await stripe.prices.create(
    { product: product.id, unit_amount: 700, currency: "usd", recurring: { interval: "month" } },
    on,
  );
  const recurringItem = await expectError(
    () => stripe.invoiceItems.create({ customer: customer.id, pricing: { price: monthly.id } }, on),
    Stripe.errors.StripeInvalidRequestError,
    "The price specified is set to `type=recurring` but this field only accepts prices with `type=one_time`.",
  );
  check(recurringItem.statusCode === 400, "a recurring price on an invoice item: 400");
  const inline = await stripe.invoiceItems.create(
    {
      customer: customer.id,
      price_data: { product: product.id, currency: "usd", unit_amount: 700 },
      quantity: 2,
    },
    on,
  );
  check(
    inline.amount === 1400 && inline.pricing?.price_details?.product === product.id,
    `price_data × quantity: ${inline.amount}`,
  );
  await stripe.invoiceItems.del(inline.id, {}, on);
  const lines = await stripe.invoices.listLineItems(draft.id, { limit: 2 }, on);
  check(lines.data.length === 2 && lines.has_more, "lines pagination");
  const dueError = await expectError(
    () => stripe.invoices.update(draft.id, { days_until_due: 5 }, on),
    Stripe.errors.StripeInvalidRequestError,
    "due date on charge_automatically",
  );
  check(dueError.param === "days_until_due", `param ${dueError.param}`);

  step("finalize, pay and refusals");
  const open = await stripe.invoices.finalizeInvoice(draft.id, {}, on);
  check(
    open.status === "open" &&
      /-0001$/.test(open.number ?? "") &&
      open.attempted === false &&
      open.attempt_count === 0,
    "finalized",
  );
  check(
    open.effective_at !== null &&
      open.status_transitions.finalized_at !== null &&
      open.invoice_pdf?.endsWith("/pdf"),
    "finalized fields",
  );
  await refused(
    () => stripe.invoices.finalizeInvoice(draft.id, {}, on),
    "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
  );
  const frozen = await expectError(
    () => stripe.invoices.update(draft.id, { description: "no" }, on),
    Stripe.errors.StripeInvalidRequestError,
    "update open",
  );
  check(
    frozen.message === "Finalized invoices can't be updated in this way" && frozen.param === "description",
    frozen.message,
  );
  const paid = await stripe.invoices.pay(draft.id, {}, on);
  check(
    paid.status === "paid" &&
      paid.amount_paid === 5000 &&
      paid.attempt_count === 1 &&
      paid.amount_remaining === 0,
    "paid",
  );
  await refused(() => stripe.invoices.pay(draft.id, {}, on), "Invoice is already paid");
  await refused(
    () => stripe.invoices.voidInvoice(draft.id, {}, on),
    "Invoices with `paid` payments cannot be voided.",
  );
  await refused(
    () => stripe.invoices.markUncollectible(draft.id, {}, on),
    "You can only pass in open invoices. This invoice isn't open.",
  );
  await refused(() => stripe.invoices.del(draft.id, {}, on), "You can only delete draft invoices.");
  const paidFull = await stripe.invoices.retrieve(
    draft.id,
    { expand: ["payments.data.payment.payment_intent"] },
    on,
  );
  const pi = paidFull.payments?.data[0]?.payment.payment_intent as Stripe.PaymentIntent;
  const charge = await stripe.charges.retrieve(pi.latest_charge as string, {}, on);
  check(
    charge.application_fee_amount === 200 && typeof charge.application_fee === "string",
    "invoice application fee",
  );

  step("void, uncollectible, delete");
  const second = await stripe.invoices.create({ customer: customer.id }, on);
  await stripe.invoiceItems.create(
    { customer: customer.id, invoice: second.id, amount: 700, currency: "usd" },
    on,
  );
  await refused(
    () => stripe.invoices.voidInvoice(second.id, {}, on),
    "You can only pass in open invoices. This invoice isn't open.",
  );
  await stripe.invoices.finalizeInvoice(second.id, {}, on);
  const bad = await stripe.invoices.markUncollectible(second.id, {}, on);
  check(
    bad.status === "uncollectible" && bad.status_transitions.marked_uncollectible_at !== null,
    "uncollectible",
  );
  await refused(
    () => stripe.invoices.markUncollectible(second.id, {}, on),
    "This invoice has already been marked uncollectible.",
  );
  const third = await stripe.invoices.create({ customer: customer.id }, on);
  await stripe.invoiceItems.create(
    { customer: customer.id, invoice: third.id, amount: 800, currency: "usd" },
    on,
  );
  await stripe.invoices.finalizeInvoice(third.id, {}, on);
  await stripe.invoices.markUncollectible(third.id, {}, on);
  const recovered = await stripe.invoices.pay(third.id, {}, on);
  check(
    recovered.status === "paid" && recovered.amount_paid === 800,
    `uncollectible can be paid: ${recovered.status}`,
  );
  const voided = await stripe.invoices.voidInvoice(second.id, {}, on);
  check(
    voided.status === "void" && voided.amount_due === 700 && voided.status_transitions.voided_at !== null,
    "void",
  );
  const scrap = await stripe.invoices.create({ customer: customer.id }, on);
  const deleted = await stripe.invoices.del(scrap.id, {}, on);
  check(deleted.deleted === true && deleted.id === scrap.id, "deleted draft");
  await expectError(
    () => stripe.invoices.retrieve(scrap.id, {}, on),
    Stripe.errors.StripeInvalidRequestError,
    "deleted is gone",
  );
  const zero = await stripe.invoices.finalizeInvoice(
    (await stripe.invoices.create({ customer: customer.id }, on)).id,
    {},
    on,
  );
  check(
    zero.status === "paid" && zero.attempted && zero.attempt_count === 0,
    "a $0 invoice settles at finalization",
  );
  for (const type of [
    "invoice.voided",
    "invoice.marked_uncollectible",
    "invoice.deleted",
    "invoice.finalized",
    "invoiceitem.created",
    "invoice.updated",
  ]) {
    check((await eventsOf(kit, { type, account })).length > 0, `event ${type}`);
  }

  step("send_invoice, hosted page, out of band, decline");
  const mailed = await stripe.invoices.create(
    { customer: customer.id, collection_method: "send_invoice", days_until_due: 7 },
    on,
  );
  check(mailed.due_date === mailed.created + 7 * 86400, "due_date");
  await stripe.invoiceItems.create(
    { customer: customer.id, invoice: mailed.id, amount: 1200, currency: "usd" },
    on,
  );
  const sent = await stripe.invoices.sendInvoice(mailed.id, {}, on);
  check(
    sent.status === "open" && (await eventsOf(kit, { type: "invoice.sent", account })).length === 1,
    "sent",
  );
  const hosted = await fetch(`${sent.hosted_invoice_url}?pay=1&card=pm_card_mastercard`);
  check(
    hosted.status === 200 && (await stripe.invoices.retrieve(mailed.id, {}, on)).status === "paid",
    "paid on the hosted page",
  );
  const pdf = await fetch(sent.invoice_pdf ?? "");
  check(
    pdf.headers.get("content-type") === "application/pdf" && (await pdf.text()).startsWith("%PDF"),
    "pdf",
  );
  const oob = await stripe.invoices.create({ customer: customer.id }, on);
  await stripe.invoiceItems.create(
    { customer: customer.id, invoice: oob.id, amount: 4400, currency: "usd" },
    on,
  );
  await stripe.invoices.finalizeInvoice(oob.id, {}, on);
  const cash = await stripe.invoices.pay(oob.id, { paid_out_of_band: true }, on);
  check(
    cash.status === "paid" &&
      cash.attempted === false &&
      cash.attempt_count === 0 &&
      cash.amount_paid === 4400,
    "out of band",
  );
  const failing = await customerWithCard(kit, account, "pm_card_chargeCustomerFail");
  const dunning = await stripe.invoices.create({ customer: failing.id }, on);
  await stripe.invoiceItems.create(
    { customer: failing.id, invoice: dunning.id, amount: 2500, currency: "usd" },
    on,
  );
  const decline = await expectError(
    () => stripe.invoices.pay(dunning.id, {}, on),
    Stripe.errors.StripeCardError,
    "declined pay",
  );
  check(decline.code === "card_declined", `code ${decline.code}`);
  const after = await stripe.invoices.retrieve(dunning.id, {}, on);
  check(
    after.status === "open" && after.attempt_count === 1 && after.attempted && after.number !== null,
    "declined pay keeps the finalization",
  );
}
