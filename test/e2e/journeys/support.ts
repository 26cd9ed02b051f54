import path from "node:path";
import { expect, type Page } from "@playwright/test";

export const BASE_URL = process.env.E2E_BASE_URL ?? "";
export const STRIPE_URL = process.env.E2E_STRIPE_URL ?? "";
export const RECEIVER_URL = process.env.E2E_RECEIVER_URL ?? "";
const ADMIN_TOKEN = process.env.E2E_ADMIN_TOKEN ?? "";
export const PASSWORD = "JourneyPass2026";
const OUTPUT = path.join(import.meta.dirname, "..", "output");

let counter = 0;
export const unique = (label: string) => `${label}-${Date.now().toString(36)}-${++counter}`;
export const uniqueEmail = (label: string) => `${unique(label)}@example.com`;

/** Calls the Worker's API directly (setup steps a journey does not test through the page). */
export async function apiCall<T = Record<string, unknown>>(
  urlPath: string,
  options: { method?: string; body?: unknown; token?: string; admin?: boolean } = {},
): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  if (options.admin) headers.Authorization = `Bearer ${ADMIN_TOKEN}`;
  const res = await fetch(`${BASE_URL}${urlPath}`, {
    method: options.method ?? (options.body === undefined ? "GET" : "POST"),
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
}

/** A tenant registered through the public API, with its owner's access token. */
export async function registerTenant(label: string) {
  const email = uniqueEmail(label);
  const res = await apiCall<{ tokens: { access: string }; tenant: { id: string } }>(
    "/api/v1/auth/tenants/register/",
    {
      body: { company_name: `${label} Inc`, email, password: PASSWORD },
    },
  );
  expect(res.status).toBe(201);
  return { email, access: res.body.tokens.access, tenantId: res.body.tenant.id };
}

/**
 * Fails the journey on any page error or console error (a CSP refusal shows up there as
 * "Refused to ..."), so a blocked script, style or connection never passes silently.
 */
export function watchConsole(page: Page, allow: RegExp[] = []) {
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    const text = message.text();
    // An API error answer is logged by Chromium as a failed resource load; the page shows it.
    if (/Failed to load resource: the server responded with a status of (4\d\d)/.test(text)) return;
    if (allow.some((pattern) => pattern.test(text))) return;
    problems.push(text);
  });
  return {
    expectClean: () => expect(problems, problems.join("\n")).toEqual([]),
  };
}

/** The journey's screenshot, kept under test/e2e/output/ (gitignored). */
export async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: path.join(OUTPUT, `${name}.png`), fullPage: true });
}

export async function signIn(page: Page, email: string, password = PASSWORD) {
  await page.goto("/dashboard/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible();
}

/** Connects the tenant's Stripe account through the API and the double's onboarding link. */
export async function connectStripe(token: string) {
  const started = await apiCall<{ url: string }>("/api/v1/auth/tenants/stripe/connect/", { token, body: {} });
  expect(started.body.url, JSON.stringify(started.body)).toBeTruthy();
  expect((await fetch(started.body.url)).status).toBe(200);
}
