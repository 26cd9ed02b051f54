// Checkout Sessions (`mode=subscription`): create, retrieve, list, line items, expire. The `url` is the
// double's page (checkout-page.ts) that "pays" the session. Open sessions expire at `expires_at`
// (24 h by default), noticed whenever the session is read.

import { lineItems } from "./checkout-lines.ts";
import { checkEntry, discountEntries } from "./discount-objects.ts";
import { apiError, invalid, missing } from "./errors.ts";
import type { FormObject } from "./form.ts";
import {
  allow,
  allowList,
  applyMetadata,
  arr,
  bool,
  int,
  listReply,
  obj,
  oneOf,
  reply,
  str,
} from "./params.ts";
import { liveCustomer } from "./payments.ts";
import { type Ctx, type Reply, type Route, route } from "./router.ts";
import { all, type Json, mustFind, newId, note, now, put } from "./state.ts";
import { feePercent } from "./subscription-items.ts";
import { emitFor } from "./webhooks.ts";

const MODES = ["payment", "setup", "subscription"] as const;

function url(param: string, value: string | undefined): string | null {
  if (!value) return null;
  if (!URL.canParse(value.replace("{CHECKOUT_SESSION_ID}", "x")))
    throw invalid(param, "Not a valid URL", "url_invalid");
  return value;
}

function exclusive(p: FormObject, a: string, b: string): void {
  if (p[a] !== undefined && p[b] !== undefined) {
    throw apiError(400, {
      type: "invalid_request_error",
      message: `You may only specify one of these parameters: ${a}, ${b}.`,
    });
  }
}

function create(ctx: Ctx): Reply {
  allow(ctx, [
    "mode",
    "line_items",
    "customer",
    "customer_email",
    "success_url",
    "cancel_url",
    "return_url",
    "subscription_data",
    "metadata",
    "client_reference_id",
    "allow_promotion_codes",
    "discounts",
    "expires_at",
    "ui_mode",
    "payment_method_types",
    "allowed_payment_method_types",
    "billing_address_collection",
    "customer_update",
    "locale",
    "payment_method_collection",
    "tax_id_collection",
    "automatic_tax",
    "consent_collection",
    "custom_text",
    "phone_number_collection",
    "currency",
    "customer_creation",
    "saved_payment_method_options",
  ]);
  const p = ctx.params;
  const mode = oneOf(p, "mode", MODES);
  if (!mode) throw missing("mode");
  if (mode !== "subscription")
    throw invalid("mode", "The Stripe double implements Checkout Sessions in `subscription` mode only.");
  exclusive(p, "customer", "customer_email");
  exclusive(p, "allow_promotion_codes", "discounts");
  const customer = str(p, "customer") || null;
  if (customer) liveCustomer(ctx, customer);
  const email = str(p, "customer_email") || null;
  const items = lineItems(ctx, p);
  for (const [i, e] of (discountEntries(p) ?? []).entries()) {
    if ("discount" in e)
      throw invalid(`discounts[${i}][discount]`, "Checkout Sessions take coupons and promotion codes.");
    checkEntry(ctx, e, customer, `discounts[${i}]`);
  }
  const data = obj(p, "subscription_data") ?? {};
  if (data.application_fee_percent !== undefined) {
    try {
      feePercent({ ...ctx, params: data });
    } catch (e) {
      const err = (e as { payload?: { error?: Json } }).payload?.error;
      if (err) err.param = "subscription_data[application_fee_percent]";
      throw e;
    }
  }
  // Stripe checks the subscription's metadata (at most 50 keys...) when the session is created.
  applyMetadata({}, data, "metadata");
  const t = now();
  const expiresAt = int(p, "expires_at") ?? t + 86400;
  if (expiresAt < t + 1800 || expiresAt > t + 86400) {
    throw invalid(
      "expires_at",
      "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.",
    );
  }
  const id = newId(ctx.livemode ? "cs_live" : "cs_test", 58);
  const currency = String(items[0]?.currency);
  const trial = data.trial_period_days !== undefined || data.trial_end !== undefined;
  const subtotal = items.reduce(
    (s, li) => s + (trial && (li.price as Json).type === "recurring" ? 0 : Number(li.amount_subtotal)),
    0,
  );
  const discounts = (arr(p, "discounts") ?? []).map((d) => ({
    coupon: str(d as FormObject, "coupon") ?? null,
    promotion_code: str(d as FormObject, "promotion_code") ?? null,
  }));
  const session: Json = {
    id,
    object: "checkout.session",
    adaptive_pricing: null,
    after_expiration: null,
    allow_promotion_codes: bool(p, "allow_promotion_codes") ?? null,
    allowed_payment_method_types: null,
    amount_subtotal: subtotal,
    amount_total: subtotal,
    automatic_tax: { enabled: false, liability: null, provider: null, status: null },
    billing_address_collection: null,
    cancel_url: url("cancel_url", str(p, "cancel_url")),
    client_reference_id: str(p, "client_reference_id") || null,
    client_secret: null,
    collected_information: null,
    consent: null,
    consent_collection: null,
    created: t,
    currency,
    currency_conversion: null,
    custom_fields: [],
    custom_text: {
      after_submit: null,
      shipping_address: null,
      submit: null,
      terms_of_service_acceptance: null,
    },
    customer,
    customer_account: null,
    customer_creation: customer ? null : "always",
    customer_details: email
      ? {
          address: null,
          business_name: null,
          email,
          individual_name: null,
          name: null,
          phone: null,
          tax_exempt: "none",
          tax_ids: null,
        }
      : null,
    customer_email: email,
    discounts,
    expires_at: expiresAt,
    integration_identifier: null,
    invoice: null,
    invoice_creation: null,
    livemode: ctx.livemode,
    locale: null,
    managed_payments: null,
    metadata: applyMetadata({}, p),
    mode,
    origin_context: null,
    payment_intent: null,
    payment_link: null,
    payment_method_collection: "always",
    payment_method_configuration_details: null,
    payment_method_options: { card: { request_three_d_secure: "automatic" } },
    payment_method_types: ["card"],
    payment_status: "unpaid",
    permissions: null,
    recovered_from: null,
    saved_payment_method_options: null,
    setup_intent: null,
    shipping_address_collection: null,
    shipping_cost: null,
    shipping_options: [],
    status: "open",
    submit_type: null,
    subscription: null,
    success_url: url("success_url", str(p, "success_url")),
    total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
    ui_mode: "hosted_page",
    url: `${ctx.baseUrl}/checkout/pay/${id}`,
    wallet_options: null,
  };
  put(ctx.state, "checkout.session", ctx.scope, session);
  Object.assign(note(ctx.state, id), { line_items: items, subscription_data: data });
  return reply(ctx, session);
}

