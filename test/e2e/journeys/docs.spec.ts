import { expect, test } from "@playwright/test";
import { BASE_URL, screenshot, watchConsole } from "./support";

test("/docs renders its operations with every host but the Worker's blocked", async ({ page }) => {
  const console = watchConsole(page, [/net::ERR_FAILED/]);
  const worker = new URL(BASE_URL).host;
  const blocked: string[] = [];
  await page.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.host === worker || url.protocol === "data:") return route.continue();
    blocked.push(url.href);
    return route.abort();
  });

  await page.goto("/docs");
  // Swagger UI parses a 1.7 MB bundle and renders the whole document: slow on a 2-core machine.
  await expect(page.getByRole("heading", { level: 1, name: /Edge Billing API/ })).toBeVisible({
    timeout: 60_000,
  });
  const operations = page.locator(".opblock");
  await expect(operations.first()).toBeVisible();
  expect(await operations.count()).toBeGreaterThan(40);
  await expect(
    page.locator(".opblock-summary-path", { hasText: "/api/v1/dashboard/session" }).first(),
  ).toBeVisible();
  expect(blocked, `requests that left the Worker: ${blocked.join(", ")}`).toEqual([]);
  await screenshot(page, "docs-offline");
  console.expectClean();
});
