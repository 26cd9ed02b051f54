import { expect, test } from "@playwright/test";
import { registerTenant, signIn } from "./support";

// Preact runs effects on the next animation frame, or a few dozen ms later without one: until then the
// page does not listen to the session. A busy browser can take that long, and the session's
// first answer (a 401 without a cookie takes about 10 ms) can come back before. These pages get
// no frame and their short timers wait 2 s, so the answer always arrives before the page listens.
test.beforeEach(async ({ page }) => {
  await page.addInitScript(() => {
    window.requestAnimationFrame = () => 0;
    const setTimeoutOf = window.setTimeout.bind(window);
    window.setTimeout = ((handler: TimerHandler, ms?: number, ...rest: unknown[]) =>
      setTimeoutOf(handler, ms && ms < 100 ? 2_000 : ms, ...rest)) as typeof window.setTimeout;
  });
});

test("a page whose first session answer arrives before it listens still shows the sign-in page", async ({
  page,
}) => {
  await page.route("**/api/v1/dashboard/session/refresh", (route) =>
    route.fulfill({
      status: 401,
      contentType: "application/json",
      body: JSON.stringify({ error: "unauthenticated", message: "No dashboard session; sign in" }),
    }),
  );
  for (const path of ["/dashboard/login", "/dashboard/login?next=%2Fdashboard%2Fcustomers", "/dashboard/"]) {
    await page.goto(path);
    await expect(page.getByRole("heading", { level: 1, name: "Sign in" }), path).toBeVisible({
      timeout: 5_000,
    });
  }
});

test("a reload resumes the session, however fast its answer comes", async ({ page }) => {
  const owner = await registerTenant("FastAnswer");
  await signIn(page, owner.email);
  await page.route("**/api/v1/dashboard/session/refresh", async (route) =>
    route.fulfill({ response: await route.fetch() }),
  );
  await page.reload();
  await expect(page.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible({ timeout: 5_000 });
});