/** Expires an open session whose `expires_at` passed (any read notices it). */
export function expireIfDue(ctx: Ctx, session: Json): void {
  if (session.status === "open" && Number(session.expires_at) <= now()) expireSession(ctx, session);
}

function expireSession(ctx: Ctx, session: Json): void {
  Object.assign(session, { status: "expired", url: null });
  emitFor(ctx, "checkout.session.expired", session);
}

function findSession(ctx: Ctx): Json {
  const session = mustFind(
    ctx.state,
    "checkout.session",
    ctx.match[0] ?? "",
    ctx.scope,
    "checkout.session",
  ).obj;
  expireIfDue(ctx, session);
  return session;
}

function expire(ctx: Ctx): Reply {
  const session = findSession(ctx);
  if (session.status !== "open") {
    throw apiError(400, {
      type: "invalid_request_error",
      message: `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of "${String(session.status)}".`,
    });
  }
  expireSession(ctx, session);
  return reply(ctx, session);
}

function list(ctx: Ctx): Reply {
  allowList(ctx, [
    "customer",
    "status",
    "subscription",
    "payment_intent",
    "payment_link",
    "customer_details",
    "created",
  ]);
  const p = ctx.params;
  const [customer, status, sub] = [str(p, "customer"), str(p, "status"), str(p, "subscription")];
  const sessions = all(ctx.state, "checkout.session", ctx.scope).map((s) => s.obj);
  for (const s of sessions) expireIfDue(ctx, s);
  const items = sessions.filter(
    (o) =>
      (!customer || o.customer === customer) &&
      (!status || o.status === status) &&
      (!sub || o.subscription === sub),
  );
  return listReply(ctx, items, "/v1/checkout/sessions");
}

function lineItemList(ctx: Ctx): Reply {
  allowList(ctx);
  const session = findSession(ctx);
  return listReply(
    ctx,
    (ctx.state.notes.get(session.id as string)?.line_items as Json[] | undefined) ?? [],
    `/v1/checkout/sessions/${String(session.id)}/line_items`,
  );
}

export const checkoutRoutes: Route[] = [
  route("POST", "/v1/checkout/sessions", create),
  route("GET", "/v1/checkout/sessions", list),
  route("GET", "/v1/checkout/sessions/:id", (ctx) => reply(ctx, findSession(ctx))),
  route("GET", "/v1/checkout/sessions/:id/line_items", lineItemList),
  route("POST", "/v1/checkout/sessions/:id/expire", expire),
];
