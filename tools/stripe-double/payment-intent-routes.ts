// PaymentIntent endpoints: create (standalone), retrieve, update, confirm, cancel, list.
import { apiError, HttpError } from "./errors.ts";
import { intentSettled } from "./invoice-collect.ts";
import {
  allow,
  allowList,
  applyMetadata,
  bool,
  int,
  listReply,
  nullableStr,
  oneOf,
  reply,
  reqStr,
  str,
} from "./params.ts";
import { createPaymentIntent, invoiceOfIntent, runPayment } from "./payment-intents.ts";
import { attachPaymentMethod, liveCustomer, resolvePaymentMethod } from "./payments.ts";
import { type Ctx, type Reply, type Route, route } from "./router.ts";
import { all, clone, type Json, mustFind, now } from "./state.ts";
import { enterCustomerTime } from "./test-clocks.ts";
import { emitFor } from "./webhooks.ts";

function unexpected(pi: Json, message: string): HttpError {
  return new HttpError(400, {
    error: {
      type: "invalid_request_error",
      code: "payment_intent_unexpected_state",
      doc_url: "https://docs.stripe.com/error-codes/payment-intent-unexpected-state",
      message,
      payment_intent: clone(pi),
    },
  });
}

const CONFIRMABLE = ["requires_confirmation", "requires_payment_method", "requires_action"];
const CONFIRM_PARAMS = [
  "payment_method",
  "return_url",
  "off_session",
  "setup_future_usage",
  "mandate_data",
  "use_stripe_sdk",
  "error_on_requires_action",
  "payment_method_options",
  "receipt_email",
  "capture_method",
];

function confirmIntent(ctx: Ctx, pi: Json): Reply {
  const p = ctx.params;
  if (pi.status === "succeeded") {
    throw unexpected(
      pi,
      "You cannot confirm this PaymentIntent because it has already succeeded after being previously confirmed.",
    );
  }
  if (!CONFIRMABLE.includes(pi.status as string)) {
    throw unexpected(
      pi,
      `You cannot confirm this PaymentIntent because it has a status of ${String(pi.status)}. Only a PaymentIntent with one of the following statuses may be confirmed: ${CONFIRMABLE.join(", ")}.`,
    );
  }
  const pmParam = str(p, "payment_method");
  let pmId = (pi.payment_method as string | null) ?? null;
  if (pmParam) {
    const saved = pi.customer && (str(p, "setup_future_usage") || pi.setup_future_usage);
    pmId = (
      saved
        ? attachPaymentMethod(ctx, pmParam, pi.customer as string, true, "payment_method")
        : resolvePaymentMethod(ctx, pmParam, "payment_method")
    ).id as string;
  }
  if (!pmId) {
    throw unexpected(
      pi,
      "You cannot confirm this PaymentIntent because it's missing a payment method. You can either update the PaymentIntent with a payment method and then confirm it again, or confirm it again directly with a payment method.",
    );
  }
  const outcome = runPayment(ctx, pi, pmId, {
    offSession: bool(p, "off_session") === true,
    returnUrl: str(p, "return_url") || null,
  });
  intentSettled(ctx, pi, outcome, true);
  if (outcome.status === "failed") {
    const e = pi.last_payment_error as Json;
    throw new HttpError(402, { error: { ...e, payment_intent: clone(pi) } });
  }
  return reply(ctx, pi);
}

function findIntent(ctx: Ctx): Json {
  const pi = mustFind(ctx.state, "payment_intent", ctx.match[0] ?? "", ctx.scope, "payment_intent").obj;
  enterCustomerTime(ctx, pi.customer);
  return pi;
}

