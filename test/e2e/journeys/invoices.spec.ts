import { expect, type Page, test } from "@playwright/test";
import { apiCall, PASSWORD, screenshot, sellingTenant, signIn, uniqueEmail, watchConsole } from "./support";

async function confirm(page: Page, title: string, button: string) {
  const dialog = page.getByRole("dialog", { name: title });
  await expect(dialog).toBeVisible();
  await dialog.getByRole("button", { name: button, exact: true }).click();
  await expect(dialog).toBeHidden();
}

/**
 * The subscription's first invoice reaches the mirror through the double's Connect events, a
 * moment after the subscription: reload the list until it shows, paid.
 */
async function openPaidInvoice(page: Page) {
  await page.getByRole("navigation", { name: "Dashboard" }).getByRole("link", { name: "Invoices" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Invoices" })).toBeVisible();
  const paid = page.locator("tbody tr").filter({ hasText: "paid" });
  await expect(async () => {
    await page.reload();
    await expect(paid).toHaveCount(1, { timeout: 2000 });
  }).toPass({ timeout: 45_000 });
  await expect(paid.locator("td[data-label=Total]")).toHaveText("$9.00");
  await paid.getByRole("link", { name: /^Invoice / }).click();
  await expect(page.getByRole("heading", { level: 1, name: /^Invoice / })).toBeVisible();
}

test("an owner refunds part of a paid invoice, then makes, finalizes and voids a one-off invoice", async ({
  page,
}) => {
  const console = watchConsole(page);
  const { owner, name, customerId } = await sellingTenant("Invoicing");
  await signIn(page, owner.email);

  await test.step("the paid invoice: totals, receipt links, the subscription", async () => {
    await openPaidInvoice(page);
    const receipt = page.getByRole("link", { name: /^Receipt \(hosted invoice page\)/ });
    await expect(receipt).toBeVisible();
    await expect(receipt).toHaveAttribute("target", "_blank");
    await expect(receipt).toHaveAttribute("href", /^http:\/\/127\.0\.0\.1:\d+\/invoice\//);
    await expect(page.getByRole("link", { name: /^Invoice PDF/ })).toHaveAttribute("href", /\/pdf$/);
    await expect(page.getByRole("link", { name: "The subscription" })).toBeVisible();
    await expect(page.locator(".facts .badge").first()).toHaveText("paid");
    await expect(page.getByRole("button", { name: "Void" })).toHaveCount(0);
  });

  await test.step("refund: more than was paid shows the API's message; part of it is refunded", async () => {
    await page.getByRole("button", { name: "Refund" }).click();
    const dialog = page.getByRole("dialog", { name: /^Refund invoice / });
    await dialog.getByLabel("Refund", { exact: true }).selectOption("partial");
    await dialog.getByLabel("Amount (USD)").fill("100");
    await dialog.getByLabel("Reason").selectOption("duplicate");
    await dialog.getByRole("button", { name: "Refund", exact: true }).click();
    await expect(dialog.getByRole("alert")).toContainText("$9.00");
    await dialog.getByLabel("Amount (USD)").fill("3.50");
    await dialog.getByRole("button", { name: "Refund", exact: true }).click();
    await expect(dialog).toBeHidden();
    const refunds = page.getByRole("table", { name: "Refunds of this invoice" });
    await expect(refunds.locator("td[data-label=Amount]")).toHaveText("$3.50");
    await expect(refunds.locator("td[data-label=Reason]")).toHaveText("Duplicate");
    await expect(page.getByText("partly refunded", { exact: true })).toBeVisible();
    await screenshot(page, "invoice-refunded");
  });

  await test.step("one-off invoice: from the customer's page, a draft finalized and then voided", async () => {
    await page.getByRole("link", { name: "The customer" }).click();
    await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
    const invoices = page.getByRole("region", { name: "Invoices" });
    await expect(invoices.getByRole("link", { name: /^Invoice / })).toHaveCount(1);
    await invoices.getByRole("link", { name: "New invoice" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "New invoice" })).toBeVisible();
    await expect(page.getByRole("link", { name })).toBeVisible();
    await page.getByLabel("Item 1: unit amount (USD)").fill("25");
    await page.getByLabel("Item 1: description").fill("Setup");
    await page.getByRole("button", { name: "Create draft invoice" }).click();
    await expect(page.getByRole("heading", { level: 1, name: /^Invoice inv_/ })).toBeVisible();
    await expect(page.locator(".facts .badge").first()).toHaveText("draft");
    await expect(page.getByRole("table", { name: "Invoice lines" })).toContainText("Setup");
    await expect(page.getByRole("button", { name: "Refund" })).toHaveCount(0);
    await page.getByRole("button", { name: "Finalize" }).click();
    await confirm(page, "Finalize the invoice", "Finalize invoice");
    await expect(page.locator(".facts .badge").first()).toHaveText("open");
    await expect(page.getByRole("link", { name: /^Hosted invoice page/ })).toBeVisible();
    await page.getByRole("button", { name: "Void" }).click();
    await confirm(page, "Void the invoice", "Void invoice");
    await expect(page.locator(".facts .badge").first()).toHaveText("void");
    await expect(page.getByRole("button", { name: "Void" })).toHaveCount(0);
    await expect(page.getByRole("button", { name: "Pay now" })).toHaveCount(0);
  });

  await test.step("the list filters by status", async () => {
    await page.getByRole("link", { name: "All invoices" }).click();
    await expect(page.locator("tbody tr")).toHaveCount(2);
    await page.getByLabel("Status").selectOption("void");
    await expect(page.locator("tbody tr")).toHaveCount(1);
    await page.getByLabel("Status").selectOption("draft");
    await expect(page.getByText("No invoice matches these filters.")).toBeVisible();
    await page.getByLabel("Status").selectOption("");
    await expect(page.locator("tbody tr")).toHaveCount(2);
  });

  await test.step("pay now: a draft made through the API is charged to the default card", async () => {
    const draft = await apiCall<{ id: string }>("/api/v1/auth/invoices/", {
      token: owner.access,
      body: { customer: customerId, currency: "usd", items: [{ unit_amount: 500, description: "Extra" }] },
    });
    expect(draft.status, JSON.stringify(draft.body)).toBe(201);
    await page.goto(`/dashboard/invoices/${draft.body.id}`);
    await expect(page.locator(".facts .badge").first()).toHaveText("draft");
    await page.getByRole("button", { name: "Pay now" }).click();
    await confirm(page, "Pay the invoice now", "Charge now");
    await expect(page.locator(".facts .badge").first()).toHaveText("paid");
    await expect(page.getByRole("link", { name: /^Receipt \(hosted invoice page\)/ })).toBeVisible();
    await expect(page.getByRole("button", { name: "Refund" })).toBeVisible();
  });

  await screenshot(page, "invoices");
  console.expectClean();
});

test("a developer reads invoices without refund, void or new-invoice controls, on a narrow screen too", async ({
  page,
}) => {
  const console = watchConsole(page);
  const { owner, customerId } = await sellingTenant("InvoicingRoles");
  // An open one-off invoice: the states where an owner would be offered pay, void and write-off.
  const draft = await apiCall<{ id: string }>("/api/v1/auth/invoices/", {
    token: owner.access,
    body: {
      customer: customerId,
      currency: "usd",
      items: [{ unit_amount: 1200, description: "Consulting" }],
    },
  });
  expect(draft.status, JSON.stringify(draft.body)).toBe(201);
  const finalized = await apiCall(`/api/v1/auth/invoices/${draft.body.id}/finalize/`, {
    token: owner.access,
    method: "POST",
  });
  expect(finalized.status, JSON.stringify(finalized.body)).toBe(200);
  const email = uniqueEmail("developer");
  const invited = await apiCall("/api/v1/auth/tenants/users/", {
    token: owner.access,
    body: { email, role: "developer", password: PASSWORD },
  });
  expect(invited.status).toBe(201);

  await signIn(page, email);
  await openPaidInvoice(page);
  await expect(page.getByRole("link", { name: /^Receipt \(hosted invoice page\)/ })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Refunds" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Refund" })).toHaveCount(0);

  await page.goto(`/dashboard/invoices/${draft.body.id}`);
  await expect(page.locator(".facts .badge").first()).toHaveText("open");
  for (const button of ["Void", "Pay now", "Mark uncollectible", "Refund", "Finalize"]) {
    await expect(page.getByRole("button", { name: button })).toHaveCount(0);
  }
  await page.getByRole("link", { name: "All invoices" }).click();
  await expect(page.getByRole("link", { name: "New invoice" })).toHaveCount(0);
  await page.goto("/dashboard/invoices/new");
  await expect(page.getByRole("heading", { name: "Not available to your role" })).toBeVisible();

  await page.goto(`/dashboard/customers/${customerId}`);
  await expect(page.getByText("1 open invoice, $12.00 due", { exact: true })).toBeVisible();
  const invoices = page.getByRole("region", { name: "Invoices" });
  await expect(invoices.getByRole("link", { name: /^Invoice / })).toHaveCount(2);
  await expect(invoices.getByRole("link", { name: "New invoice" })).toHaveCount(0);

  await page.setViewportSize({ width: 360, height: 740 });
  const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await page.goto("/dashboard/invoices");
  await expect(page.locator("tbody tr")).toHaveCount(2);
  expect(await overflow()).toBeLessThanOrEqual(0);
  await page.goto(`/dashboard/invoices/${draft.body.id}`);
  await expect(page.getByRole("table", { name: "Invoice lines" })).toContainText("Consulting");
  expect(await overflow()).toBeLessThanOrEqual(0);
  await screenshot(page, "invoices-narrow-developer");
  console.expectClean();
});
