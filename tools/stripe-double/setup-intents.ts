// SetupIntents: save a card for later. Confirming with a test card succeeds (the card is attached
// to the customer), declines (`requires_payment_method` with `last_setup_error`, and the 402 the
// API answers) or asks for 3D Secure (`requires_action`, completed on the double's /3ds page).
import { HttpError } from "./errors.ts";
import { authenticationAction } from "./pages.ts";
import {
  allow,
  allowList,
  applyMetadata,
  arr,
  bool,
  listReply,
  nullableStr,
  oneOf,
  reply,
  str,
} from "./params.ts";
import { attachPaymentMethod, cardOf, liveCustomer, resolvePaymentMethod } from "./payments.ts";
import { type Ctx, type Reply, type Route, route } from "./router.ts";
import { all, clone, type Json, mustFind, newId, now, put, randomString } from "./state.ts";
import { enterCustomerTime } from "./test-clocks.ts";
import { diff, emitFor } from "./webhooks.ts";

const CANCELABLE = ["requires_payment_method", "requires_confirmation", "requires_action"];
const CONFIRM_PARAMS = [
  "payment_method",
  "return_url",
  "mandate_data",
  "use_stripe_sdk",
  "payment_method_options",
];

function unexpected(si: Json, message: string): HttpError {
  return new HttpError(400, {
    error: {
      type: "invalid_request_error",
      code: "setup_intent_unexpected_state",
      doc_url: "https://docs.stripe.com/error-codes/setup-intent-unexpected-state",
      message,
      setup_intent: clone(si),
    },
  });
}

function create(ctx: Ctx): Reply {
  allow(ctx, [
    "customer",
    "payment_method",
    "allowed_payment_method_types",
    "payment_method_types",
    "automatic_payment_methods",
    "usage",
    "metadata",
    "description",
    "confirm",
    "on_behalf_of",
    "single_use",
    "attach_to_self",
    "flow_directions",
    "payment_method_configuration",
    "excluded_payment_method_types",
    ...CONFIRM_PARAMS,
  ]);
  const p = ctx.params;
  const customer = str(p, "customer") || null;
  if (customer) liveCustomer(ctx, customer);
  const types = (arr(p, "allowed_payment_method_types") ?? arr(p, "payment_method_types"))?.map(String);
  const usage = oneOf(p, "usage", ["on_session", "off_session"]) ?? "off_session";
  const pmParam = str(p, "payment_method");
  const pm = pmParam ? resolvePaymentMethod(ctx, pmParam, "payment_method") : null;
  const id = newId("seti");
  const si: Json = {
    id,
    object: "setup_intent",
    allowed_payment_method_types: types ?? null,
    application: null,
    automatic_payment_methods: types ? null : { allow_redirects: "always", enabled: true },
    cancellation_reason: null,
    client_secret: `${id}_secret_${randomString(24)}`,
    created: now(),
    customer,
    customer_account: null,
    description: nullableStr(p, "description") ?? null,
    excluded_payment_method_types: null,
    flow_directions: null,
    last_setup_error: null,
    latest_attempt: null,
    livemode: ctx.livemode,
    mandate: null,
    metadata: applyMetadata({}, p),
    next_action: null,
    on_behalf_of: str(p, "on_behalf_of") || null,
    payment_method: pm ? pm.id : null,
    payment_method_configuration_details: null,
    payment_method_options: {
      card: { mandate_options: null, network: null, request_three_d_secure: "automatic" },
    },
    payment_method_types: types ?? ["card"],
    single_use_mandate: null,
    status: pm ? "requires_confirmation" : "requires_payment_method",
    usage,
  };
  put(ctx.state, "setup_intent", ctx.scope, si);
  emitFor(ctx, "setup_intent.created", si);
  if (bool(p, "confirm") === true) return confirmIntent(ctx, si);
  return reply(ctx, si);
}

function findIntent(ctx: Ctx): Json {
  const si = mustFind(ctx.state, "setup_intent", ctx.match[0] ?? "", ctx.scope, "setupintent").obj;
  enterCustomerTime(ctx, si.customer);
  return si;
}

/** Runs the card check of a confirmation: success, decline (402) or 3D Secure. */
function confirmIntent(ctx: Ctx, si: Json): Reply {
  const p = ctx.params;
  if (si.status === "succeeded") {
    throw unexpected(
      si,
      "You cannot confirm this SetupIntent because it has already succeeded after being previously confirmed.",
    );
  }
  if (si.status === "canceled") {
    throw unexpected(
      si,
      "You cannot confirm this SetupIntent because it has a status of canceled. Only a SetupIntent with one of the following statuses may be confirmed: requires_payment_method, requires_confirmation, requires_action.",
    );
  }
  const pmParam = str(p, "payment_method");
  const pm = pmParam
    ? resolvePaymentMethod(ctx, pmParam, "payment_method")
    : si.payment_method
      ? mustFind(ctx.state, "payment_method", si.payment_method as string, ctx.scope, "PaymentMethod").obj
      : null;
  if (!pm) {
    throw unexpected(
      si,
      "You cannot confirm this SetupIntent because it's missing a payment method. You can either update the SetupIntent with a payment method and then confirm it again, or confirm it again directly with a payment method.",
    );
  }
  const card = cardOf(ctx, pm.id as string);
  si.last_setup_error = null;
  si.next_action = null;
  if (card?.declines === "attach") {
    const error = {
      type: "card_error",
      code: "card_declined",
      decline_code: card.declineCode ?? "generic_decline",
      doc_url: "https://docs.stripe.com/error-codes/card-declined",
      message: card.message ?? "Your card was declined.",
    };
    Object.assign(si, {
      status: "requires_payment_method",
      payment_method: null,
      last_setup_error: { ...error, payment_method: clone(pm) },
    });
    emitFor(ctx, "setup_intent.setup_failed", si);
    throw new HttpError(402, { error: { ...error, setup_intent: clone(si) } });
  }
  si.payment_method = pm.id;
  if (card?.auth) {
    si.status = "requires_action";
    si.next_action = authenticationAction(ctx, si.id as string, str(p, "return_url") || null);
    emitFor(ctx, "setup_intent.requires_action", si);
    return reply(ctx, si);
  }
  succeed(ctx, si);
  return reply(ctx, si);
}

