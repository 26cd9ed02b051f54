// Charges: one per payment attempt of a PaymentIntent (succeeded or failed). `amount_refunded` and
// `refunded` follow the refunds; a succeeded charge with an application fee links to it.
import { allowList, listReply, reply, str } from "./params.ts";
import { cardOf } from "./payments.ts";
import { type Ctx, type Reply, type Route, route } from "./router.ts";
import { all, find, type Json, mustFind, newId, now, put } from "./state.ts";
import { emitFor } from "./webhooks.ts";

export interface Decline {
  code: string;
  declineCode: string;
  message: string;
}

function cardDetails(ctx: Ctx, pmId: string | null): Json | null {
  if (!pmId) return null;
  const pm = find(ctx.state, "payment_method", pmId, ctx.scope)?.obj;
  const card = (pm?.card as Json | undefined) ?? null;
  if (!card) return null;
  return {
    card: {
      amount_authorized: null,
      brand: card.brand,
      checks: card.checks,
      country: card.country,
      exp_month: card.exp_month,
      exp_year: card.exp_year,
      fingerprint: card.fingerprint,
      funding: card.funding,
      last4: card.last4,
      network: card.brand,
      three_d_secure: cardOf(ctx, pmId)?.auth ? { result: "authenticated", version: "2.2.0" } : null,
    },
    type: "card",
  };
}

/** A charge of `pi` with payment method `pmId`: succeeded, or failed with `decline`. */
export function createCharge(ctx: Ctx, pi: Json, pmId: string | null, decline: Decline | null): Json {
  const ok = decline === null;
  const amount = Number(pi.amount);
  const id = newId("ch");
  const charge: Json = {
    id,
    object: "charge",
    amount,
    amount_captured: ok ? amount : 0,
    amount_refunded: 0,
    application: null,
    application_fee: null,
    application_fee_amount: pi.application_fee_amount ?? null,
    balance_transaction: null,
    billing_details: { address: null, email: null, name: null, phone: null, tax_id: null },
    calculated_statement_descriptor: "STRIPE DOUBLE",
    captured: ok,
    created: now(),
    currency: pi.currency,
    customer: pi.customer ?? null,
    description: pi.description ?? null,
    disputed: false,
    failure_balance_transaction: null,
    failure_code: ok ? null : decline.code,
    failure_message: ok ? null : decline.message,
    fraud_details: {},
    livemode: ctx.livemode,
    metadata: { ...(pi.metadata as Json) },
    on_behalf_of: null,
    outcome: {
      advice_code: null,
      network_advice_code: null,
      network_decline_code: null,
      network_status: ok ? "approved_by_network" : "declined_by_network",
      reason: ok ? null : decline.declineCode,
      risk_level: "normal",
      risk_score: 20,
      seller_message: ok
        ? "Payment complete."
        : "The bank did not return any further details with this decline.",
      type: ok ? "authorized" : "issuer_declined",
    },
    paid: ok,
    payment_intent: pi.id,
    payment_method: pmId,
    payment_method_details: cardDetails(ctx, pmId),
    receipt_email: null,
    receipt_number: null,
    receipt_url: `${ctx.baseUrl}/receipts/${id}`,
    refunded: false,
    review: null,
    shipping: null,
    source: null,
    source_transfer: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: ok ? "succeeded" : "failed",
    transfer_data: null,
    transfer_group: null,
  };
  put(ctx.state, "charge", ctx.scope, charge);
  emitFor(ctx, ok ? "charge.succeeded" : "charge.failed", charge);
  return charge;
}

function list(ctx: Ctx): Reply {
  allowList(ctx, ["customer", "payment_intent", "created", "transfer_group"]);
  const customer = str(ctx.params, "customer");
  const pi = str(ctx.params, "payment_intent");
  const items = all(ctx.state, "charge", ctx.scope)
    .map((s) => s.obj)
    .filter((o) => (!customer || o.customer === customer) && (!pi || o.payment_intent === pi));
  return listReply(ctx, items, "/v1/charges");
}

export const chargeRoutes: Route[] = [
  route("GET", "/v1/charges", list),
  route("GET", "/v1/charges/:id", (ctx) =>
    reply(ctx, mustFind(ctx.state, "charge", ctx.match[0] ?? "", ctx.scope).obj),
  ),
];
