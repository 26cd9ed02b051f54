import { expect, test } from "@playwright/test";
import { apiCall, PASSWORD, registerTenant, screenshot, signIn, uniqueEmail, watchConsole } from "./support";

async function invite(token: string, role: string) {
  const email = uniqueEmail(role);
  const res = await apiCall("/api/v1/auth/tenants/users/", {
    token,
    body: { email, role, password: PASSWORD },
  });
  expect(res.status).toBe(201);
  return email;
}

test("a developer sees the keys masked but is offered no regenerate, revoke or owner-only page", async ({
  page,
}) => {
  const console = watchConsole(page);
  const owner = await registerTenant("Roles");
  const developer = await invite(owner.access, "developer");
  await signIn(page, developer);

  const nav = page.getByRole("navigation", { name: "Dashboard" });
  await expect(nav.getByRole("link", { name: "Audit log" })).toHaveCount(0);
  await nav.getByRole("link", { name: "API keys" }).click();
  await expect(page.locator("table tbody tr")).toHaveCount(4);
  await expect(page.getByRole("button", { name: "Regenerate keys" })).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Revoke keys" })).toHaveCount(0);

  await nav.getByRole("link", { name: "Plans" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Plans" })).toBeVisible();
  await expect(page.getByRole("link", { name: "New plan" })).toHaveCount(0);
  await nav.getByRole("link", { name: "Team" }).click();
  await expect(page.getByRole("button", { name: "Invite a user" })).toHaveCount(0);

  // A page the role cannot open says so instead of failing.
  await page.goto("/dashboard/audit-log");
  await expect(page.getByRole("heading", { name: "Not available to your role" })).toBeVisible();
  await nav.getByRole("link", { name: "API keys" }).click();
  await screenshot(page, "developer-no-regenerate");
  console.expectClean();
});

test("a billing user has no API keys page; an owner's dialogs work from the keyboard", async ({ page }) => {
  const console = watchConsole(page);
  const owner = await registerTenant("Keyboard");
  const billing = await invite(owner.access, "billing");
  await signIn(page, billing);
  await expect(
    page.getByRole("navigation", { name: "Dashboard" }).getByRole("link", { name: "API keys" }),
  ).toHaveCount(0);
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();

  await signIn(page, owner.email);
  await page.getByRole("link", { name: "API keys" }).click();
  const regenerate = page.getByRole("button", { name: "Regenerate keys" });
  await regenerate.focus();
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog", { name: "Regenerate API keys" });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByLabel("Which keys")).toBeFocused();
  // Focus stays inside the modal dialog while tabbing.
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press("Tab");
    expect(await dialog.evaluate((node) => node.contains(document.activeElement))).toBe(true);
  }
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(regenerate).toBeFocused();

  // Regenerate the test keys with a 24 h rollover: the new secret is shown once.
  await page.keyboard.press("Enter");
  await dialog.getByLabel("Old keys stop working").selectOption("24h");
  await dialog.getByRole("button", { name: "Regenerate" }).click();
  await expect(page.getByRole("heading", { name: "Your new keys" })).toBeVisible();
  await expect(page.locator("[data-secret]")).toHaveText(/^sk_test_[0-9A-Za-z]{32}$/);
  await expect(page.getByText(/The old keys keep working until/)).toBeVisible();
  await expect(page.getByText("expiring").first()).toBeVisible();
  console.expectClean();
});
