import { expect, type Page, test } from "@playwright/test";
import { registerTenant, signIn } from "./support";

// Every page load refreshes the session, and each refresh rotates the HttpOnly cookie once: a
// reload that tears the refresh down must not leave the next page presenting the old cookie (a
// replay, which ends the session by contract). Before the fix, 40 quick reloads ended the session
// within the first few that caught a refresh in flight.
test("reloads in quick succession, some tearing down a refresh in flight, keep the session", async ({
  page,
}) => {
  const owner = await registerTenant("ReloadRace");
  await signIn(page, owner.email);
  const outcomes: string[] = [];
  page.on("requestfinished", async (request) => {
    if (request.url().endsWith("/session/refresh"))
      outcomes.push(String((await request.response())?.status()));
  });
  // Chromium reports a keepalive request as failed for its torn-down page, though it goes on.
  page.on("requestfailed", (request) => {
    if (request.url().endsWith("/session/refresh")) outcomes.push("torn down");
  });
  // 0-113 ms after each commit, in a fixed order: some reloads catch the page's refresh at the
  // server or on its way back.
  for (let reload = 0; reload < 40; reload++) {
    await reloadAtOnce(page);
    await page.waitForTimeout((reload * 37) % 120);
  }
  // The last reload too may meet CDP's refusal while the previous navigation commits.
  await reloadAtOnce(page);
  await expect(page.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible({ timeout: 15_000 });
  expect(outcomes, outcomes.join(" ")).toContain("torn down");
  expect(outcomes, outcomes.join(" ")).not.toContain("401");
});

/** Reloads without waiting for the page; CDP refuses a reload now and then while a navigation is being committed. */
async function reloadAtOnce(page: Page) {
  for (let attempt = 1; ; attempt++) {
    try {
      await page.reload({ waitUntil: "commit" });
      return;
    } catch (error) {
      if (attempt === 5 || !String(error).includes("Not attached to an active page")) throw error;
      await page.waitForTimeout(50);
    }
  }
}