/** The card is set up: attached to the intent's customer; `setup_intent.succeeded`. */
function succeed(ctx: Ctx, si: Json): void {
  if (si.customer)
    attachPaymentMethod(ctx, si.payment_method as string, si.customer as string, false, "payment_method");
  Object.assign(si, { status: "succeeded", next_action: null, last_setup_error: null });
  emitFor(ctx, "setup_intent.succeeded", si);
}

/** The /3ds page's verdict on a SetupIntent waiting for authentication. */
export function authenticateSetup(ctx: Ctx, si: Json, ok: boolean): void {
  if (si.status !== "requires_action") return;
  if (ok) {
    succeed(ctx, si);
    return;
  }
  const pm = mustFind(
    ctx.state,
    "payment_method",
    si.payment_method as string,
    ctx.scope,
    "PaymentMethod",
  ).obj;
  Object.assign(si, {
    status: "requires_payment_method",
    next_action: null,
    payment_method: null,
    last_setup_error: {
      type: "invalid_request_error",
      code: "setup_intent_authentication_failure",
      doc_url: "https://docs.stripe.com/error-codes/setup-intent-authentication-failure",
      message:
        "We are unable to authenticate your payment method. Please choose a different payment method and try again.",
      payment_method: clone(pm),
    },
  });
  emitFor(ctx, "setup_intent.setup_failed", si);
}

function confirm(ctx: Ctx): Reply {
  allow(ctx, CONFIRM_PARAMS);
  return confirmIntent(ctx, findIntent(ctx));
}

function update(ctx: Ctx): Reply {
  allow(ctx, [
    "customer",
    "payment_method",
    "allowed_payment_method_types",
    "metadata",
    "description",
    "attach_to_self",
    "flow_directions",
    "payment_method_options",
  ]);
  const si = findIntent(ctx);
  if (si.status === "succeeded" || si.status === "canceled") {
    throw unexpected(si, `You cannot update this SetupIntent because it has a status of ${si.status}.`);
  }
  const before = clone(si);
  const p = ctx.params;
  const customer = str(p, "customer");
  if (customer) si.customer = liveCustomer(ctx, customer).id;
  const pmParam = str(p, "payment_method");
  if (pmParam) {
    si.payment_method = resolvePaymentMethod(ctx, pmParam, "payment_method").id;
    si.status = "requires_confirmation";
  }
  const types = arr(p, "allowed_payment_method_types");
  if (types) {
    si.allowed_payment_method_types = types.map(String);
    si.payment_method_types = types.map(String);
  }
  const description = nullableStr(p, "description");
  if (description !== undefined) si.description = description;
  si.metadata = applyMetadata(si.metadata as Json, p);
  if (diff(before, si)) emitFor(ctx, "setup_intent.updated", si);
  return reply(ctx, si);
}

function cancel(ctx: Ctx): Reply {
  allow(ctx, ["cancellation_reason"]);
  const si = findIntent(ctx);
  if (!CANCELABLE.includes(si.status as string)) {
    throw unexpected(
      si,
      `You cannot cancel this SetupIntent because it has a status of ${String(si.status)}. Only a SetupIntent with one of the following statuses may be canceled: ${CANCELABLE.join(", ")}.`,
    );
  }
  const reason = oneOf(ctx.params, "cancellation_reason", [
    "abandoned",
    "duplicate",
    "requested_by_customer",
  ]);
  Object.assign(si, { status: "canceled", cancellation_reason: reason ?? null, next_action: null });
  emitFor(ctx, "setup_intent.canceled", si);
  return reply(ctx, si);
}

function list(ctx: Ctx): Reply {
  allowList(ctx, ["customer", "payment_method", "created", "attach_to_self"]);
  const customer = str(ctx.params, "customer");
  const pm = str(ctx.params, "payment_method");
  const items = all(ctx.state, "setup_intent", ctx.scope)
    .map((s) => s.obj)
    .filter((o) => (!customer || o.customer === customer) && (!pm || o.payment_method === pm));
  return listReply(ctx, items, "/v1/setup_intents");
}

export const setupIntentRoutes: Route[] = [
  route("POST", "/v1/setup_intents", create),
  route("GET", "/v1/setup_intents", list),
  route("GET", "/v1/setup_intents/:id", (ctx) => reply(ctx, findIntent(ctx))),
  route("POST", "/v1/setup_intents/:id", update),
  route("POST", "/v1/setup_intents/:id/confirm", confirm),
  route("POST", "/v1/setup_intents/:id/cancel", cancel),
];
