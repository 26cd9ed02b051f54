// Connect accounts (platform-level objects; a connected account sees only itself).
import { accountInvalid, apiError, invalid, noSuch } from "./errors.ts";
import type { FormObject } from "./form.ts";
import { allow, allowList, applyMetadata, listReply, nullableStr, obj, oneOf, reply, str } from "./params.ts";
import { type Ctx, type Reply, type Route, route } from "./router.ts";
import { all, clone, find, type Json, now, put, randomString, type State } from "./state.ts";
import { diff, emitFor } from "./webhooks.ts";

const REQUIREMENTS = [
  "business_profile.mcc",
  "business_profile.url",
  "business_type",
  "external_account",
  "representative.first_name",
  "representative.last_name",
  "tos_acceptance.date",
  "tos_acceptance.ip",
];
const CURRENCIES: Record<string, string> = {
  US: "usd",
  GB: "gbp",
  CA: "cad",
  AU: "aud",
  JP: "jpy",
  CH: "chf",
};
const EURO = new Set([
  "AT",
  "BE",
  "DE",
  "ES",
  "FI",
  "FR",
  "IE",
  "IT",
  "LU",
  "NL",
  "PT",
  "GR",
  "SK",
  "SI",
  "EE",
]);
const BUSINESS_TYPES = ["individual", "company", "non_profit", "government_entity"] as const;
export const PLATFORM_ACCOUNT = "acct_1DoublePlatformAcct0";

export interface NewAccount {
  type: string;
  country: string;
  email: string | null;
  businessType: string | null;
  metadata: Record<string, string>;
  livemode: boolean;
  onboarded: boolean;
  controller?: FormObject;
}

function requirements(onboarded: boolean): Json {
  return {
    alternatives: [],
    current_deadline: null,
    currently_due: onboarded ? [] : [...REQUIREMENTS],
    disabled_reason: onboarded ? null : "requirements.past_due",
    errors: [],
    eventually_due: onboarded ? [] : [...REQUIREMENTS],
    past_due: [],
    pending_verification: [],
  };
}

/** Sets the fields an onboarded (or not yet onboarded) account has. */
export function setOnboarded(account: Json, onboarded: boolean): void {
  const status = onboarded ? "active" : "inactive";
  account.charges_enabled = onboarded;
  account.payouts_enabled = onboarded;
  account.details_submitted = onboarded;
  account.requirements = requirements(onboarded);
  account.future_requirements = requirements(true);
  account.capabilities = { card_payments: status, transfers: status };
  account.tos_acceptance = onboarded ? { date: now(), ip: "127.0.0.1", user_agent: null } : { date: null };
  if (onboarded && !account.business_type) account.business_type = "individual";
}

function controllerFor(type: string, given: FormObject | undefined): Json {
  const dashboard = type === "standard" ? "full" : type === "express" ? "express" : "none";
  const base: Json = {
    fees: { payer: type === "standard" ? "account" : "application" },
    is_controller: true,
    losses: { payments: type === "standard" ? "stripe" : "application" },
    requirement_collection: type === "custom" ? "application" : "stripe",
    stripe_dashboard: { type: dashboard },
    type: "application",
  };
  for (const [k, v] of Object.entries(given ?? {})) {
    base[k] = typeof v === "object" && !Array.isArray(v) ? { ...(base[k] as Json), ...v } : v;
  }
  return base;
}

export function createAccount(state: State, spec: NewAccount): Json {
  const id = `acct_1${randomString(15)}`;
  const account: Json = {
    id,
    object: "account",
    business_profile: { mcc: null, name: null, product_description: null, support_email: null, url: null },
    business_type: spec.businessType,
    charges_enabled: false,
    controller: controllerFor(spec.type, spec.controller),
    country: spec.country,
    created: now(),
    default_currency: CURRENCIES[spec.country] ?? (EURO.has(spec.country) ? "eur" : "usd"),
    details_submitted: false,
    email: spec.email,
    external_accounts: {
      object: "list",
      data: [],
      has_more: false,
      url: `/v1/accounts/${id}/external_accounts`,
    },
    livemode: spec.livemode,
    metadata: spec.metadata,
    payouts_enabled: false,
    settings: {
      dashboard: { display_name: null, timezone: "Etc/UTC" },
      payouts: { schedule: { interval: "daily" } },
    },
    type: spec.type,
  };
  setOnboarded(account, spec.onboarded);
  put(state, "account", null, account);
  state.accounts.set(id, { connected: true, deleted: false, clientId: null });
  return account;
}

function typeFromController(c: FormObject): string {
  const dash = c.stripe_dashboard;
  const kind = typeof dash === "object" && !Array.isArray(dash) ? dash.type : undefined;
  if (kind === "express") return "express";
  if (kind === "none") return "custom";
  return "standard";
}

/**
 * The account `id` as the request may see it: the platform sees every account still connected to
 * it (one that deauthorized the platform answers 403 `account_invalid`), a connected account only
 * itself.
 */
