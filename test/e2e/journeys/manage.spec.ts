import { expect, type Page, test } from "@playwright/test";
import {
  apiCall,
  PASSWORD,
  RECEIVER_URL,
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
  await dialog.getByRole("button", { name: button }).click();
  await expect(dialog).toBeHidden();
}

test("an owner edits, duplicates and deactivates plans, rotates and removes the webhook, and runs the team", async ({
  page,
  browser,
}) => {
  const console = watchConsole(page);
  const owner = await registerTenant("Manage");
  // Connect Stripe through the API this time (the tenant journey does it in the page).
  const started = await apiCall<{ url: string }>("/api/v1/auth/tenants/stripe/connect/", {
    token: owner.access,
    body: {},
  });
  expect((await fetch(started.body.url)).status).toBe(200);
  const plan = await apiCall<{ id: string }>("/api/v1/auth/plans/", {
    token: owner.access,
    body: { name: "Basic", price_cents: 900, billing_interval: "month" },
  });
  expect(plan.status).toBe(201);
  await signIn(page, owner.email);

  await test.step("plans: search, edit, duplicate, deactivate", async () => {
    await page.getByRole("link", { name: "Plans", exact: true }).click();
    await page.getByLabel("Search by name").fill("nothing-like-this");
    await expect(page.getByText("No plan matches these filters.")).toBeVisible();
    await page.getByLabel("Search by name").fill("bas");
    await page.getByRole("link", { name: "Edit Basic" }).click();
    await page.getByLabel("Description").fill("Now with SSO");
    await expect(page.getByLabel("Price")).toHaveAttribute("readonly", "");
    await page.getByRole("button", { name: "Save changes" }).click();
    await expect(page.getByRole("status").filter({ hasText: "Changes saved" })).toBeVisible();
    await page.getByRole("button", { name: "Duplicate" }).click();
    const dialog = page.getByRole("dialog", { name: "Duplicate Basic" });
    await dialog.getByLabel("Name").fill("Basic Annual");
    await dialog.getByLabel("Price").fill("90");
    await dialog.getByLabel("Billing interval").selectOption("year");
    await dialog.getByRole("button", { name: "Create copy" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Basic Annual" })).toBeVisible();
    await expect(page.getByText("$90.00/year")).toBeVisible();
    await page.getByRole("button", { name: "Deactivate" }).click();
    await confirm(page, "Deactivate Basic Annual", "Deactivate");
    await expect(page.getByText("This plan is inactive")).toBeVisible();
  });

  await test.step("webhooks: configure, rotate the secret, remove", async () => {
    await page.getByRole("link", { name: "Webhooks", exact: true }).click();
    await page.getByLabel("Endpoint URL").fill(`${RECEIVER_URL}/hooks/${unique("manage")}`);
    await page.getByLabel("All events").uncheck();
    await page.getByLabel("plan.created").check();
    await page.getByRole("button", { name: "Save endpoint" }).click();
    const first = await page.locator("[data-secret]").textContent();
    await page.getByRole("button", { name: "I saved the secret" }).click();
    await page.getByRole("button", { name: "Rotate secret" }).click();
    await confirm(page, "Rotate the signing secret", "Rotate secret");
    await expect(page.locator("[data-secret]")).not.toHaveText(first ?? "");
    await expect(page.getByText("Previous secret signs until")).toBeVisible();
    await page.getByRole("button", { name: "Remove endpoint" }).click();
    await confirm(page, "Remove the endpoint", "Remove endpoint");
    await expect(page.getByText("No endpoint is configured")).toBeVisible();
  });

  await test.step("team: invite with a one-time link, which the invitee redeems", async () => {
    await page.getByRole("link", { name: "Team" }).click();
    const email = uniqueEmail("admin");
    await page.getByRole("button", { name: "Invite a user" }).click();
    const dialog = page.getByRole("dialog", { name: "Invite a user" });
    await dialog.getByLabel("Email").fill(email);
    await dialog.getByLabel("Role").selectOption("admin");
    await dialog.getByRole("button", { name: "Invite" }).click();
    const link = (await page.locator("[data-secret]").textContent()) ?? "";
    expect(link).toMatch(/\/dashboard\/setup#token=ust_/);
    await expect(page.locator("td[data-label=Email]", { hasText: email })).toBeVisible();

    const invitee = await browser.newPage();
    await invitee.goto(link);
    await invitee.getByLabel("New password").fill(PASSWORD);
    await invitee.getByRole("button", { name: "Set password and sign in" }).click();
    await expect(invitee.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible();
    await expect(invitee.getByText("admin", { exact: true })).toBeVisible();
    await invitee.close();
  });

  await test.step("audit log: the changes are recorded", async () => {
    await page.getByRole("link", { name: "Audit log" }).click();
    await expect(page.getByRole("cell", { name: "plan.deactivated" }).first()).toBeVisible();
    await expect(page.locator("td[data-label=Actor]", { hasText: owner.email }).first()).toBeVisible();
    await page.getByLabel("Action starts with").fill("user");
    await expect(page.getByRole("cell", { name: "plan.deactivated" })).toHaveCount(0);
    await expect(page.getByRole("cell", { name: "user.invited" }).first()).toBeVisible();
  });

  await screenshot(page, "owner-manages");
  console.expectClean();
});
