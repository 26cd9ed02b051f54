// Legacy Connect OAuth: the authorize page a browser visits, and the token/deauthorize calls the
// SDK sends (to the same overridden host). OAuth errors are flat: `{error, error_description}`.
import { redirect } from "./account-links.ts";
import { createAccount } from "./accounts.ts";
import { oauthError } from "./errors.ts";
import { allow, str } from "./params.ts";
import { type Ctx, type Reply, type Route, route } from "./router.ts";
import { find, type Json, newId, now, randomString, type State } from "./state.ts";
import { emit } from "./webhooks.ts";

const CODE_TTL = 300;

function application(clientId: string): Json {
  return { id: clientId, object: "application", name: null };
}

function authorize(ctx: Ctx, express: boolean): Reply {
  const q = ctx.query;
  const redirectUri = str(q, "redirect_uri");
  const clientId = str(q, "client_id");
  if (!clientId)
    return { status: 400, body: { error: "invalid_request", error_description: "No client_id provided." } };
  if (!redirectUri || !URL.canParse(redirectUri)) {
    return {
      status: 400,
      body: {
        error: "invalid_redirect_uri",
        error_description: "Invalid redirect URI (the double needs redirect_uri).",
      },
    };
  }
  const responseType = str(q, "response_type") ?? "code";
  const scope = str(q, "scope") ?? "read_only";
  const back = new URL(redirectUri);
  const state = str(q, "state");
  const answer = (params: Record<string, string>): Reply => {
    for (const [k, v] of Object.entries(params)) back.searchParams.set(k, v);
    if (state !== undefined) back.searchParams.set("state", state);
    return redirect(back.toString());
  };
  if (responseType !== "code") {
    return answer({
      error: "unsupported_response_type",
      error_description: `Invalid response_type: ${responseType}`,
    });
  }
  if (scope !== "read_write" && scope !== "read_only") {
    return answer({ error: "invalid_scope", error_description: `Invalid scope: ${scope}` });
  }
  if (str(q, "deny") === "1") {
    return answer({ error: "access_denied", error_description: "The user denied your request" });
  }
  let accountId = str(q, "account");
  if (accountId && !find(ctx.state, "account", accountId, null)) {
    return {
      status: 400,
      body: { error: "invalid_request", error_description: `No such account: ${accountId}` },
    };
  }
  if (!accountId) {
    const user = q.stripe_user;
    const email =
      typeof user === "object" && !Array.isArray(user) && typeof user.email === "string" ? user.email : null;
    const country =
      typeof user === "object" && !Array.isArray(user) && typeof user.country === "string"
        ? user.country
        : "US";
    const account = createAccount(ctx.state, {
      type: express ? "express" : "standard",
      country: country.toUpperCase(),
      email,
      businessType: null,
      metadata: {},
      livemode: false,
      onboarded: true,
    });
    accountId = account.id as string;
  }
  ctx.state.accounts.set(accountId, { connected: true, deleted: false, clientId });
  const code = newId("ac");
  ctx.state.oauthCodes.set(code, {
    account: accountId,
    clientId,
    scope,
    livemode: false,
    used: false,
    expiresAt: now() + CODE_TTL,
  });
  emit(ctx.state, {
    type: "account.application.authorized",
    object: application(clientId),
    account: accountId,
    livemode: false,
  });
  return answer({ scope, code });
}

function requireKey(ctx: Ctx): void {
  if (!ctx.apiKey) {
    throw oauthError(
      401,
      "invalid_request",
      "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth.",
    );
  }
}

function issueToken(state: State, account: string, scope: string, livemode: boolean): Json {
  const mode = livemode ? "live" : "test";
  const accessToken = `sk_${mode}_${randomString(40)}`;
  const refreshToken = `rt_${randomString(40)}`;
  state.accessTokens.set(accessToken, account);
  state.refreshTokens.set(refreshToken, account);
  return {
    access_token: accessToken,
    livemode,
    refresh_token: refreshToken,
    token_type: "bearer",
    stripe_publishable_key: `pk_${mode}_${randomString(40)}`,
    stripe_user_id: account,
    scope,
  };
}

