// Billing Portal: configurations (minimal) and sessions. A session's `url` is the double's page that
// lists the customer's subscriptions and lets a browser cancel one (`?cancel=sub_...`, at period end
// unless the configuration says `immediately`) or undo that (`?renew=sub_...`), with a link back to
// `return_url` (`?return=1` redirects there).
import { invalid } from "./errors.ts";
import type { FormObject } from "./form.ts";
import { esc, page, pageCtx, redirect } from "./pages.ts";
import { allow, allowList, applyMetadata, bool, listReply, obj, oneOf, reply, str } from "./params.ts";
import { liveCustomer } from "./payments.ts";
import { type Ctx, type Reply, type Route, route } from "./router.ts";
import { all, clone, find, type Json, mustFind, newId, now, put } from "./state.ts";
import { cancelSubscription } from "./subscription-cancel.ts";
import { enterCustomerTime } from "./test-clocks.ts";
import { diff, emitFor } from "./webhooks.ts";

function features(given: FormObject | undefined, current?: Json): Json {
  const base: Json = current ?? {
    customer_update: { allowed_updates: [], enabled: false },
    invoice_history: { enabled: true },
    payment_method_update: { enabled: true, payment_method_configuration: null },
    subscription_cancel: {
      cancellation_reason: { enabled: false, options: [] },
      enabled: true,
      mode: "at_period_end",
      proration_behavior: "none",
    },
    subscription_update: {
      default_allowed_updates: [],
      enabled: false,
      products: [],
      proration_behavior: "none",
      schedule_at_period_end: { conditions: [] },
      trial_update_behavior: "end_trial",
    },
  };
  for (const [name, value] of Object.entries(given ?? {})) {
    if (typeof value !== "object" || Array.isArray(value)) continue;
    const into = (base[name] ?? {}) as Json;
    for (const [k, v] of Object.entries(value)) into[k] = v === "true" ? true : v === "false" ? false : v;
    base[name] = into;
  }
  const mode = (base.subscription_cancel as Json).mode;
  if (mode !== "at_period_end" && mode !== "immediately")
    throw invalid(
      "features[subscription_cancel][mode]",
      "Invalid features[subscription_cancel][mode]: must be one of at_period_end or immediately",
    );
  return base;
}

function newConfiguration(ctx: Ctx, p: FormObject, isDefault: boolean): Json {
  const t = now();
  const config: Json = {
    id: newId("bpc"),
    object: "billing_portal.configuration",
    active: bool(p, "active") ?? true,
    application: null,
    business_profile: {
      headline: null,
      privacy_policy_url: null,
      terms_of_service_url: null,
      ...(obj(p, "business_profile") ?? {}),
    },
    created: t,
    default_return_url: str(p, "default_return_url") || null,
    features: features(obj(p, "features")),
    is_default: isDefault,
    livemode: ctx.livemode,
    login_page: { enabled: false, url: null },
    metadata: applyMetadata({}, p),
    name: str(p, "name") || null,
    updated: t,
  };
  put(ctx.state, "billing_portal.configuration", ctx.scope, config);
  return config;
}

function defaultConfiguration(ctx: Ctx): Json {
  return (
    all(ctx.state, "billing_portal.configuration", ctx.scope).find((s) => s.obj.is_default === true)?.obj ??
    newConfiguration(ctx, {}, true)
  );
}

const CONFIG_PARAMS = [
  "business_profile",
  "default_return_url",
  "features",
  "metadata",
  "name",
  "login_page",
  "active",
];

function updateConfiguration(ctx: Ctx): Reply {
  allow(ctx, CONFIG_PARAMS);
  const config = mustFind(
    ctx.state,
    "billing_portal.configuration",
    ctx.match[0] ?? "",
    ctx.scope,
    "configuration",
  ).obj;
  const p = ctx.params;
  const active = bool(p, "active");
  if (active !== undefined) config.active = active;
  const returnUrl = str(p, "default_return_url");
  if (returnUrl !== undefined) config.default_return_url = returnUrl || null;
  if (p.features !== undefined)
    config.features = features(obj(p, "features"), clone(config.features as Json));
  const name = str(p, "name");
  if (name !== undefined) config.name = name || null;
  config.metadata = applyMetadata(config.metadata as Json, p);
  config.updated = now();
  return reply(ctx, config);
}

