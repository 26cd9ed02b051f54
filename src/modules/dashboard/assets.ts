import type { Context } from "hono";
import type { AppEnv } from "../../env";
import { createRouter } from "../../lib/create-app";
import { ApiError, notFound } from "../../lib/errors";

/**
 * The dashboard's pages may run only the Worker's own scripts and styles and talk only to the
 * Worker: no inline script or style, no third-party host, no framing, no form posts elsewhere.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

/** The same for /docs; Swagger UI sets inline style attributes, so styles may be inline there. */
export const DOCS_CSP = DASHBOARD_CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'");

/**
 * Serves one built HTML page from the ASSETS binding with its Content-Security-Policy. The page
 * is revalidated on every load (it names the content-hashed scripts of the current build).
 */
async function htmlPage(c: Context<AppEnv>, assetPath: string, csp: string) {
  const asset = await c.env.ASSETS.fetch(new URL(assetPath, c.req.url));
  if (!asset.ok) {
    throw new ApiError("not_configured", "The web assets are not built: run `npm run build:web`");
  }
  const headers = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-cache",
    "Content-Security-Policy": csp,
    "Referrer-Policy": "same-origin",
  };
  // c.body keeps the headers the app's middleware set (request id, security headers).
  return asset.body && c.req.method !== "HEAD"
    ? c.body(asset.body, 200, headers)
    : c.body(null, 200, headers);
}

/**
 * A static file under /dashboard/assets/ or /docs/assets/. In production the asset server answers
 * these before the Worker runs (wrangler.toml's `run_worker_first` excludes them); the Worker
 * only sees the ones that do not exist, and answers them with the API's 404 body.
 */
async function staticFile(c: Context<AppEnv>) {
  const asset = await c.env.ASSETS.fetch(c.req.raw);
  if (asset.status === 404) throw notFound(`File ${c.req.path}`);
  const headers = Object.fromEntries(asset.headers);
  const status = asset.status as 200;
  return asset.body ? c.body(asset.body, status, headers) : c.body(null, status, headers);
}

/** /docs: the API reference page (Swagger UI from npm, served from these assets: no CDN). */
export const docsPage = (c: Context<AppEnv>) => htmlPage(c, "/docs/index.html", DOCS_CSP);

/** The dashboard's routes are client-side: every /dashboard path gets the single-page shell. */
const dashboardPage = (c: Context<AppEnv>) => htmlPage(c, "/dashboard/index.html", DASHBOARD_CSP);

export const assetRoutes = createRouter()
  .get("/dashboard/assets/*", staticFile)
  .get("/docs/assets/*", staticFile)
  .get("/dashboard", dashboardPage)
  .get("/dashboard/*", dashboardPage);