function create(ctx: Ctx): Reply {
  allow(ctx, [
    "amount",
    "currency",
    "customer",
    "description",
    "metadata",
    "application_fee_amount",
    "confirm",
    "automatic_payment_methods",
    "allowed_payment_method_types",
    "payment_method_types",
    "statement_descriptor",
    "statement_descriptor_suffix",
    "transfer_group",
    "on_behalf_of",
    ...CONFIRM_PARAMS,
  ]);
  const p = ctx.params;
  const amount = int(p, "amount", "amount", 1);
  if (amount === undefined) reqStr(p, "amount");
  const currency = reqStr(p, "currency").toLowerCase();
  const customer = str(p, "customer") || null;
  if (customer) liveCustomer(ctx, customer);
  const fee = int(p, "application_fee_amount", "application_fee_amount", 0) ?? null;
  if (fee !== null && !ctx.scope) {
    throw apiError(400, {
      type: "invalid_request_error",
      param: "application_fee_amount",
      message:
        "Can only apply an application_fee_amount when the PaymentIntent is attempting a direct payment (using an OAuth key or Stripe-Account header) or destination payment (using `transfer_data[destination]`).",
    });
  }
  const pmParam = str(p, "payment_method");
  const pm = pmParam ? resolvePaymentMethod(ctx, pmParam, "payment_method") : null;
  const pi = createPaymentIntent(ctx, {
    amount: amount ?? 0,
    currency,
    customer,
    description: nullableStr(p, "description") ?? null,
    applicationFeeAmount: fee,
    metadata: applyMetadata({}, p),
    paymentMethod: pm ? (pm.id as string) : null,
  });
  pi.setup_future_usage = oneOf(p, "setup_future_usage", ["on_session", "off_session"]) ?? null;
  if (bool(p, "confirm") === true) return confirmIntent(ctx, pi);
  return reply(ctx, pi);
}

function update(ctx: Ctx): Reply {
  allow(ctx, ["metadata", "description", "payment_method", "receipt_email", "setup_future_usage", "amount"]);
  const pi = findIntent(ctx);
  const p = ctx.params;
  const pmParam = str(p, "payment_method");
  if (pmParam)
    Object.assign(pi, {
      payment_method: resolvePaymentMethod(ctx, pmParam, "payment_method").id,
      status: pi.status === "requires_payment_method" ? "requires_confirmation" : pi.status,
    });
  const description = nullableStr(p, "description");
  if (description !== undefined) pi.description = description;
  pi.metadata = applyMetadata(pi.metadata as Json, p);
  return reply(ctx, pi);
}

function cancel(ctx: Ctx): Reply {
  allow(ctx, ["cancellation_reason"]);
  const pi = findIntent(ctx);
  if (invoiceOfIntent(ctx, pi.id as string)) {
    throw unexpected(
      pi,
      "You cannot cancel this PaymentIntent because it was created by an invoice. Void the invoice instead.",
    );
  }
  const cancelable = [
    "requires_payment_method",
    "requires_capture",
    "requires_confirmation",
    "requires_action",
    "processing",
  ];
  if (!cancelable.includes(pi.status as string)) {
    throw unexpected(
      pi,
      `You cannot cancel this PaymentIntent because it has a status of ${String(pi.status)}. Only a PaymentIntent with one of the following statuses may be canceled: ${cancelable.join(", ")}.`,
    );
  }
  const reason = oneOf(ctx.params, "cancellation_reason", [
    "duplicate",
    "fraudulent",
    "requested_by_customer",
    "abandoned",
  ]);
  Object.assign(pi, {
    status: "canceled",
    canceled_at: now(),
    cancellation_reason: reason ?? null,
    next_action: null,
  });
  emitFor(ctx, "payment_intent.canceled", pi);
  return reply(ctx, pi);
}

function list(ctx: Ctx): Reply {
  allowList(ctx, ["customer", "created"]);
  const customer = str(ctx.params, "customer");
  const items = all(ctx.state, "payment_intent", ctx.scope)
    .map((s) => s.obj)
    .filter((o) => !customer || o.customer === customer);
  return listReply(ctx, items, "/v1/payment_intents");
}

export const paymentIntentRoutes: Route[] = [
  route("POST", "/v1/payment_intents", create),
  route("GET", "/v1/payment_intents", list),
  route("GET", "/v1/payment_intents/:id", (ctx) => reply(ctx, findIntent(ctx))),
  route("POST", "/v1/payment_intents/:id", update),
  route("POST", "/v1/payment_intents/:id/confirm", (ctx) => {
    allow(ctx, CONFIRM_PARAMS);
    return confirmIntent(ctx, findIntent(ctx));
  }),
  route("POST", "/v1/payment_intents/:id/cancel", cancel),
];
