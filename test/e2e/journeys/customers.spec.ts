import { expect, type Page, test } from "@playwright/test";
import {
  apiCall,
  connectStripe,
  PASSWORD,
  registerTenant,
  screenshot,
  signIn,
  unique,
  uniqueEmail,
  watchConsole,
} from "./support";

async function confirm(page: Page, title: string, button: string) {
  const dialog = page.getByRole("dialog", { name: title });
  await expect(dialog).toBeVisible();
  await dialog.getByRole("button", { name: button, exact: true }).click();
  await expect(dialog).toBeHidden();
}

/** A connected tenant with two plans and a paying customer (set up through the API). */
async function sellingTenant(label: string) {
  const owner = await registerTenant(label);
  await connectStripe(owner.access);
  const plan = async (name: string, price_cents: number) => {
    const res = await apiCall<{ id: string }>("/api/v1/auth/plans/", {
      token: owner.access,
      body: { name, price_cents, billing_interval: "month" },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id;
  };
  const basic = await plan("Basic", 900);
  await plan("Plus", 1900);
  const name = `Grace ${unique("hopper")}`;
  const customer = await apiCall<{ id: string }>("/api/v1/auth/customers/", {
    token: owner.access,
    body: { name, email: uniqueEmail("grace") },
  });
  expect(customer.status, JSON.stringify(customer.body)).toBe(201);
  const card = await apiCall(`/api/v1/auth/customers/${customer.body.id}/payment-methods/`, {
    token: owner.access,
    body: { payment_method: "pm_card_visa" },
  });
  expect(card.status, JSON.stringify(card.body)).toBe(201);
  const subscription = await apiCall<{ id: string; status: string }>("/api/v1/auth/subscriptions/", {
    token: owner.access,
    body: { customer: customer.body.id, plan: basic, payment_behavior: "error_if_incomplete" },
  });
  expect(subscription.body.status, JSON.stringify(subscription.body)).toBe("active");
  return { owner, name, customerId: customer.body.id };
}

test("an owner searches and edits a customer, changes, pauses and cancels its subscription, then deletes it", async ({
  page,
}) => {
  const console = watchConsole(page);
  const { owner, name } = await sellingTenant("Sales");
  await signIn(page, owner.email);

  await test.step("customers: search, then an edit the API refuses shows its message", async () => {
    await page.getByRole("link", { name: "Customers", exact: true }).click();
    await page.getByLabel("Search name or email").fill("nobody-like-this");
    await expect(page.getByText("No customer matches these filters.")).toBeVisible();
    await page.getByLabel("Search name or email").fill(name.split(" ")[1]?.slice(0, 8) ?? "");
    await page.getByRole("link", { name }).click();
    await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
    await page.getByRole("link", { name: "Edit" }).click();
    await expect(page.getByRole("heading", { level: 1, name: `Edit ${name}` })).toBeVisible();
    await page.getByLabel("Phone").fill("+44 20 7946 0000");
    await page.getByLabel("Country").fill("U1");
    await page.getByRole("button", { name: "Save changes" }).click();
    await expect(page.locator(".field-error")).toContainText("two-letter ISO country code");
    await page.getByLabel("Country").fill("GB");
    await page.getByRole("button", { name: "Save changes" }).click();
    await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
    await expect(page.getByText("+44 20 7946 0000")).toBeVisible();
    await screenshot(page, "customer-detail");
  });

  await test.step("subscription: change the quantity after a preview of its cost", async () => {
    await page.getByRole("link", { name: /^Subscription subs_.* to Basic$/ }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Basic subscription" })).toBeVisible();
    await page.getByRole("button", { name: "Change plan or quantity" }).click();
    const dialog = page.getByRole("dialog", { name: "Change plan or quantity" });
    await dialog.getByLabel("Quantity").fill("2");
    await expect(dialog.getByTestId("change-preview")).toContainText("Next invoice");
    await dialog.getByRole("button", { name: "Apply change" }).click();
    await expect(dialog).toBeHidden();
    await expect(page.getByText("$18.00/month")).toBeVisible();
  });

  await test.step("subscription: pause and resume collection, schedule and take back a cancellation", async () => {
    await page.getByRole("button", { name: "Pause collection" }).click();
    await confirm(page, "Pause payment collection", "Pause collection");
    await expect(page.getByText("collection paused", { exact: true })).toBeVisible();
    await page.getByRole("button", { name: "Resume collection" }).click();
    await confirm(page, "Resume payment collection", "Resume collection");
    await expect(page.getByText("collection paused", { exact: true })).toHaveCount(0);
    await page.getByRole("button", { name: "Cancel subscription" }).click();
    await confirm(page, "Cancel the subscription", "Cancel at period end");
    await expect(page.getByText("cancels at period end", { exact: true })).toBeVisible();
    await page.getByRole("button", { name: "Keep subscription" }).click();
    await confirm(page, "Keep the subscription", "Keep subscription");
    await expect(page.getByText("cancels at period end", { exact: true })).toHaveCount(0);
  });

  await test.step("subscription: cancel now; then it offers no more changes", async () => {
    await page.getByRole("button", { name: "Cancel subscription" }).click();
    const dialog = page.getByRole("dialog", { name: "Cancel the subscription" });
    await dialog.getByLabel("When").selectOption("now");
    await dialog.getByRole("button", { name: "Cancel now" }).click();
    await expect(dialog).toBeHidden();
    await expect(page.locator(".facts .badge").first()).toHaveText("canceled");
    await expect(page.getByRole("button", { name: "Cancel subscription" })).toHaveCount(0);
    await page.getByRole("link", { name: "All subscriptions" }).click();
    await page.getByLabel("Status").selectOption("active");
    await expect(page.getByText("No subscription matches these filters.")).toBeVisible();
    await page.getByLabel("Status").selectOption("canceled");
    await expect(page.locator("tbody tr")).toHaveCount(1);
  });

  await test.step("customer: delete with confirmation; the list hides it unless asked", async () => {
    await page.getByRole("link", { name: "Customers", exact: true }).click();
    await page.getByRole("link", { name }).click();
    await page.getByRole("button", { name: "Delete" }).click();
    await confirm(page, `Delete ${name}`, "Delete customer");
    await expect(page.locator(".facts .badge").first()).toHaveText("deleted");
    await expect(page.getByRole("button", { name: "Delete" })).toHaveCount(0);
    await page.getByRole("link", { name: "All customers" }).click();
    await expect(page.getByRole("link", { name })).toHaveCount(0);
    await page.getByLabel("Include deleted customers").check();
    await expect(page.getByRole("link", { name })).toBeVisible();
  });

  await screenshot(page, "customers-and-subscriptions");
  console.expectClean();
});

test("roles: a developer reads customers and subscriptions without changing them; a billing user changes them", async ({
  page,
}) => {
  const console = watchConsole(page);
  const { owner, name } = await sellingTenant("SalesRoles");
  const invite = async (role: string) => {
    const email = uniqueEmail(role);
    const res = await apiCall("/api/v1/auth/tenants/users/", {
      token: owner.access,
      body: { email, role, password: PASSWORD },
    });
    expect(res.status).toBe(201);
    return email;
  };

  await signIn(page, await invite("developer"));
  const nav = page.getByRole("navigation", { name: "Dashboard" });
  await nav.getByRole("link", { name: "Customers" }).click();
  await expect(page.getByRole("link", { name: "New customer" })).toHaveCount(0);
  await page.getByRole("link", { name }).click();
  await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
  await expect(page.getByRole("button", { name: "Delete" })).toHaveCount(0);
  await expect(page.getByRole("link", { name: "New subscription" })).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Add a payment method" })).toHaveCount(0);
  await page.getByRole("link", { name: /^Subscription subs_/ }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Basic subscription" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Cancel subscription" })).toHaveCount(0);
  await page.goto("/dashboard/customers/new");
  await expect(page.getByRole("heading", { name: "Not available to your role" })).toBeVisible();
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();

  await signIn(page, await invite("billing"));
  await nav.getByRole("link", { name: "Subscriptions" }).click();
  await expect(page.getByRole("link", { name: "New subscription" })).toBeVisible();
  await nav.getByRole("link", { name: "Customers" }).click();
  await page.getByRole("link", { name: "New customer" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "New customer" })).toBeVisible();
  await page.getByLabel("Name", { exact: true }).fill("Billing Made");
  await page.getByRole("button", { name: "Create customer" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Billing Made" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Delete" })).toBeVisible();
  console.expectClean();
});

test.describe("at 360 px", () => {
  test.use({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });

  test("the analytics chart and a customer's page fit without sideways scrolling", async ({ page }) => {
    const console = watchConsole(page);
    const { owner, customerId } = await sellingTenant("SalesNarrow");
    await signIn(page, owner.email);
    await page.goto("/dashboard/analytics");
    await expect(async () => {
      await page.reload();
      await expect(page.getByTestId("mrr-chart").locator("canvas").first()).toBeVisible({ timeout: 2000 });
    }).toPass({ timeout: 45_000 });
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(await overflow()).toBeLessThanOrEqual(0);
    await screenshot(page, "narrow-analytics");
    await page.goto(`/dashboard/customers/${customerId}`);
    await expect(page.getByRole("heading", { name: "Subscriptions" })).toBeVisible();
    await expect(page.locator("td[data-label=Method]")).toContainText("Visa ending 4242");
    expect(await overflow()).toBeLessThanOrEqual(0);
    console.expectClean();
  });
});
