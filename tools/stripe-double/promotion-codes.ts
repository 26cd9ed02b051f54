// Promotion codes (`promo_...`): a customer-facing `code` for a coupon (`promotion: {type: "coupon",
// coupon}`), with `active`, `expires_at`, `max_redemptions`, a `customer` restriction and
// `restrictions` (`first_time_transaction`, `minimum_amount`). Update takes `active`, `metadata`.

import { findCoupon } from "./coupons.ts";
import { apiError, invalid, missing } from "./errors.ts";
import {
  allow,
  allowList,
  applyMetadata,
  bool,
  int,
  listReply,
  obj,
  oneOf,
  reply,
  reqStr,
  str,
} from "./params.ts";
import { liveCustomer } from "./payments.ts";
import { type Ctx, type Reply, type Route, route } from "./router.ts";
import { all, clone, type Json, mustFind, newId, now, put, randomString } from "./state.ts";
import { diff, emitFor } from "./webhooks.ts";

function create(ctx: Ctx): Reply {
  allow(ctx, [
    "promotion",
    "code",
    "customer",
    "customer_account",
    "expires_at",
    "max_redemptions",
    "active",
    "metadata",
    "restrictions",
  ]);
  const p = ctx.params;
  const promotion = obj(p, "promotion");
  if (!promotion) throw invalid("promotion", "Missing required param: promotion.", "parameter_missing");
  if (!oneOf(promotion, "type", ["coupon"], "promotion[type]")) throw missing("promotion[type]");
  const coupon = findCoupon(ctx, reqStr(promotion, "coupon", "promotion[coupon]"), "promotion[coupon]");
  const code = str(p, "code") || randomString(8).toUpperCase();
  if (!/^[A-Za-z0-9_-]{1,500}$/.test(code))
    throw invalid("code", "The code can only contain alphanumeric characters, dashes and underscores.");
  const taken = all(ctx.state, "promotion_code", ctx.scope).some(
    (s) => s.obj.active === true && String(s.obj.code).toLowerCase() === code.toLowerCase(),
  );
  if (taken)
    throw apiError(400, {
      type: "invalid_request_error",
      code: "resource_already_exists",
      param: "code",
      message: `An active promotion code with \`code: ${code}\` already exists.`,
    });
  const customer = str(p, "customer") || null;
  if (customer) liveCustomer(ctx, customer);
  const expires = int(p, "expires_at");
  if (expires !== undefined && expires <= now())
    throw invalid("expires_at", "expires_at must be in the future.");
  const restrictions = obj(p, "restrictions") ?? {};
  const minimum = int(restrictions, "minimum_amount", "restrictions[minimum_amount]", 0) ?? null;
  const promo: Json = {
    id: newId("promo"),
    object: "promotion_code",
    active: bool(p, "active") ?? true,
    code,
    created: now(),
    customer,
    customer_account: null,
    expires_at: expires ?? null,
    livemode: ctx.livemode,
    max_redemptions: int(p, "max_redemptions", "max_redemptions", 1) ?? null,
    metadata: applyMetadata({}, p),
    promotion: { coupon: coupon.id, type: "coupon" },
    restrictions: {
      currency_options: {},
      first_time_transaction:
        bool(restrictions, "first_time_transaction", "restrictions[first_time_transaction]") ?? false,
      minimum_amount: minimum,
      minimum_amount_currency:
        minimum === null
          ? null
          : (str(restrictions, "minimum_amount_currency", "restrictions[minimum_amount_currency]") ?? "usd"),
    },
    times_redeemed: 0,
  };
  put(ctx.state, "promotion_code", ctx.scope, promo);
  emitFor(ctx, "promotion_code.created", promo);
  return reply(ctx, promo);
}

function findPromo(ctx: Ctx): Json {
  return mustFind(ctx.state, "promotion_code", ctx.match[0] ?? "", ctx.scope, "promotion code").obj;
}

function update(ctx: Ctx): Reply {
  allow(ctx, ["active", "metadata", "restrictions"]);
  const promo = findPromo(ctx);
  const before = clone(promo);
  const active = bool(ctx.params, "active");
  if (active !== undefined) promo.active = active;
  promo.metadata = applyMetadata(promo.metadata as Json, ctx.params);
  const previous = diff(before, promo);
  if (previous) emitFor(ctx, "promotion_code.updated", promo, { previous });
  return reply(ctx, promo);
}

function list(ctx: Ctx): Reply {
  allowList(ctx, ["active", "code", "coupon", "customer", "created", "customer_account"]);
  const p = ctx.params;
  const active = bool(p, "active");
  const [code, coupon, customer] = [str(p, "code"), str(p, "coupon"), str(p, "customer")];
  const items = all(ctx.state, "promotion_code", ctx.scope)
    .map((s) => s.obj)
    .filter(
      (o) =>
        (active === undefined || o.active === active) &&
        (!code || String(o.code).toLowerCase() === code.toLowerCase()) &&
        (!coupon || (o.promotion as Json).coupon === coupon) &&
        (!customer || o.customer === customer),
    );
  return listReply(ctx, items, "/v1/promotion_codes");
}

export const promotionCodeRoutes: Route[] = [
  route("POST", "/v1/promotion_codes", create),
  route("GET", "/v1/promotion_codes", list),
  route("GET", "/v1/promotion_codes/:id", (ctx) => reply(ctx, findPromo(ctx))),
  route("POST", "/v1/promotion_codes/:id", update),
];