function token(ctx: Ctx): Reply {
  allow(ctx, ["grant_type", "code", "refresh_token", "scope", "client_secret", "assert_capabilities"]);
  requireKey(ctx);
  const p = ctx.params;
  const grant = str(p, "grant_type");
  if (!grant) throw oauthError(400, "invalid_request", "No grant type specified");
  if (grant === "authorization_code") {
    const code = str(p, "code");
    if (!code) throw oauthError(400, "invalid_request", "No authorization code provided");
    const record = ctx.state.oauthCodes.get(code);
    if (!record || record.used || record.expiresAt < now()) {
      throw oauthError(400, "invalid_grant", `Authorization code does not exist: ${code}`);
    }
    record.used = true;
    return { status: 200, body: issueToken(ctx.state, record.account, record.scope, ctx.livemode) };
  }
  if (grant === "refresh_token") {
    const refresh = str(p, "refresh_token") ?? "";
    const account = ctx.state.refreshTokens.get(refresh);
    if (!account || ctx.state.accounts.get(account)?.connected !== true) {
      throw oauthError(400, "invalid_grant", `Invalid refresh token: ${refresh}`);
    }
    return {
      status: 200,
      body: issueToken(ctx.state, account, str(p, "scope") ?? "read_write", ctx.livemode),
    };
  }
  throw oauthError(400, "unsupported_grant_type", `Unsupported grant type: ${grant}`);
}

function deauthorize(ctx: Ctx): Reply {
  allow(ctx, ["client_id", "stripe_user_id"]);
  requireKey(ctx);
  const clientId = str(ctx.params, "client_id");
  const accountId = str(ctx.params, "stripe_user_id");
  if (!clientId) throw oauthError(400, "invalid_request", "No client_id provided");
  if (!accountId) throw oauthError(400, "invalid_request", "No stripe_user_id provided");
  const meta = ctx.state.accounts.get(accountId);
  if (!meta || meta.deleted || !meta.connected || (meta.clientId !== null && meta.clientId !== clientId)) {
    throw oauthError(
      400,
      "invalid_client",
      `This application is not connected to stripe account ${accountId}, or that account does not exist.`,
    );
  }
  revokeAccess(ctx.state, accountId, clientId, { requestId: ctx.requestId, livemode: ctx.livemode });
  return { status: 200, body: { stripe_user_id: accountId } };
}

/**
 * The platform loses the account (its `oauth.deauthorize`, or the account's owner disconnecting
 * it in their Dashboard): its OAuth keys are revoked, the platform can no longer read or act on
 * it (403 `account_invalid`) until it connects again, and `account.application.deauthorized`.
 */
export function revokeAccess(
  state: State,
  accountId: string,
  clientId: string,
  origin: { requestId: string | null; livemode: boolean },
): void {
  const meta = state.accounts.get(accountId);
  if (meta) meta.connected = false;
  for (const tokens of [state.accessTokens, state.refreshTokens]) {
    for (const [key, account] of tokens) {
      if (account !== accountId) continue;
      tokens.delete(key);
      state.revokedKeys.add(key);
    }
  }
  emit(state, {
    type: "account.application.deauthorized",
    object: application(clientId),
    account: accountId,
    requestId: origin.requestId,
    livemode: origin.livemode,
  });
}

export const oauthRoutes: Route[] = [
  route("GET", "/oauth/authorize", (ctx) => authorize(ctx, false), "browser"),
  route("GET", "/express/oauth/authorize", (ctx) => authorize(ctx, true), "browser"),
  route("POST", "/oauth/token", token, "oauth"),
  route("POST", "/oauth/deauthorize", deauthorize, "oauth"),
];
