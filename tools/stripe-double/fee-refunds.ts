// Application fee refunds (`fee_refund`, `fr_...`), on the platform: made by a refund with
// `refund_application_fee=true` (in proportion to the refunded amount) or directly with
// POST /v1/application_fees/:id/refunds. Each emits `application_fee.refunded` (a platform event).
import { apiError } from "./errors.ts";
import { allow, allowList, applyMetadata, int, listReply, reply } from "./params.ts";
import { type Ctx, type Reply, type Route, route } from "./router.ts";
import { find, type Json, mustFind, newId, now, put } from "./state.ts";
import { emitFor } from "./webhooks.ts";

function addFeeRefund(ctx: Ctx, fee: Json, amount: number, metadata: Json = {}): Json {
  const refund: Json = {
    id: newId("fr"),
    object: "fee_refund",
    amount,
    balance_transaction: null,
    created: now(),
    currency: fee.currency,
    fee: fee.id,
    metadata,
  };
  put(ctx.state, "fee_refund", null, refund);
  fee.amount_refunded = Number(fee.amount_refunded) + amount;
  fee.refunded = fee.amount_refunded === fee.amount;
  const list = fee.refunds as { data: Json[]; total_count: number };
  list.data.unshift(refund);
  list.total_count = list.data.length;
  emitFor(ctx, "application_fee.refunded", fee, { account: null });
  return refund;
}

/** Refunds the charge's application fee in proportion to `refunded` of its amount. */
export function refundFee(ctx: Ctx, charge: Json, refunded: number): Json | null {
  if (!charge.application_fee) return null;
  const fee = find(ctx.state, "application_fee", charge.application_fee as string, null)?.obj;
  if (!fee) return null;
  const left = Number(fee.amount) - Number(fee.amount_refunded);
  const amount = Math.min(left, Math.round((Number(fee.amount) * refunded) / Number(charge.amount)));
  return amount > 0 ? addFeeRefund(ctx, fee, amount) : null;
}

function findFee(ctx: Ctx): Json {
  return mustFind(ctx.state, "application_fee", ctx.match[0] ?? "", ctx.scope, "application fee").obj;
}

function create(ctx: Ctx): Reply {
  allow(ctx, ["amount", "metadata"]);
  const fee = findFee(ctx);
  const left = Number(fee.amount) - Number(fee.amount_refunded);
  const amount = int(ctx.params, "amount", "amount", 1) ?? left;
  if (left <= 0)
    throw apiError(400, {
      type: "invalid_request_error",
      message: `Application fee ${String(fee.id)} has already been refunded.`,
    });
  if (amount > left) {
    throw apiError(400, {
      type: "invalid_request_error",
      param: "amount",
      message: `Refund amount (${amount}) is greater than the unrefunded amount on the application fee (${left}).`,
    });
  }
  return reply(ctx, addFeeRefund(ctx, fee, amount, applyMetadata({}, ctx.params)));
}

export const feeRefundRoutes: Route[] = [
  route("POST", "/v1/application_fees/:id/refunds", create),
  route("GET", "/v1/application_fees/:id/refunds", (ctx) => {
    allowList(ctx);
    const fee = findFee(ctx);
    return listReply(
      ctx,
      (fee.refunds as { data: Json[] }).data,
      `/v1/application_fees/${String(fee.id)}/refunds`,
    );
  }),
  route("GET", "/v1/application_fees/:fee/refunds/:id", (ctx) => {
    const refund = mustFind(ctx.state, "fee_refund", ctx.match[1] ?? "", ctx.scope, "fee refund").obj;
    return reply(ctx, refund);
  }),
];
