// Self-check of customers: fields, search (query language subset, pagination), default payment
// method and deletion.
import Stripe from "stripe";
import { check, eventsOf, expectError, freshAccount, type Kit, step } from "./selfcheck-kit.ts";

export async function customersScenario(kit: Kit): Promise<void> {
  const { stripe } = kit;
  const account = await freshAccount(kit);
  const on = { stripeAccount: account };
  step("customer fields");
  const ada = await stripe.customers.create(
    {
      email: "ada@example.test",
      name: "Ada Lovelace",
      phone: "+15555550100",
      description: "first",
      address: { line1: "1 Engine St", city: "London", country: "GB" },
      metadata: { tenant_id: "t_1" },
      payment_method: "pm_card_visa",
      invoice_settings: { default_payment_method: "pm_card_visa" },
    },
    on,
  );
  check(ada.phone === "+15555550100" && ada.description === "first", "phone/description");
  check(ada.address?.city === "London" && ada.address.line1 === "1 Engine St", "address");
  check(
    typeof ada.invoice_settings.default_payment_method === "string" &&
      ada.invoice_settings.default_payment_method.startsWith("pm_"),
    "default payment method from a test token",
  );
  await stripe.customers.create(
    { email: "bob@example.test", name: "Bob", metadata: { tenant_id: "t_2" } },
    on,
  );
  await stripe.customers.create(
    { email: "cy@example.test", name: "Cy Lovelace", metadata: { tenant_id: "t_1" } },
    on,
  );

  step("customer search");
  const byEmail = await stripe.customers.search({ query: "email:'ada@example.test'" }, on);
  check(
    byEmail.object === "search_result" && byEmail.data.length === 1 && byEmail.data[0]?.id === ada.id,
    "email search",
  );
  check(
    byEmail.url === "/v1/customers/search" && byEmail.has_more === false && byEmail.next_page === null,
    "shape",
  );
  const byName = await stripe.customers.search({ query: "name~'lovelace'" }, on);
  check(byName.data.length === 2, `name~ found ${byName.data.length}`);
  const both = await stripe.customers.search({ query: "metadata['tenant_id']:'t_1' AND name~'Cy L'" }, on);
  check(both.data.length === 1 && both.data[0]?.email === "cy@example.test", "AND with metadata");
  const either = await stripe.customers.search(
    { query: 'email:"bob@example.test" OR email:"cy@example.test"' },
    on,
  );
  check(either.data.length === 2, "OR");
  const page = await stripe.customers.search({ query: "-email:null", limit: 2 }, on);
  check(page.data.length === 2 && page.has_more && typeof page.next_page === "string", "first page");
  const all = await stripe.customers
    .search({ query: "-email:null", limit: 2 }, on)
    .autoPagingToArray({ limit: 10 });
  check(all.length === 3, `auto-pagination over search: ${all.length}`);
  const badField = await expectError(
    () => stripe.customers.search({ query: "colour:'red'" }, on),
    Stripe.errors.StripeInvalidRequestError,
    "unsupported field",
  );
  check(badField.param === "query", "param query");
  await expectError(
    () => stripe.customers.search({ query: "email:'a' AND name:'b' OR name:'c'" }, on),
    Stripe.errors.StripeInvalidRequestError,
    "AND with OR",
  );
  const elsewhere = await stripe.customers.search({ query: "email:'ada@example.test'" });
  check(elsewhere.data.length === 0, "search is scoped to the account");

  step("customer delete");
  const deleted = await stripe.customers.del(ada.id, {}, on);
  check(deleted.deleted === true && deleted.id === ada.id && deleted.object === "customer", "deleted stub");
  const again = await stripe.customers.retrieve(ada.id, {}, on);
  check(again.deleted === true, "retrieve a deleted customer");
  const gone = await eventsOf(kit, { type: "customer.deleted", account });
  check(
    gone.length === 1 && gone[0]?.data.object.id === ada.id && gone[0].account === account,
    "customer.deleted",
  );
  const after = await stripe.customers.search({ query: "email:'ada@example.test'" }, on);
  check(after.data.length === 0, "deleted customers are not found");
}