function createSession(ctx: Ctx): Reply {
  allow(ctx, [
    "customer",
    "return_url",
    "configuration",
    "flow_data",
    "locale",
    "on_behalf_of",
    "customer_account",
  ]);
  const p = ctx.params;
  const customer = str(p, "customer");
  if (!customer) throw invalid("customer", "Missing required param: customer.", "parameter_missing");
  liveCustomer(ctx, customer);
  const configId = str(p, "configuration");
  const config = configId
    ? mustFind(
        ctx.state,
        "billing_portal.configuration",
        configId,
        ctx.scope,
        "configuration",
        "configuration",
      ).obj
    : defaultConfiguration(ctx);
  const returnUrl = str(p, "return_url") || (config.default_return_url as string | null);
  if (returnUrl && !URL.canParse(returnUrl)) throw invalid("return_url", "Not a valid URL", "url_invalid");
  const id = newId("bps");
  const session: Json = {
    id,
    object: "billing_portal.session",
    configuration: config.id,
    created: now(),
    customer,
    customer_account: null,
    flow: null,
    livemode: ctx.livemode,
    locale: oneOf(p, "locale", ["auto", "en"]) ?? null,
    on_behalf_of: str(p, "on_behalf_of") || null,
    return_url: returnUrl ?? null,
    url: `${ctx.baseUrl}/billing_portal/session/${id}`,
  };
  put(ctx.state, "billing_portal.session", ctx.scope, session);
  return reply(ctx, session);
}

function act(ctx: Ctx, session: Json, config: Json): string {
  const q = ctx.query;
  const target = typeof q.cancel === "string" ? q.cancel : typeof q.renew === "string" ? q.renew : null;
  if (!target) return "";
  const sub = find(ctx.state, "subscription", target, ctx.scope)?.obj;
  if (!sub || sub.customer !== session.customer || sub.status === "canceled")
    return `<p>No such subscription: ${esc(target)}</p>`;
  enterCustomerTime(ctx, sub.customer);
  const cancel = config.features as { subscription_cancel: Json };
  if (typeof q.cancel === "string") {
    if (cancel.subscription_cancel.enabled !== true)
      return "<p>Canceling is not enabled for this portal.</p>";
    if (cancel.subscription_cancel.mode === "immediately") {
      cancelSubscription(ctx, sub, "cancellation_requested");
      return `<p>${esc(sub.id)} canceled.</p>`;
    }
  }
  const before = clone(sub);
  const atEnd = typeof q.cancel === "string";
  Object.assign(sub, {
    cancel_at_period_end: atEnd,
    cancel_at: atEnd ? sub.current_period_end : null,
    canceled_at: atEnd ? now() : null,
  });
  sub.cancellation_details = {
    ...(sub.cancellation_details as Json),
    reason: atEnd ? "cancellation_requested" : null,
  };
  const previous = diff(before, sub);
  if (previous) emitFor(ctx, "customer.subscription.updated", sub, { previous });
  return `<p>${esc(sub.id)} ${atEnd ? "will be canceled at the end of the period" : "renews again"}.</p>`;
}

function portalPage(ctx: Ctx): Reply {
  const stored = ctx.state.objects.get(ctx.match[0] ?? "");
  if (stored?.kind !== "billing_portal.session") return page(404, "Unknown portal session", "");
  const c = pageCtx(ctx, stored);
  const session = stored.obj;
  const config =
    find(c.state, "billing_portal.configuration", session.configuration as string, c.scope)?.obj ??
    defaultConfiguration(c);
  const back = session.return_url as string | null;
  if (c.query.return === "1" && back) return redirect(back);
  const message = act(c, session, config);
  const subs = all(c.state, "subscription", c.scope)
    .map((s) => s.obj)
    .filter((s) => s.customer === session.customer && s.status !== "canceled");
  const rows = subs
    .map(
      (s) =>
        `<li>${esc(s.id)} (${esc(s.status)})${s.cancel_at_period_end ? ` cancels at period end <a href="?renew=${esc(s.id)}">renew</a>` : ` <a href="?cancel=${esc(s.id)}">cancel</a>`}</li>`,
    )
    .join("");
  const link = back ? `<p><a id="return" href="${esc(back)}">Return</a></p>` : "";
  return page(200, "Billing portal", `${message}<ul>${rows}</ul>${link}`);
}

export const portalRoutes: Route[] = [
  route("POST", "/v1/billing_portal/configurations", (ctx) => {
    allow(ctx, CONFIG_PARAMS);
    return reply(ctx, newConfiguration(ctx, ctx.params, false));
  }),
  route("GET", "/v1/billing_portal/configurations", (ctx) => {
    allowList(ctx, ["active", "is_default"]);
    defaultConfiguration(ctx);
    return listReply(
      ctx,
      all(ctx.state, "billing_portal.configuration", ctx.scope).map((s) => s.obj),
      "/v1/billing_portal/configurations",
    );
  }),
  route("GET", "/v1/billing_portal/configurations/:id", (ctx) =>
    reply(
      ctx,
      mustFind(ctx.state, "billing_portal.configuration", ctx.match[0] ?? "", ctx.scope, "configuration").obj,
    ),
  ),
  route("POST", "/v1/billing_portal/configurations/:id", updateConfiguration),
  route("POST", "/v1/billing_portal/sessions", createSession),
  route("GET", "/billing_portal/session/:id", portalPage, "browser"),
];
