import { defineConfig, devices } from "@playwright/test";

// Run through `npm run test:e2e` (scripts/e2e.mjs), which starts the Worker, the Stripe double and
// the webhook receiver and passes their URLs in E2E_* variables. The browser is Debian's Chromium:
// Playwright downloads none.
export default defineConfig({
  testDir: "./journeys",
  outputDir: "./output/artifacts",
  timeout: 90_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: true,
  reporter: [["list"], ["json", { outputFile: "./output/results.json" }]],
  use: {
    ...devices["Desktop Chrome"],
    baseURL: process.env.E2E_BASE_URL,
    // A click or fill that cannot happen fails where it waits, not at the end of the test's time.
    actionTimeout: 20_000,
    navigationTimeout: 30_000,
    headless: true,
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      chromiumSandbox: false,
      // Playwright gives every launch a fresh temporary profile (--user-data-dir). Without the
      // background-networking flags Chromium dials Google's services, which this network refuses.
      args: [
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
});
