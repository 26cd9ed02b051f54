// Account links and the onboarding page a browser visits: a link is single-use, valid 5 minutes;
// visiting it onboards the account (`account.updated`) and redirects to `return_url`, while a used
// or expired link, or `?fail=1`, redirects to `refresh_url` without onboarding.
import { setOnboarded, visibleAccount } from "./accounts.ts";
import { apiError, invalid } from "./errors.ts";
import { allow, oneOf, reqStr, str } from "./params.ts";
import { type Ctx, type Reply, type Route, route } from "./router.ts";
import { clone, find, now, randomString, type State } from "./state.ts";
import { diff, emit } from "./webhooks.ts";

function accountLink(ctx: Ctx): Reply {
  allow(ctx, ["account", "type", "return_url", "refresh_url", "collect", "collection_options"]);
  const p = ctx.params;
  const accountId = reqStr(p, "account");
  reqStr(p, "type");
  const type = oneOf(p, "type", ["account_onboarding", "account_update"]) ?? "account_onboarding";
  const returnUrl = reqStr(p, "return_url");
  const refreshUrl = str(p, "refresh_url") || null;
  for (const [name, url] of [
    ["return_url", returnUrl],
    ["refresh_url", refreshUrl],
  ] as const) {
    if (url !== null && !URL.canParse(url)) throw invalid(name, "Not a valid URL", "url_invalid");
  }
  if (ctx.scope)
    throw apiError(400, {
      type: "invalid_request_error",
      message: "Account links must be created by the platform, without a Stripe-Account header.",
    });
  visibleAccount(ctx, accountId, "account");
  const created = now();
  const token = randomString(24);
  ctx.state.accountLinks.set(token, {
    account: accountId,
    type,
    returnUrl,
    refreshUrl,
    expiresAt: created + 300,
    used: false,
  });
  const url = `${ctx.baseUrl}/connect/onboarding/${accountId}?link=${token}`;
  return { status: 200, body: { object: "account_link", created, expires_at: created + 300, url } };
}

export function redirect(location: string): Reply {
  return { status: 302, headers: { location }, body: `<a href="${location}">Redirecting</a>` };
}

/** Marks the account onboarded and emits `account.updated` (a Connect event). */
export function onboard(state: State, accountId: string): void {
  const stored = find(state, "account", accountId, null);
  if (!stored || stored.obj.charges_enabled === true) return;
  const before = clone(stored.obj);
  setOnboarded(stored.obj, true);
  emit(state, {
    type: "account.updated",
    object: stored.obj,
    account: accountId,
    previous: diff(before, stored.obj),
  });
}

/** GET /connect/onboarding/:acct?link=...[&fail=1]: what the browser of an onboarding user visits. */
function onboardingPage(ctx: Ctx): Reply {
  const accountId = ctx.match[0] ?? "";
  if (!find(ctx.state, "account", accountId, null))
    return { status: 404, body: `<h1>No such account: ${accountId}</h1>` };
  const token = str(ctx.query, "link");
  const fail = str(ctx.query, "fail") === "1";
  if (!token) {
    if (!fail) onboard(ctx.state, accountId);
    return { status: 200, body: `<h1>${accountId} ${fail ? "not onboarded" : "onboarded"}</h1>` };
  }
  const link = ctx.state.accountLinks.get(token);
  if (!link || link.account !== accountId) return { status: 404, body: "<h1>Unknown account link</h1>" };
  const stale = link.used || link.expiresAt < now();
  link.used = true;
  if (stale || fail) return redirect(link.refreshUrl ?? link.returnUrl);
  onboard(ctx.state, accountId);
  return redirect(link.returnUrl);
}

export const accountLinkRoutes: Route[] = [
  route("POST", "/v1/account_links", accountLink),
  route("GET", "/connect/onboarding/:id", onboardingPage, "browser"),
];
