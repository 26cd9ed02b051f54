// Payment methods and Stripe's test cards. `pm_card_*` ids are test tokens: using one makes a new
// `pm_...` object. Declining cards fail when attached (402 card_error) or when charged.
import { apiError, cardDeclined, type HttpError, invalid, noSuch } from "./errors.ts";
import { allow, allowList, applyMetadata, listReply, reply, reqStr, str } from "./params.ts";
import { type Ctx, type Reply, type Route, route } from "./router.ts";
import { all, find, type Json, mustFind, newId, now, put, randomString } from "./state.ts";
import { enterCustomerTime } from "./test-clocks.ts";
import { emitFor } from "./webhooks.ts";

export interface TestCard {
  brand: string;
  last4: string;
  /** When the card declines: never, already when attached (a $0 check), or only when charged. */
  declines: "never" | "attach" | "charge";
  declineCode?: string;
  message?: string;
  /** 3D Secure: on every on-session payment and setup, or only when set up. */
  auth?: "always" | "setup";
  /** Refunds of its charges start `pending` (and can be canceled), or fail later. */
  refund?: "pending" | "fail";
}

const INSUFFICIENT = { declineCode: "insufficient_funds", message: "Your card has insufficient funds." };

export const TEST_CARDS: Record<string, TestCard> = {
  pm_card_visa: { brand: "visa", last4: "4242", declines: "never" },
  pm_card_visa_debit: { brand: "visa", last4: "5556", declines: "never" },
  pm_card_mastercard: { brand: "mastercard", last4: "4444", declines: "never" },
  pm_card_amex: { brand: "amex", last4: "8431", declines: "never" },
  pm_card_chargeDeclined: { brand: "visa", last4: "0002", declines: "attach" },
  pm_card_visa_chargeDeclined: { brand: "visa", last4: "0002", declines: "attach" },
  pm_card_chargeDeclinedInsufficientFunds: {
    brand: "visa",
    last4: "9995",
    declines: "attach",
    ...INSUFFICIENT,
  },
  pm_card_chargeCustomerFail: { brand: "visa", last4: "0341", declines: "charge" },
  pm_card_authenticationRequired: { brand: "visa", last4: "3184", declines: "never", auth: "always" },
  pm_card_threeDSecure2Required: { brand: "visa", last4: "3220", declines: "never", auth: "always" },
  pm_card_authenticationRequiredOnSetup: { brand: "visa", last4: "3155", declines: "never", auth: "setup" },
  pm_card_pendingRefund: { brand: "visa", last4: "7726", declines: "never", refund: "pending" },
  pm_card_refundFail: { brand: "visa", last4: "5126", declines: "never", refund: "fail" },
};

/** The test card behind a payment method (or a test token), if any. */
export function cardOf(ctx: Ctx, pmId: string | null | undefined): TestCard | undefined {
  if (!pmId) return undefined;
  return TEST_CARDS[ctx.state.pmSource.get(pmId) ?? pmId];
}

/** A payment method by id, or a new unattached one made from a test token. */
export function resolvePaymentMethod(ctx: Ctx, idOrToken: string, param: string): Json {
  if (TEST_CARDS[idOrToken]) return materialize(ctx, idOrToken, null);
  return mustFind(ctx.state, "payment_method", idOrToken, ctx.scope, "PaymentMethod", param).obj;
}

/** The customer `id` if it exists and is not deleted, else 404 `No such customer`. */
export function liveCustomer(ctx: Ctx, id: string, param = "customer"): Json {
  const stored = find(ctx.state, "customer", id, ctx.scope);
  if (!stored || stored.obj.deleted === true) throw noSuch("customer", id, param);
  enterCustomerTime(ctx, id);
  return stored.obj;
}

function materialize(ctx: Ctx, token: string, customer: string | null): Json {
  const card = TEST_CARDS[token];
  if (!card) throw noSuch("PaymentMethod", token, "payment_method");
  const pm: Json = {
    id: newId("pm"),
    object: "payment_method",
    allow_redisplay: "unspecified",
    billing_details: { address: null, email: null, name: null, phone: null },
    card: {
      brand: card.brand,
      checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: "pass" },
      country: "US",
      display_brand: card.brand,
      exp_month: 12,
      exp_year: new Date().getUTCFullYear() + 3,
      fingerprint: randomString(16),
      funding: token.includes("debit") ? "debit" : "credit",
      last4: card.last4,
    },
    created: now(),
    customer,
    livemode: ctx.livemode,
    metadata: {},
    type: "card",
  };
  put(ctx.state, "payment_method", ctx.scope, pm);
  ctx.state.pmSource.set(pm.id as string, token);
  return pm;
}

export function declineError(card: TestCard): HttpError {
  return cardDeclined(card.declineCode ?? "generic_decline", card.message ?? "Your card was declined.");
}