export function visibleAccount(ctx: Ctx, id: string, param = "id"): Json {
  const stored = find(ctx.state, "account", id, null);
  if (!stored || (ctx.scope !== null && ctx.scope !== id)) throw noSuch("account", id, param);
  if (ctx.state.accounts.get(id)?.connected === false) throw accountInvalid(ctx.apiKey ?? "", id);
  return stored.obj;
}

/** Requirements past due: Stripe disables charges and payouts until the account provides them. */
export function restrict(account: Json): void {
  const due = ["individual.verification.document"];
  account.charges_enabled = false;
  account.payouts_enabled = false;
  account.requirements = {
    ...requirements(true),
    currently_due: [...due],
    eventually_due: [...due],
    past_due: [...due],
    disabled_reason: "requirements.past_due",
  };
  account.capabilities = { card_payments: "inactive", transfers: "inactive" };
}

const UPDATABLE = ["metadata", "email", "business_type", "business_profile", "settings", "default_currency"];
const IGNORED = ["capabilities", "tos_acceptance", "individual", "company", "external_account", "documents"];

function createHandler(ctx: Ctx): Reply {
  allow(ctx, ["type", "controller", "country", ...UPDATABLE, ...IGNORED]);
  const p = ctx.params;
  if (ctx.scope)
    throw apiError(400, {
      type: "invalid_request_error",
      message: "Connected accounts cannot create accounts.",
    });
  const controller = obj(p, "controller");
  const type =
    oneOf(p, "type", ["standard", "express", "custom"]) ??
    (controller ? typeFromController(controller) : "standard");
  const country = (str(p, "country") ?? "US").toUpperCase();
  if (!/^[A-Z]{2}$/.test(country)) throw invalid("country", `Country '${country}' is unknown.`);
  const account = createAccount(ctx.state, {
    type,
    country,
    email: nullableStr(p, "email") ?? null,
    businessType: oneOf(p, "business_type", BUSINESS_TYPES) ?? null,
    metadata: applyMetadata({}, p),
    livemode: ctx.livemode,
    onboarded: false,
    ...(controller ? { controller } : {}),
  });
  const profile = obj(p, "business_profile");
  if (profile) Object.assign(account.business_profile as Json, profile);
  return reply(ctx, account);
}

function updateHandler(ctx: Ctx): Reply {
  allow(ctx, [...UPDATABLE, ...IGNORED]);
  const account = visibleAccount(ctx, ctx.match[0] ?? "");
  const before = clone(account);
  const p = ctx.params;
  account.metadata = applyMetadata(account.metadata as Json, p);
  const email = nullableStr(p, "email");
  if (email !== undefined) account.email = email;
  const businessType = oneOf(p, "business_type", BUSINESS_TYPES);
  if (businessType) account.business_type = businessType;
  const currency = str(p, "default_currency");
  if (currency) account.default_currency = currency.toLowerCase();
  for (const key of ["business_profile", "settings"]) {
    const given = obj(p, key);
    if (given) account[key] = { ...(account[key] as Json), ...given };
  }
  const previous = diff(before, account);
  if (previous) emitFor(ctx, "account.updated", account, { previous, account: account.id as string });
  return reply(ctx, account);
}

function deleteHandler(ctx: Ctx): Reply {
  const id = ctx.match[0] ?? "";
  visibleAccount(ctx, id);
  ctx.state.objects.delete(id);
  const meta = ctx.state.accounts.get(id);
  if (meta) meta.deleted = true;
  return { status: 200, body: { id, object: "account", deleted: true } };
}

function currentAccount(ctx: Ctx): Reply {
  if (ctx.scope) return reply(ctx, visibleAccount(ctx, ctx.scope));
  return reply(ctx, {
    id: PLATFORM_ACCOUNT,
    object: "account",
    business_profile: { name: "Stripe double platform" },
    charges_enabled: true,
    country: "US",
    created: 1700000000,
    default_currency: "usd",
    details_submitted: true,
    email: "platform@example.test",
    livemode: ctx.livemode,
    metadata: {},
    payouts_enabled: true,
    type: "standard",
  });
}

function listAccounts(ctx: Ctx): Reply {
  allowList(ctx);
  const items = ctx.scope
    ? [visibleAccount(ctx, ctx.scope)]
    : all(ctx.state, "account", null).map((s) => s.obj);
  return listReply(ctx, items, "/v1/accounts");
}

export const accountRoutes: Route[] = [
  route("POST", "/v1/accounts", createHandler),
  route("GET", "/v1/accounts", listAccounts),
  route("GET", "/v1/account", currentAccount),
  route("GET", "/v1/accounts/:id", (ctx) => reply(ctx, visibleAccount(ctx, ctx.match[0] ?? ""))),
  route("POST", "/v1/accounts/:id", updateHandler),
  route("DELETE", "/v1/accounts/:id", deleteHandler),
];
