// Application fees: a charge on a connected account that carries `application_fee_amount` makes an
// `application_fee` (`fee_...`) on the platform, announced by `application_fee.created` (a platform
// event). Fee refunds (`fee_refund`, `fr_...`) live in refunds-fees.ts.
import { allowList, listReply, reply, str } from "./params.ts";
import { type Ctx, type Reply, type Route, route } from "./router.ts";
import { all, type Json, mustFind, newId, now, put } from "./state.ts";
import { emitFor } from "./webhooks.ts";

/** The platform's Connect application, as charges and fees name it. */
export const APPLICATION_ID = "ca_StripeDoubleApplication0";

/** Creates the fee of a succeeded charge on the request's connected account (none on the platform). */
export function createApplicationFee(ctx: Ctx, charge: Json): Json | null {
  const amount = Number(charge.application_fee_amount ?? 0);
  if (!ctx.scope || amount <= 0) return null;
  const id = newId("fee");
  const fee: Json = {
    id,
    object: "application_fee",
    account: ctx.scope,
    amount,
    amount_refunded: 0,
    application: APPLICATION_ID,
    balance_transaction: null,
    charge: charge.id,
    created: now(),
    currency: charge.currency,
    fee_source: { charge: charge.id, type: "charge" },
    livemode: ctx.livemode,
    originating_transaction: null,
    refunded: false,
    refunds: {
      object: "list",
      data: [],
      has_more: false,
      total_count: 0,
      url: `/v1/application_fees/${id}/refunds`,
    },
  };
  put(ctx.state, "application_fee", null, fee);
  Object.assign(charge, { application: APPLICATION_ID, application_fee: id });
  emitFor(ctx, "application_fee.created", fee, { account: null });
  return fee;
}

function list(ctx: Ctx): Reply {
  allowList(ctx, ["charge", "created"]);
  const charge = str(ctx.params, "charge");
  const items = all(ctx.state, "application_fee", ctx.scope)
    .map((s) => s.obj)
    .filter((o) => !charge || o.charge === charge);
  return listReply(ctx, items, "/v1/application_fees");
}

export const applicationFeeRoutes: Route[] = [
  route("GET", "/v1/application_fees", list),
  route("GET", "/v1/application_fees/:id", (ctx) =>
    reply(ctx, mustFind(ctx.state, "application_fee", ctx.match[0] ?? "", ctx.scope, "application fee").obj),
  ),
];
