import { expect, test } from "@playwright/test";
import { apiCall, registerTenant, STRIPE_URL, screenshot, signIn, watchConsole } from "./support";

/** A platform plan on the platform's Stripe account (the operator API, as `npm run sync-plans` does). */
async function ensurePlatformPlan() {
  const created = await apiCall("/api/v1/admin/plans/", {
    admin: true,
    body: {
      id: "starter",
      name: "Starter",
      tier: "starter",
      price_cents: 2900,
      billing_interval: "month",
      limits: {
        api_requests_per_minute: 600,
        api_requests_per_month: 250000,
        plans: 20,
        webhook_endpoints: 3,
        users: 10,
      },
    },
  });
  expect([201, 409]).toContain(created.status);
  const synced = await apiCall("/api/v1/admin/plans/sync/", { admin: true, body: {} });
  expect(synced.status).toBe(200);
}

test("a tenant whose payments fail is suspended, sees the banner, and pays its way back", async ({
  page,
}) => {
  const console = watchConsole(page);
  await ensurePlatformPlan();
  const owner = await registerTenant("Suspended");
  await signIn(page, owner.email);

  await test.step("subscribe to the platform plan from the dashboard", async () => {
    await page.getByRole("link", { name: "Platform plan", exact: true }).click();
    await page.getByLabel("Plan", { exact: true }).selectOption("starter");
    await page.getByLabel("Payment method").fill("pm_card_visa");
    await page.getByRole("button", { name: "Subscribe" }).click();
    await expect(page.getByText("Starter ($29.00/month)")).toBeVisible();
    await expect(page.getByTestId("suspended-banner")).toHaveCount(0);
  });

  await test.step("the renewal fails three times at Stripe, whose events reach the API", async () => {
    const subscription = await apiCall<{ stripe_subscription_id: string }>(
      "/api/v1/auth/tenants/subscription/",
      { token: owner.access },
    );
    // A second after the subscription's own events: Stripe applies nothing within one second in
    // a known order, and a renewal comes a period later.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const advance = `${STRIPE_URL}/__double/subscriptions/${subscription.body.stripe_subscription_id}/advance`;
    for (const body of [{ fail: true }, { retry: true, fail: true }, { retry: true, fail: true }]) {
      const res = await fetch(advance, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(200);
    }
  });

  await test.step("the banner shows, and changes the API would refuse are not offered", async () => {
    await expect(async () => {
      await page.reload();
      await expect(page.getByTestId("suspended-banner")).toBeVisible({ timeout: 1000 });
    }).toPass({ timeout: 30_000 });
    const banner = page.getByTestId("suspended-banner");
    await expect(banner).toContainText("Your account is suspended");
    await expect(banner).toContainText("Reason:");
    await expect(banner.getByRole("link", { name: "Fix billing" })).toBeVisible();
    await page.getByRole("link", { name: "Plans", exact: true }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Plans" })).toBeVisible();
    await expect(page.getByRole("link", { name: "New plan" })).toHaveCount(0);
    await page.getByRole("link", { name: "Overview" }).click();
    await expect(page.getByText("suspended", { exact: true }).first()).toBeVisible();
  });

  await screenshot(page, "suspended-banner");

  await test.step("the owner pays the open invoice with a new card: active again", async () => {
    await page.getByTestId("suspended-banner").getByRole("link", { name: "Fix billing" }).click();
    await expect(page.getByText("Paying the open invoice below reactivates it.")).toBeVisible();
    await page.getByLabel("New payment method").fill("pm_card_mastercard");
    // A second after the last failure, as a person takes (see above).
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await page.getByRole("button", { name: "Pay now" }).click();
    await expect(page.getByRole("status").filter({ hasText: "Invoice paid" })).toBeVisible();
    await expect(page.getByTestId("suspended-banner")).toHaveCount(0);
    await expect(page.getByRole("heading", { name: "Payment due" })).toHaveCount(0);
    await expect(page.getByText("active", { exact: true }).first()).toBeVisible();
  });

  console.expectClean();
});
