// Refunds of charges (by `charge` or `payment_intent`), whole or partial. The charge's
// `amount_refunded`/`refunded` follow; `refund_application_fee=true` refunds the application fee in
// proportion (fee-refunds.ts). Card refunds succeed at once, except with `pm_card_pendingRefund`
// (`pending`, cancelable, settled by `/__double/refunds/:id/settle`) and `pm_card_refundFail`
// (fails when settled).
import { apiError, HttpError, invalid } from "./errors.ts";
import { refundFee } from "./fee-refunds.ts";
import { money } from "./format.ts";
import { allow, allowList, applyMetadata, bool, int, listReply, oneOf, reply, str } from "./params.ts";
import { cardOf } from "./payments.ts";
import { type Ctx, type Reply, type Route, route } from "./router.ts";
import { all, clone, find, type Json, mustFind, newId, now, put, randomString } from "./state.ts";
import { diff, emitFor } from "./webhooks.ts";

function chargeToRefund(ctx: Ctx): Json {
  const p = ctx.params;
  const chargeId = str(p, "charge");
  const piId = str(p, "payment_intent");
  if (!chargeId && !piId) {
    throw apiError(400, {
      type: "invalid_request_error",
      code: "parameter_missing",
      param: "charge",
      message: "One of `charge` or `payment_intent` is required.",
    });
  }
  if (chargeId) {
    const charge = mustFind(ctx.state, "charge", chargeId, ctx.scope, "charge", "charge").obj;
    if (piId && charge.payment_intent !== piId)
      throw invalid("payment_intent", `The charge ${chargeId} does not belong to the PaymentIntent ${piId}.`);
    return charge;
  }
  const pi = mustFind(
    ctx.state,
    "payment_intent",
    piId ?? "",
    ctx.scope,
    "payment_intent",
    "payment_intent",
  ).obj;
  const charge =
    pi.status === "succeeded" && pi.latest_charge
      ? find(ctx.state, "charge", pi.latest_charge as string, ctx.scope)?.obj
      : undefined;
  if (!charge)
    throw invalid(
      "payment_intent",
      `This PaymentIntent (${piId}) does not have a successful charge to refund.`,
    );
  return charge;
}

function setRefunded(charge: Json, delta: number): void {
  charge.amount_refunded = Number(charge.amount_refunded) + delta;
  charge.refunded = charge.amount_refunded === charge.amount;
}

function create(ctx: Ctx): Reply {
  allow(ctx, [
    "charge",
    "payment_intent",
    "amount",
    "reason",
    "refund_application_fee",
    "reverse_transfer",
    "metadata",
    "instructions_email",
    "origin",
    "currency",
    "customer",
  ]);
  const p = ctx.params;
  const charge = chargeToRefund(ctx);
  if (charge.status !== "succeeded")
    throw invalid("charge", `Charge ${String(charge.id)} has not succeeded and cannot be refunded.`);
  const left = Number(charge.amount) - Number(charge.amount_refunded);
  const amount = int(p, "amount", "amount", 1) ?? left;
  if (left <= 0) {
    throw apiError(400, {
      type: "invalid_request_error",
      code: "charge_already_refunded",
      message: `Charge ${String(charge.id)} has already been refunded.`,
    });
  }
  if (amount > left) {
    throw apiError(400, {
      type: "invalid_request_error",
      code: "amount_too_large",
      param: "amount",
      message: `Refund amount (${money(amount, charge.currency)}) is greater than unrefunded amount on charge (${money(left, charge.currency)})`,
    });
  }
  const reason = oneOf(p, "reason", ["duplicate", "fraudulent", "requested_by_customer"]) ?? null;
  const card = cardOf(ctx, charge.payment_method as string | null);
  const pending = card?.refund === "pending";
  const refund: Json = {
    id: newId("re"),
    object: "refund",
    amount,
    balance_transaction: null,
    charge: charge.id,
    created: now(),
    currency: charge.currency,
    destination_details: {
      card: {
        reference: randomString(16),
        reference_status: pending ? "pending" : "available",
        reference_type: "acquirer_reference_number",
        type: "refund",
      },
      type: "card",
    },
    metadata: applyMetadata({}, p),
    payment_intent: charge.payment_intent ?? null,
    reason,
    receipt_number: null,
    source_transfer_reversal: null,
    status: pending ? "pending" : "succeeded",
    transfer_reversal: null,
  };
  if (pending) refund.pending_reason = "processing";
  put(ctx.state, "refund", ctx.scope, refund);
  setRefunded(charge, amount);
  emitFor(ctx, "refund.created", refund);
  emitFor(ctx, "charge.refunded", charge);
  if (bool(p, "refund_application_fee") === true) refundFee(ctx, charge, amount);
  return reply(ctx, refund);
}

