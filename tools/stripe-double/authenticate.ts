// The double's 3D Secure page: `next_action` of an intent waiting for authentication points here.
// Visiting it completes the authentication (`?fail=1` fails it), then redirects to the intent's
// return URL when there is one.
import { page, pageCtx, redirect } from "./pages.ts";
import { authenticated } from "./payment-intents.ts";
import { type Ctx, type Reply, type Route, route } from "./router.ts";
import { authenticateSetup } from "./setup-intents.ts";

type Verdict = (ctx: Ctx, intent: Record<string, unknown>, ok: boolean) => void;

function verdictOf(kind: string): Verdict | undefined {
  if (kind === "setup_intent") return authenticateSetup;
  if (kind === "payment_intent") return authenticated;
  return undefined;
}

function authenticationPage(ctx: Ctx): Reply {
  const id = ctx.match[0] ?? "";
  const stored = ctx.state.objects.get(id);
  const verdict = stored ? verdictOf(stored.kind) : undefined;
  if (!stored || !verdict) return page(404, "Unknown authentication", `<p>No intent ${id}</p>`);
  const ok = ctx.query.fail !== "1";
  if (stored.obj.status === "requires_action") verdict(pageCtx(ctx, stored), stored.obj, ok);
  const back = typeof ctx.query.return_url === "string" ? ctx.query.return_url : null;
  if (back) return redirect(back);
  return page(
    200,
    ok ? "Authentication complete" : "Authentication failed",
    `<p>${id}: ${String(stored.obj.status)}</p>`,
  );
}

export const authenticationRoutes: Route[] = [route("GET", "/3ds/:id", authenticationPage, "browser")];
