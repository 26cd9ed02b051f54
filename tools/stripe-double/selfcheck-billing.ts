// Self-check scenarios of billing on a connected account: catalog, idempotency, customers and
// cards, subscriptions, injected failures and list pagination.
import Stripe from "stripe";
import { check, expectError, type Kit, step } from "./selfcheck-kit.ts";

/** Returns the id of the first product (gone after a reset). */
export async function billingScenario(kit: Kit, account: Stripe.Account): Promise<string> {
  const { stripe, noRetry, config } = kit;
  step("products and prices");
  const onAccount = { stripeAccount: account.id };
  const product = await stripe.products.create(
    { name: "Pro", description: "Pro plan", metadata: { tenant_id: "t_1", plan_id: "plan_1" } },
    { ...onAccount, idempotencyKey: "plan:plan_1:product" },
  );
  check(/^prod_/.test(product.id) && product.active && product.name === "Pro", "product");
  const price = await stripe.prices.create(
    {
      product: product.id,
      unit_amount: 1500,
      currency: "usd",
      recurring: { interval: "month" },
      metadata: { plan_id: "plan_1" },
    },
    onAccount,
  );
  check(
    price.type === "recurring" &&
      price.recurring?.interval === "month" &&
      price.recurring.interval_count === 1,
    "recurring",
  );
  check(price.unit_amount === 1500 && price.product === product.id, "price fields");
  const notHere = await expectError(
    () => stripe.products.retrieve(product.id),
    Stripe.errors.StripeInvalidRequestError,
    "scoped product",
  );
  check(notHere.statusCode === 404 && notHere.code === "resource_missing", "404 resource_missing");
  check(notHere.message === `No such product: '${product.id}'`, notHere.message);
  await expectError(
    () => stripe.prices.create({ product: "prod_nope", unit_amount: 1, currency: "usd" }, onAccount),
    Stripe.errors.StripeInvalidRequestError,
    "price of unknown product",
  );
  await expectError(
    () => stripe.products.create({} as Stripe.ProductCreateParams, onAccount),
    Stripe.errors.StripeInvalidRequestError,
    "missing name",
  ).then((e) => check(e.message === "Missing required param: name." && e.param === "name", e.message));

  step("product update");
  const renamed = await stripe.products.update(
    product.id,
    { name: "Pro 2", description: "", metadata: { plan_id: "", tier: "2" } },
    onAccount,
  );
  check(renamed.name === "Pro 2" && renamed.description === null, "name/description");
  check(
    renamed.metadata.tenant_id === "t_1" && !("plan_id" in renamed.metadata) && renamed.metadata.tier === "2",
    "metadata semantics",
  );
  const archived = await stripe.products.update(product.id, { active: false }, onAccount);
  check(archived.active === false, "archived");
  const active = await stripe.products.list({ active: true }, onAccount);
  check(
    active.object === "list" && active.data.length === 0 && active.url === "/v1/products",
    "active filter",
  );

  step("idempotency");
  const replay = await stripe.products.create(
    { name: "Pro", description: "Pro plan", metadata: { tenant_id: "t_1", plan_id: "plan_1" } },
    { ...onAccount, idempotencyKey: "plan:plan_1:product" },
  );
  check(replay.id === product.id && replay.name === "Pro", "replayed the stored response");
  const logged = (await kit.control("GET", "/requests?path=/v1/products")) as Array<{
    idempotent_replayed: boolean;
  }>;
  check(
    logged.some((r) => r.idempotent_replayed),
    "request log marks the replay",
  );
  const conflict = await expectError(
    () => stripe.products.create({ name: "Other" }, { ...onAccount, idempotencyKey: "plan:plan_1:product" }),
    Stripe.errors.StripeIdempotencyError,
    "same key, other body",
  );
  check(conflict.type === "StripeIdempotencyError" && conflict.statusCode === 400, "idempotency_error 400");

  step("customers and cards");
  const customer = await stripe.customers.create(
    { email: "buyer@example.test", name: "Buyer", metadata: { user: "u1" } },
    onAccount,
  );
  check(/^cus_/.test(customer.id) && customer.email === "buyer@example.test", "customer");
  const pm = await stripe.paymentMethods.attach("pm_card_visa", { customer: customer.id }, onAccount);
  check(
    /^pm_/.test(pm.id) &&
      pm.id !== "pm_card_visa" &&
      pm.card?.last4 === "4242" &&
      pm.customer === customer.id,
    "attached card",
  );
  const withDefault = await stripe.customers.update(
    customer.id,
    { invoice_settings: { default_payment_method: pm.id } },
    onAccount,
  );
  check(withDefault.invoice_settings.default_payment_method === pm.id, "default payment method");
  const declined = await expectError(
    () => stripe.paymentMethods.attach("pm_card_chargeDeclined", { customer: customer.id }, onAccount),
    Stripe.errors.StripeCardError,
    "declined card",
  );
  check(
    declined.statusCode === 402 &&
      declined.code === "card_declined" &&
      declined.decline_code === "generic_decline",
    "402 card_declined",
  );

  step("subscriptions");
  const feeOnPlatform = await expectError(
    () =>
      stripe.subscriptions.create({
        customer: customer.id,
        items: [{ price: price.id }],
        application_fee_percent: 10,
      }),
    Stripe.errors.StripeInvalidRequestError,
    "application_fee_percent without Stripe-Account",
  );
  check(feeOnPlatform.param === "application_fee_percent", `param ${feeOnPlatform.param}`);
  const sub = await stripe.subscriptions.create(
    {
      customer: customer.id,
      items: [{ price: price.id, quantity: 2 }],
      application_fee_percent: 10,
      metadata: { tenant_id: "t_1" },
      expand: ["latest_invoice"],
    },
    onAccount,
  );
  const invoice = sub.latest_invoice as Stripe.Invoice;
  check(
    /^sub_/.test(sub.id) && sub.status === "active" && sub.application_fee_percent === 10,
    "active subscription",
  );
  check(
    sub.items.data[0]?.price.id === price.id &&
      sub.items.data[0].quantity === 2 &&
      /^si_/.test(sub.items.data[0].id),
    "items",
  );
  check(
    invoice.status === "paid" && invoice.amount_paid === 3000 && invoice.attempt_count === 1,
    "paid first invoice",
  );
  const fetched = await stripe.invoices.retrieve(invoice.id, {}, onAccount);
  check(fetched.id === invoice.id && fetched.customer === customer.id, "invoice retrieve");
  const price2 = await stripe.prices.create(
    { product: product.id, unit_amount: 2500, currency: "usd", recurring: { interval: "month" } },
    onAccount,
  );
  const changed = await stripe.subscriptions.update(
    sub.id,
    {
      items: [{ id: sub.items.data[0]?.id, price: price2.id }],
      proration_behavior: "none",
      cancel_at_period_end: true,
      metadata: { plan: "2" },
    },
    onAccount,
  );
  check(changed.items.data.length === 1 && changed.items.data[0]?.price.id === price2.id, "plan change");
  check(
    changed.cancel_at_period_end === true &&
      changed.metadata.plan === "2" &&
      changed.metadata.tenant_id === "t_1",
    "update fields",
  );
  const canceled = await stripe.subscriptions.cancel(sub.id, {}, onAccount);
  check(
    canceled.status === "canceled" && canceled.canceled_at !== null && canceled.ended_at !== null,
    "canceled",
  );
  await expectError(
    () => stripe.subscriptions.cancel(sub.id, {}, onAccount),
    Stripe.errors.StripeInvalidRequestError,
    "cancel twice",
  );
  const trial = await stripe.subscriptions.create(
    { customer: customer.id, items: [{ price: price.id }], trial_period_days: 14 },
    onAccount,
  );
  check(trial.status === "trialing" && trial.trial_end === (trial.trial_start ?? 0) + 14 * 86400, "trialing");
  check(trial.latest_invoice === null, "no invoice while trialing");
  const renewed = await kit.control<Stripe.Subscription>("POST", `/subscriptions/${trial.id}/advance`);
  check(
    renewed.status === "active" && renewed.items.data[0]?.current_period_start === trial.trial_end,
    "trial ended by advance",
  );
  const unpaid = await kit.control<Stripe.Subscription>("POST", `/subscriptions/${trial.id}/advance`, {
    fail: true,
  });
  check(unpaid.status === "past_due", `renewal with a decline: ${unpaid.status}`);
  const incomplete = await stripe.subscriptions.create(
    {
      customer: customer.id,
      items: [{ price: price.id }],
      default_payment_method: "pm_card_chargeCustomerFail",
    },
    onAccount,
  );
  check(incomplete.status === "incomplete", `declining card: ${incomplete.status}`);
  await expectError(
    () =>
      stripe.subscriptions.create(
        {
          customer: customer.id,
          items: [{ price: price.id }],
          default_payment_method: "pm_card_chargeCustomerFail",
          payment_behavior: "error_if_incomplete",
        },
        onAccount,
      ),
    Stripe.errors.StripeCardError,
    "error_if_incomplete",
  );

  step("injected failures");
  await kit.control("POST", "/fail", { method: "POST", path: "/v1/products", status: 500 });
  const apiError = await expectError(
    () => noRetry.products.create({ name: "X" }, onAccount),
    Stripe.errors.StripeAPIError,
    "500",
  );
  check(apiError.statusCode === 500 && apiError.message === "An unknown error occurred", apiError.message);
  await kit.control("POST", "/fail", { path: "/v1/customers", status: 429 });
  const limited = await expectError(
    () => noRetry.customers.create({}, onAccount),
    Stripe.errors.StripeRateLimitError,
    "429",
  );
  check(limited.headers?.["retry-after"] === "1", "Retry-After: 1");
  await kit.control("POST", "/fail", { path: "/v1/products", status: 503, times: 1, account: account.id });
  const retried = await stripe.products.create({ name: "Retried" }, onAccount);
  const attempts = (
    (await kit.control("GET", `/requests?path=/v1/products&account=${account.id}`)) as Array<{
      params: { name?: string };
      status: number;
      headers: { idempotency_key: string };
    }>
  ).filter((r) => r.params.name === "Retried");
  check(
    retried.name === "Retried" && attempts.length === 2 && attempts[0]?.status === 503,
    "the SDK retried once",
  );
  check(
    attempts[0]?.headers.idempotency_key === attempts[1]?.headers.idempotency_key,
    "retry reused the key",
  );
  await expectError(
    () => new Stripe("not_a_key", config).products.list(),
    Stripe.errors.StripeAuthenticationError,
    "bad key",
  );
  const perm = await expectError(
    () => stripe.products.list({}, { stripeAccount: "acct_unknown" }),
    Stripe.errors.StripePermissionError,
    "unknown account",
  );
  check(perm.code === "account_invalid", `code ${perm.code}`);

  step("lists");
  const page = await stripe.products.list({ limit: 1 }, onAccount);
  check(page.data.length === 1 && page.has_more === true, "first page");
  const names: string[] = [];
  for await (const p of stripe.products.list({ limit: 1 }, onAccount)) names.push(p.name);
  check(
    names.length === 2 && names.includes("Retried") && names.includes("Pro 2"),
    `auto-pagination: ${names.join(",")}`,
  );

  return product.id;
}