function findRefund(ctx: Ctx): Json {
  return mustFind(ctx.state, "refund", ctx.match[0] ?? "", ctx.scope, "refund").obj;
}

function changeStatus(ctx: Ctx, refund: Json, status: string, extra: Json = {}): void {
  const before = clone(refund);
  const charge = find(ctx.state, "charge", refund.charge as string, ctx.scope)?.obj;
  if (charge && (status === "canceled" || status === "failed")) setRefunded(charge, -Number(refund.amount));
  Object.assign(refund, { status }, extra);
  delete refund.pending_reason;
  const previous = diff(before, refund);
  emitFor(ctx, "refund.updated", refund, { previous });
  if (status === "failed") emitFor(ctx, "refund.failed", refund);
}

function cancel(ctx: Ctx): Reply {
  allow(ctx, []);
  const refund = findRefund(ctx);
  if (refund.status !== "pending" && refund.status !== "requires_action") {
    throw apiError(400, {
      type: "invalid_request_error",
      message: `Only refunds with a status of \`pending\` or \`requires_action\` can be canceled. This refund has a status of \`${String(refund.status)}\`.`,
    });
  }
  changeStatus(ctx, refund, "canceled");
  return reply(ctx, refund);
}

function update(ctx: Ctx): Reply {
  allow(ctx, ["metadata"]);
  const refund = findRefund(ctx);
  const before = clone(refund);
  refund.metadata = applyMetadata(refund.metadata as Json, ctx.params);
  const previous = diff(before, refund);
  if (previous) emitFor(ctx, "refund.updated", refund, { previous });
  return reply(ctx, refund);
}

function list(ctx: Ctx): Reply {
  allowList(ctx, ["charge", "payment_intent", "created"]);
  const charge = str(ctx.params, "charge");
  const pi = str(ctx.params, "payment_intent");
  const items = all(ctx.state, "refund", ctx.scope)
    .map((s) => s.obj)
    .filter((o) => (!charge || o.charge === charge) && (!pi || o.payment_intent === pi));
  return listReply(ctx, items, "/v1/refunds");
}

/** Control: a pending (or, for `pm_card_refundFail`, succeeded) refund reaches its final status. */
function settle(ctx: Ctx): Reply {
  const stored = ctx.state.objects.get(ctx.match[0] ?? "");
  if (stored?.kind !== "refund")
    throw new HttpError(400, { error: { type: "invalid_request_error", message: "No such refund" } });
  const scoped: Ctx = {
    ...ctx,
    scope: stored.account,
    livemode: stored.obj.livemode === true,
    requestId: "",
  };
  const refund = stored.obj;
  const charge = find(scoped.state, "charge", refund.charge as string, scoped.scope)?.obj;
  const fails = cardOf(scoped, (charge?.payment_method as string | null) ?? null)?.refund === "fail";
  const body = ctx.rawBody.trim() ? (JSON.parse(ctx.rawBody) as Json) : {};
  const status =
    body.status === "failed" || body.status === "succeeded" ? body.status : fails ? "failed" : "succeeded";
  if (status === refund.status) return { status: 200, body: refund };
  if (status === "failed")
    changeStatus(scoped, refund, "failed", { failure_reason: "expired_or_canceled_card" });
  else changeStatus(scoped, refund, "succeeded");
  return { status: 200, body: refund };
}

export const refundRoutes: Route[] = [
  route("POST", "/v1/refunds", create),
  route("GET", "/v1/refunds", list),
  route("GET", "/v1/refunds/:id", (ctx) => reply(ctx, findRefund(ctx))),
  route("POST", "/v1/refunds/:id", update),
  route("POST", "/v1/refunds/:id/cancel", cancel),
  route("POST", "/__double/refunds/:id/settle", settle, "control"),
];
