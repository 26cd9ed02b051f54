// Helpers of the browser pages the double serves (Checkout, Billing Portal, hosted invoices, 3D
// Secure): a context acting in the object's account, and tiny HTML.
import type { Ctx, Reply } from "./router.ts";
import type { Stored } from "./state.ts";

/** The context a browser visit acts in: the object's account and mode, no API request behind it. */
export function pageCtx(ctx: Ctx, stored: Stored): Ctx {
  return { ...ctx, scope: stored.account, livemode: stored.obj.livemode === true, requestId: "" };
}

export function esc(text: unknown): string {
  return String(text ?? "").replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c,
  );
}

export function page(status: number, title: string, body: string): Reply {
  return {
    status,
    body: `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title></head><body><h1>${esc(title)}</h1>${body}</body></html>`,
  };
}

export function redirect(location: string): Reply {
  return { status: 302, headers: { location }, body: `<a href="${esc(location)}">Redirecting</a>` };
}

/** The URL of the double's 3D Secure page for an intent. */
export function authenticationUrl(ctx: Ctx, intentId: string, returnUrl: string | null): string {
  const url = new URL(`${ctx.baseUrl}/3ds/${intentId}`);
  if (returnUrl) url.searchParams.set("return_url", returnUrl);
  return url.toString();
}

/** `next_action` of an intent waiting for 3D Secure: a redirect when a return URL was given. */
export function authenticationAction(
  ctx: Ctx,
  intentId: string,
  returnUrl: string | null,
): Record<string, unknown> {
  const url = authenticationUrl(ctx, intentId, returnUrl);
  if (returnUrl) return { type: "redirect_to_url", redirect_to_url: { return_url: returnUrl, url } };
  return { type: "use_stripe_sdk", use_stripe_sdk: { type: "three_d_secure_redirect", stripe_js: url } };
}
