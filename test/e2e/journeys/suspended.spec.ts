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

test("a tenant whose payments fail is suspended and sees the banner", async ({ page }) => {
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

  await test.step("Stripe reports the third failed payment attempt", async () => {
    const subscription = await apiCall<{ stripe_subscription_id: string }>(
      "/api/v1/auth/tenants/subscription/",
      {
        token: owner.access,
      },
    );
    // A minute ahead, so the event is newer than the subscription's own events (see README).
    const res = await fetch(`${STRIPE_URL}/__double/events`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        type: "invoice.payment_failed",
        created: Math.floor(Date.now() / 1000) + 60,
        data: {
          object: {
            id: "in_e2e_failed",
            object: "invoice",
            subscription: subscription.body.stripe_subscription_id,
            attempt_count: 3,
            amount_due: 2900,
            currency: "usd",
          },
        },
      }),
    });
    expect(res.status).toBe(200);
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
  console.expectClean();
});
