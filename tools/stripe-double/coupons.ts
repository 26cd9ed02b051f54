// Coupons: `percent_off` or `amount_off` + `currency`, `duration` once|repeating|forever,
// `duration_in_months`, `max_redemptions`, `redeem_by`, `applies_to[products]`, custom `id`.
// `times_redeemed` counts discounts made from it; `valid` is false once deleted, used up or past
// `redeem_by`. Update takes `name` and `metadata` only.
import { apiError, invalid, missing } from "./errors.ts";
import {
  allow,
  allowList,
  applyMetadata,
  arr,
  int,
  listReply,
  nullableStr,
  num,
  obj,
  oneOf,
  reply,
  str,
} from "./params.ts";
import { type Ctx, type Reply, type Route, route } from "./router.ts";
import { all, clone, type Json, mustFind, now, put, randomString } from "./state.ts";
import { diff, emitFor } from "./webhooks.ts";

/** Whether a coupon can still be redeemed (kept up to date on every read). */
export function refreshValid(coupon: Json): boolean {
  const max = coupon.max_redemptions as number | null;
  const by = coupon.redeem_by as number | null;
  coupon.valid =
    coupon.deleted !== true &&
    (max === null || Number(coupon.times_redeemed) < max) &&
    (by === null || by > now());
  return coupon.valid as boolean;
}

function create(ctx: Ctx): Reply {
  allow(ctx, [
    "id",
    "percent_off",
    "amount_off",
    "currency",
    "duration",
    "duration_in_months",
    "max_redemptions",
    "redeem_by",
    "name",
    "metadata",
    "applies_to",
    "currency_options",
  ]);
  const p = ctx.params;
  const percent = num(p, "percent_off");
  const amount = int(p, "amount_off", "amount_off", 1);
  if (percent !== undefined && amount !== undefined) {
    throw apiError(400, {
      type: "invalid_request_error",
      message: "You may only specify one of these parameters: amount_off, percent_off.",
    });
  }
  if (percent === undefined && amount === undefined) throw missing("percent_off");
  if (percent !== undefined && (percent <= 0 || percent > 100))
    throw invalid("percent_off", "percent_off must be greater than 0 and at most 100.");
  const currency = str(p, "currency")?.toLowerCase();
  if (amount !== undefined && !currency) throw missing("currency");
  const duration = oneOf(p, "duration", ["once", "repeating", "forever"]) ?? "once";
  const months = int(p, "duration_in_months", "duration_in_months", 1);
  if (duration === "repeating" && months === undefined) throw missing("duration_in_months");
  if (duration !== "repeating" && months !== undefined)
    throw invalid("duration_in_months", "duration_in_months can only be set when duration is repeating.");
  const redeemBy = int(p, "redeem_by");
  if (redeemBy !== undefined && redeemBy <= now())
    throw invalid("redeem_by", "redeem_by must be in the future.");
  const appliesTo = obj(p, "applies_to");
  const products = appliesTo ? (arr(appliesTo, "products", "applies_to[products]") ?? []).map(String) : null;
  for (const [i, product] of (products ?? []).entries())
    mustFind(ctx.state, "product", product, ctx.scope, "product", `applies_to[products][${i}]`);
  const id = str(p, "id") || randomString(8);
  if (ctx.state.objects.has(id)) {
    throw apiError(400, {
      type: "invalid_request_error",
      code: "resource_already_exists",
      param: "id",
      message: "Coupon already exists.",
    });
  }
  const coupon: Json = {
    id,
    object: "coupon",
    amount_off: amount ?? null,
    ...(products ? { applies_to: { products } } : {}),
    created: now(),
    currency: amount !== undefined ? currency : null,
    duration,
    duration_in_months: months ?? null,
    livemode: ctx.livemode,
    max_redemptions: int(p, "max_redemptions", "max_redemptions", 1) ?? null,
    metadata: applyMetadata({}, p),
    name: nullableStr(p, "name") ?? null,
    percent_off: percent ?? null,
    redeem_by: redeemBy ?? null,
    times_redeemed: 0,
    valid: true,
  };
  put(ctx.state, "coupon", ctx.scope, coupon);
  emitFor(ctx, "coupon.created", coupon);
  return reply(ctx, coupon);
}

export function findCoupon(ctx: Ctx, id: string, param = "id"): Json {
  const coupon = mustFind(ctx.state, "coupon", id, ctx.scope, "coupon", param).obj;
  refreshValid(coupon);
  return coupon;
}

function update(ctx: Ctx): Reply {
  allow(ctx, ["name", "metadata", "currency_options"]);
  const coupon = findCoupon(ctx, ctx.match[0] ?? "");
  const before = clone(coupon);
  const name = nullableStr(ctx.params, "name");
  if (name !== undefined) coupon.name = name;
  coupon.metadata = applyMetadata(coupon.metadata as Json, ctx.params);
  const previous = diff(before, coupon);
  if (previous) emitFor(ctx, "coupon.updated", coupon, { previous });
  return reply(ctx, coupon);
}

function remove(ctx: Ctx): Reply {
  const coupon = findCoupon(ctx, ctx.match[0] ?? "");
  // Discounts already made keep their terms; the coupon is gone for new redemptions.
  ctx.state.objects.delete(coupon.id as string);
  coupon.valid = false;
  emitFor(ctx, "coupon.deleted", coupon);
  return { status: 200, body: { id: coupon.id, object: "coupon", deleted: true } };
}

export const couponRoutes: Route[] = [
  route("POST", "/v1/coupons", create),
  route("GET", "/v1/coupons", (ctx) => {
    allowList(ctx, ["created"]);
    const items = all(ctx.state, "coupon", ctx.scope).map((s) => s.obj);
    for (const c of items) refreshValid(c);
    return listReply(ctx, items, "/v1/coupons");
  }),
  route("GET", "/v1/coupons/:id", (ctx) => reply(ctx, findCoupon(ctx, ctx.match[0] ?? ""))),
  route("POST", "/v1/coupons/:id", update),
  route("DELETE", "/v1/coupons/:id", remove),
];
