import { expect, test } from "@playwright/test";
import { apiCall, registerTenant, signIn, watchConsole } from "./support";

// A page's id comes from its address, which anyone can write into a link. Decoded, `..%2F` is a
// path segment `../`: put as it is into an API path, the page's own requests (with the owner's
// access token) would go to another route of the API than the page's, such as the GET alias of
// POST .../stripe/connect, which starts a Stripe account for the tenant.
test("an id in a dashboard address stays one path segment of the page's API calls", async ({ page }) => {
  const console = watchConsole(page);
  const owner = await registerTenant("PathIds");
  const api: string[] = [];
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (url.pathname.startsWith("/api/")) api.push(`${request.method()} ${url.pathname}${url.search}`);
  });
  await signIn(page, owner.email);

  const traversal = encodeURIComponent("../../../../../../api/v1/auth/tenants/stripe/connect?");
  for (const address of [
    `/dashboard/customers/${traversal}`,
    `/dashboard/customers/${traversal}/edit`,
    `/dashboard/subscriptions/${traversal}`,
    `/dashboard/invoices/${traversal}`,
    `/dashboard/plans/${traversal}`,
    `/dashboard/webhooks/deliveries/${traversal}`,
    `/dashboard/invoices/new?customer=${traversal}`,
    `/dashboard/subscriptions/new?customer=${traversal}`,
  ]) {
    await page.goto(address);
    await expect(page.locator("main h1")).toBeVisible();
    await page.waitForLoadState("networkidle");
  }

  expect(api.filter((line) => line.includes("stripe/connect"))).toEqual([]);
  const status = await apiCall<{ connected: boolean }>("/api/v1/auth/tenants/stripe/status/", {
    token: owner.access,
  });
  expect(status.body.connected).toBe(false);
  console.expectClean();
});
