// Self-check scenarios of Connect: accounts, account links and the legacy OAuth flow.
import Stripe from "stripe";
import { check, expectError, type Kit, step } from "./selfcheck-kit.ts";

export async function connectScenario(kit: Kit): Promise<Stripe.Account> {
  const { stripe, double } = kit;
  step("accounts");
  const account = await stripe.accounts.create({
    controller: {
      stripe_dashboard: { type: "express" },
      fees: { payer: "application" },
      losses: { payments: "application" },
    },
    email: "owner@example.test",
    metadata: { tenant_id: "t_1" },
  });
  check(/^acct_\w+$/.test(account.id), `account id ${account.id}`);
  check(
    account.charges_enabled === false && account.details_submitted === false,
    "new account not onboarded",
  );
  check(account.requirements?.currently_due?.includes("external_account"), "requirements.currently_due");
  check(account.metadata?.tenant_id === "t_1" && account.type === "express", "metadata/type");
  check(account.lastResponse.requestId?.startsWith("req_"), "Request-Id header");
  const updated = await stripe.accounts.update(account.id, { metadata: { note: "x" } });
  check(updated.metadata?.tenant_id === "t_1" && updated.metadata?.note === "x", "metadata merge");

  step("account links");
  const link = await stripe.accountLinks.create({
    account: account.id,
    type: "account_onboarding",
    return_url: "http://localhost:8787/return?state=abc",
    refresh_url: "http://localhost:8787/refresh",
  });
  check(link.object === "account_link" && link.expires_at === link.created + 300, "link shape");
  check(link.url.startsWith(`${double.url}/connect/onboarding/${account.id}?link=`), `link url ${link.url}`);
  const visit = await fetch(link.url, { redirect: "manual" });
  check(visit.status === 302, `onboarding answered ${visit.status}`);
  check(visit.headers.get("location") === "http://localhost:8787/return?state=abc", "redirect to return_url");
  const again = await fetch(link.url, { redirect: "manual" });
  check(again.headers.get("location") === "http://localhost:8787/refresh", "a used link goes to refresh_url");
  const onboarded = await stripe.accounts.retrieve(account.id);
  check(onboarded.charges_enabled && onboarded.payouts_enabled && onboarded.details_submitted, "onboarded");
  check(onboarded.requirements?.currently_due?.length === 0, "requirements cleared");
  await expectError(
    () =>
      stripe.accountLinks.create({
        account: account.id,
        type: "account_onboarding",
      } as Stripe.AccountLinkCreateParams),
    Stripe.errors.StripeInvalidRequestError,
    "missing return_url",
  ).then((e) => check(e.code === "parameter_missing" && e.param === "return_url", `param ${e.param}`));

  const restrict = await fetch(`${double.url}/__double/accounts/${account.id}/restrict`, { method: "POST" });
  check(restrict.status === 200, `restrict answered ${restrict.status}`);
  const restricted = await stripe.accounts.retrieve(account.id);
  check(
    !restricted.charges_enabled &&
      restricted.details_submitted &&
      restricted.requirements?.disabled_reason === "requirements.past_due",
    "restricted",
  );
  await fetch(`${double.url}/__double/accounts/${account.id}/onboard`, { method: "POST" });
  check((await stripe.accounts.retrieve(account.id)).charges_enabled, "onboarded again");

  return onboarded;
}

export async function oauthScenario(kit: Kit): Promise<void> {
  const { stripe, double, config } = kit;
  step("oauth");
  const authorizeUrl = `${double.url}/oauth/authorize?response_type=code&client_id=ca_x&scope=read_write&state=st_1&redirect_uri=${encodeURIComponent("http://localhost:8787/cb")}`;
  const authorize = await fetch(authorizeUrl, { redirect: "manual" });
  check(authorize.status === 302, `authorize answered ${authorize.status}`);
  const back = new URL(authorize.headers.get("location") ?? "");
  const code = back.searchParams.get("code") ?? "";
  check(
    back.origin + back.pathname === "http://localhost:8787/cb" &&
      /^ac_/.test(code) &&
      back.searchParams.get("state") === "st_1",
    "redirect",
  );
  const token = await stripe.oauth.token({ grant_type: "authorization_code", code });
  check(
    /^acct_/.test(token.stripe_user_id ?? "") &&
      token.access_token?.startsWith("sk_test_") &&
      token.scope === "read_write",
    "token",
  );
  check(
    token.token_type === "bearer" &&
      token.livemode === false &&
      token.stripe_publishable_key?.startsWith("pk_test_"),
    "token fields",
  );
  await expectError(
    () => stripe.oauth.token({ grant_type: "authorization_code", code }),
    Stripe.errors.StripeInvalidGrantError,
    "reused code",
  );
  const connected = await stripe.accounts.retrieve(token.stripe_user_id ?? "");
  check(connected.charges_enabled === true, "OAuth account is onboarded");
  const asAccount = new Stripe(token.access_token ?? "", config);
  const own = await asAccount.products.create({ name: "Own" });
  await stripe.products.retrieve(own.id, {}, { stripeAccount: token.stripe_user_id });
  const deauth = await stripe.oauth.deauthorize({
    client_id: "ca_x",
    stripe_user_id: token.stripe_user_id ?? "",
  });
  check(deauth.stripe_user_id === token.stripe_user_id, "deauthorize");
  await expectError(
    () => stripe.oauth.deauthorize({ client_id: "ca_x", stripe_user_id: token.stripe_user_id ?? "" }),
    Stripe.errors.StripeInvalidClientError,
    "deauthorize twice",
  );
  await expectError(
    () => asAccount.products.list(),
    Stripe.errors.StripeAuthenticationError,
    "revoked access token",
  );
  const gone = await expectError(
    () => stripe.accounts.retrieve(token.stripe_user_id ?? ""),
    Stripe.errors.StripePermissionError,
    "a deauthorized account is out of the platform's reach",
  );
  check(gone.code === "account_invalid" && gone.statusCode === 403, `deauthorized account: ${gone.code}`);
  const reconnect = await fetch(`${authorizeUrl}&account=${token.stripe_user_id}`, { redirect: "manual" });
  check(reconnect.status === 302, `reconnect answered ${reconnect.status}`);
  const reconnected = await stripe.accounts.retrieve(token.stripe_user_id ?? "");
  check(reconnected.charges_enabled === true, "a reconnected account is readable again");
  const denied = await fetch(`${authorizeUrl}&deny=1`, { redirect: "manual" });
  const deniedTo = new URL(denied.headers.get("location") ?? "");
  check(
    deniedTo.searchParams.get("error") === "access_denied" && deniedTo.searchParams.get("state") === "st_1",
    "deny",
  );
  check(
    denied.headers.get("location")?.includes("error_description=The+user+denied+your+request"),
    "deny description",
  );
}
