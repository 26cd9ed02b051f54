import { expect, test } from "@playwright/test";
import { registerTenant, screenshot, signIn, watchConsole } from "./support";

test.use({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });

test("the dashboard works at 360 px: menu, stacked tables, no sideways scrolling", async ({ page }) => {
  const console = watchConsole(page);
  const owner = await registerTenant("Narrow");
  await signIn(page, owner.email);
  const menu = page.getByRole("button", { name: "Menu" });
  const nav = page.getByRole("navigation", { name: "Dashboard" });
  await expect(nav).toBeHidden();
  await menu.click();
  await expect(menu).toHaveAttribute("aria-expanded", "true");
  await nav.getByRole("link", { name: "API keys" }).click();
  await expect(nav).toBeHidden();
  await expect(page.locator("table tbody tr")).toHaveCount(4);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await screenshot(page, "narrow-api-keys");
  console.expectClean();
});