/**
 * The payment method `idOrToken` attached to `customer` (a test token is turned into one).
 * `check` runs the attach-time check, so `pm_card_chargeDeclined` answers 402 here.
 */
export function attachPaymentMethod(
  ctx: Ctx,
  idOrToken: string,
  customer: string,
  check: boolean,
  param: string,
): Json {
  if (TEST_CARDS[idOrToken]) {
    const card = TEST_CARDS[idOrToken];
    if (check && card?.declines === "attach") throw declineError(card);
    const pm = materialize(ctx, idOrToken, customer);
    emitFor(ctx, "payment_method.attached", pm);
    return pm;
  }
  const pm = mustFind(ctx.state, "payment_method", idOrToken, ctx.scope, "PaymentMethod", param).obj;
  if (pm.customer === customer) return pm;
  if (pm.customer !== null) {
    throw invalid(param, "The payment method you provided has already been attached to a customer.");
  }
  pm.customer = customer;
  emitFor(ctx, "payment_method.attached", pm);
  return pm;
}

/** A payment method the customer already has (or a test token, made into one for it). */
export function customerPaymentMethod(ctx: Ctx, idOrToken: string, customer: string, param: string): Json {
  if (TEST_CARDS[idOrToken]) return attachPaymentMethod(ctx, idOrToken, customer, false, param);
  const pm = find(ctx.state, "payment_method", idOrToken, ctx.scope)?.obj;
  if (!pm || pm.customer !== customer) {
    throw invalid(
      param,
      `The customer does not have a payment method with the ID ${idOrToken}. The payment method must be attached to the customer.`,
      "resource_missing",
    );
  }
  return pm;
}

/** The decline a charge to this payment method gets, or null when it succeeds (or there is none). */
export function chargeDecline(ctx: Ctx, pmId: string | null): HttpError | null {
  if (!pmId) return null;
  const card = TEST_CARDS[ctx.state.pmSource.get(pmId) ?? pmId];
  return card && card.declines !== "never" ? declineError(card) : null;
}

function attach(ctx: Ctx): Reply {
  allow(ctx, ["customer"]);
  const customer = reqStr(ctx.params, "customer");
  liveCustomer(ctx, customer);
  return reply(ctx, attachPaymentMethod(ctx, ctx.match[0] ?? "", customer, true, "payment_method"));
}

function detach(ctx: Ctx): Reply {
  const pm = mustFind(ctx.state, "payment_method", ctx.match[0] ?? "", ctx.scope, "PaymentMethod").obj;
  if (pm.customer === null) {
    throw apiError(400, {
      type: "invalid_request_error",
      message: "The payment method you provided is not attached to a customer so detachment is impossible.",
    });
  }
  const customer = find(ctx.state, "customer", pm.customer as string, ctx.scope)?.obj;
  const settings = customer?.invoice_settings as Json | undefined;
  if (settings && settings.default_payment_method === pm.id) settings.default_payment_method = null;
  pm.customer = null;
  emitFor(ctx, "payment_method.detached", pm);
  return reply(ctx, pm);
}

function retrieve(ctx: Ctx): Reply {
  const id = ctx.match[0] ?? "";
  if (TEST_CARDS[id]) return reply(ctx, materialize(ctx, id, null));
  return reply(ctx, mustFind(ctx.state, "payment_method", id, ctx.scope, "PaymentMethod").obj);
}

function update(ctx: Ctx): Reply {
  allow(ctx, ["metadata", "billing_details", "card", "allow_redisplay"]);
  const pm = mustFind(ctx.state, "payment_method", ctx.match[0] ?? "", ctx.scope, "PaymentMethod").obj;
  pm.metadata = applyMetadata(pm.metadata as Json, ctx.params);
  emitFor(ctx, "payment_method.updated", pm);
  return reply(ctx, pm);
}

function list(ctx: Ctx, customerId: string | undefined): Reply {
  allowList(ctx, ["customer", "type"]);
  if (customerId) liveCustomer(ctx, customerId);
  const type = str(ctx.params, "type");
  const items = all(ctx.state, "payment_method", ctx.scope)
    .map((s) => s.obj)
    .filter((o) => (!customerId || o.customer === customerId) && (!type || o.type === type));
  return listReply(
    ctx,
    items,
    customerId ? `/v1/customers/${customerId}/payment_methods` : "/v1/payment_methods",
  );
}

export const paymentRoutes: Route[] = [
  route("POST", "/v1/payment_methods/:id/attach", attach),
  route("POST", "/v1/payment_methods/:id/detach", detach),
  route("GET", "/v1/payment_methods/:id", retrieve),
  route("POST", "/v1/payment_methods/:id", update),
  route("GET", "/v1/payment_methods", (ctx) => list(ctx, str(ctx.params, "customer"))),
  route("GET", "/v1/customers/:id/payment_methods", (ctx) => list(ctx, ctx.match[0])),
];
