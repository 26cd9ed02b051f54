import { readFile } from "node:fs/promises";
import { expect, test } from "@playwright/test";
import {
  PASSWORD,
  RECEIVER_URL,
  screenshot,
  signIn,
  signOut,
  unique,
  uniqueEmail,
  watchConsole,
} from "./support";

test("a tenant registers, connects Stripe, sells a plan to a customer, receives its webhooks and sees its MRR", async ({
  page,
  context,
}) => {
  const console = watchConsole(page);
  const email = uniqueEmail("owner");
  const company = `Journey ${unique("co")}`;
  const hook = unique("hook");

  await test.step("register: the four keys are shown once", async () => {
    await page.goto("/dashboard/");
    await expect(page).toHaveURL(/\/dashboard\/login$/);
    await page.getByRole("link", { name: "Register your company" }).click();
    await page.getByLabel("Company name").fill(company);
    await page.getByLabel("Work email").fill(email);
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByRole("button", { name: "Register" }).click();
    await expect(page.getByRole("heading", { name: "Welcome to Edge Billing" })).toBeVisible();
    await expect(page.locator("[data-secret]")).toHaveCount(2);
    await expect(page.locator("[data-secret]").first()).toHaveText(/^sk_test_[0-9A-Za-z]{32}$/);
  });

  await test.step("sign out, then sign in again; the session survives a reload", async () => {
    await signOut(page);
    await signIn(page, email);
    await page.reload();
    await expect(page.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible();
    await expect(page.getByText(company).first()).toBeVisible();
    // The refresh token is in an HttpOnly cookie that page scripts cannot read; they see only the
    // session mark, a random value that changes with each rotation.
    expect(await page.evaluate(() => document.cookie)).toMatch(/^__Host-eb_session_mark=[0-9a-f-]{36}$/);
    const cookies = await context.cookies();
    const session = cookies.find((cookie) => cookie.name === "__Host-eb_refresh");
    expect(session).toMatchObject({ httpOnly: true, secure: true, sameSite: "Strict", path: "/" });
  });

  await test.step("API keys: four keys, the secrets masked", async () => {
    await page.getByRole("link", { name: "API keys" }).click();
    const rows = page.locator("table tbody tr");
    await expect(rows).toHaveCount(4);
    const values = await page.locator("table tbody td[data-label=Value] code").allTextContents();
    expect(values.filter((value) => /^sk_(test|live)_\*{4}\.\.\.\w{4}$/.test(value))).toHaveLength(2);
    expect(values.filter((value) => /^pk_(test|live)_[0-9A-Za-z]{32}$/.test(value))).toHaveLength(2);
    await expect(page.getByRole("button", { name: "Regenerate keys" })).toBeVisible();
  });

  await test.step("connect Stripe through the double's onboarding", async () => {
    await page.getByRole("link", { name: "Stripe Connect" }).click();
    await page.getByRole("button", { name: "Connect Stripe" }).click();
    const popup = context.waitForEvent("page");
    await page.getByRole("link", { name: /Open Stripe onboarding/ }).click();
    const onboarding = await popup;
    await onboarding.waitForLoadState();
    await expect(onboarding.locator("body")).toContainText("Stripe account connected successfully");
    await onboarding.close();
    // The page polls the status; the API caches Stripe's answer up to 30 s, so a poll that raced
    // the callback can show the old state that long.
    await expect(page.getByText("active", { exact: true }).first()).toBeVisible({ timeout: 45_000 });
    await expect(page.getByRole("button", { name: "Disconnect" })).toBeVisible();
  });

  await test.step("create a plan", async () => {
    await page.getByRole("link", { name: "Plans", exact: true }).click();
    await page.getByRole("link", { name: "New plan" }).click();
    // The list stays on screen until the editor's chunk has loaded: its "Search by name" field
    // must not take the name.
    await expect(page.getByRole("heading", { level: 1, name: "New plan" })).toBeVisible();
    await page.getByLabel("Name", { exact: true }).fill("Pro");
    await page.getByLabel("Description").fill("For growing teams");
    await page.getByLabel("Price").fill("29.99");
    await page.getByLabel("Free trial (days)").fill("14");
    await page.getByLabel("Features").fill("10 projects\nEmail support");
    await page.getByRole("button", { name: "Create plan" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Pro" })).toBeVisible();
    await expect(page.getByText("$29.99/month")).toBeVisible();
    await page.getByRole("link", { name: "All plans" }).click();
    await expect(page.getByRole("link", { name: "Pro", exact: true })).toBeVisible();
  });

  await test.step("create a customer, give it a test card and subscribe it to Pro", async () => {
    await page.getByRole("link", { name: "Customers", exact: true }).click();
    await page.getByRole("link", { name: "New customer" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "New customer" })).toBeVisible();
    await page.getByLabel("Name", { exact: true }).fill("Ada Lovelace");
    await page.getByLabel("Email", { exact: true }).fill(uniqueEmail("ada"));
    await page.getByLabel("Country").fill("GB");
    await page.getByRole("button", { name: "Create customer" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Ada Lovelace" })).toBeVisible();
    await page.getByRole("button", { name: "Add a payment method" }).click();
    const dialog = page.getByRole("dialog", { name: "Add a payment method" });
    await dialog.getByLabel("Payment method id").fill("pm_card_visa");
    await dialog.getByRole("button", { name: "Add", exact: true }).click();
    await expect(page.locator("td[data-label=Method]", { hasText: "Visa ending 4242" })).toBeVisible();

    await page.getByRole("link", { name: "New subscription" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "New subscription" })).toBeVisible();
    await expect(page.getByRole("link", { name: "Ada Lovelace" })).toBeVisible();
    await page.getByLabel("Plan").selectOption({ label: "Pro ($29.99/month)" });
    // A trial counts in MRR only once it converts: none here, so the MRR shows at once.
    await page.getByLabel("Trial days").fill("0");
    await expect(page.getByLabel("First payment")).toHaveValue("error_if_incomplete");
    await page.getByRole("button", { name: "Create subscription" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Pro subscription" })).toBeVisible();
    await expect(page.getByText("$29.99/month")).toBeVisible();
    await expect(page.locator(".facts .badge").first()).toHaveText("active");
    await screenshot(page, "subscription");
  });

  await test.step("configure a webhook with the local receiver; its secret is shown once", async () => {
    await page.getByRole("link", { name: "Webhooks", exact: true }).click();
    await page.getByLabel("Endpoint URL").fill(`${RECEIVER_URL}/hooks/${hook}`);
    await page.getByRole("button", { name: "Save endpoint" }).click();
    await expect(page.getByRole("heading", { name: "Your signing secret" })).toBeVisible();
    await expect(page.locator("[data-secret]")).toHaveText(/^whsec_/);
    await page.getByRole("button", { name: "I saved the secret" }).click();
    await expect(page.getByText(/whsec_\*{4}/)).toBeVisible();
  });

  await test.step("test send: the receiver's answer is shown", async () => {
    await page.getByRole("button", { name: "Send test event" }).click();
    const answer = page.getByTestId("test-answer");
    await expect(answer).toContainText("Success");
    await expect(answer).toContainText("200");
    const received = await fetch(`${RECEIVER_URL}/__receiver/requests/${hook}?min=1`).then((res) =>
      res.json(),
    );
    expect(received[0].headers["webhook-signature"]).toMatch(/^v1,/);
  });

  await test.step("delivery log: resend the plan.created event and see its attempts", async () => {
    await page.getByRole("link", { name: "delivery log" }).click();
    const row = page.locator("tr", { has: page.getByRole("link", { name: "plan.created" }) });
    const status = row.locator("td[data-label=Status]");
    // Created before the endpoint existed, the event is skipped once the queue has handed it
    // over (or delivered, if the endpoint was saved first); a skipped one is resent.
    await expect(async () => {
      await page.getByRole("button", { name: "Refresh" }).click();
      await expect(status).toHaveText(/skipped|delivered/, { timeout: 1000 });
    }).toPass({ timeout: 30_000 });
    if ((await status.textContent())?.includes("skipped")) {
      await row.getByRole("button", { name: /Resend plan.created/ }).click();
    }
    await expect(async () => {
      await page.getByRole("button", { name: "Refresh" }).click();
      await expect(status).toHaveText("delivered", { timeout: 1000 });
    }).toPass({ timeout: 30_000 });
    await row.getByRole("link", { name: "plan.created" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Event plan.created" })).toBeVisible();
    const attempts = page.getByRole("table", { name: "Delivery attempts" }).locator("tbody tr");
    await expect(attempts).toHaveCount(1);
    await expect(attempts.first()).toContainText("200");
    await expect(page.locator("pre").last()).toContainText('"type": "plan.created"');
  });

  await screenshot(page, "tenant-journey");

  await test.step("analytics: the chart shows the subscription's MRR", async () => {
    await page.getByRole("link", { name: "Analytics" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Analytics" })).toBeVisible();
    // The figures come from the Connect events the double sends the Worker (through its queue).
    await expect(async () => {
      await page.getByRole("button", { name: "Refresh" }).click();
      await expect(page.getByTestId("analytics-summary")).toContainText("$29.99", { timeout: 2000 });
    }).toPass({ timeout: 45_000 });
    const chart = page.getByTestId("mrr-chart");
    await expect(chart.locator("canvas").first()).toBeVisible();
    await expect(chart.getByRole("img")).toHaveAttribute("aria-label", /to \$29\.99/);
    await chart.getByText("The chart's figures as a table").click();
    const table = page.getByRole("table", { name: "MRR and movements per day" });
    await expect(table.locator("tbody tr").last()).toContainText("+$29.99");
    await expect(page.getByRole("table", { name: "MRR by plan" })).toContainText("Pro");
    await expect(page.getByRole("table", { name: "MRR movements" })).toContainText("new");
    await screenshot(page, "analytics");
    // CSV comes through the page's token (a plain link would go without it).
    const download = page.waitForEvent("download");
    await page.getByRole("button", { name: "Download CSV: mrr.csv" }).click();
    const file = await download;
    expect(file.suggestedFilename()).toBe("mrr.csv");
    const csv = await readFile(await file.path(), "utf8");
    expect(csv.split("\n")[0]).toContain("period_start");
    expect(csv).toContain("2999");
    await page.getByRole("link", { name: "Overview" }).click();
    await expect(page.getByRole("region", { name: "Monthly recurring revenue" })).toContainText("$29.99");
  });
  console.expectClean();
});
