// Products and prices.
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
  nullableStr,
  obj,
  oneOf,
  reply,
  reqStr,
  str,
} from "./params.ts";
import { type Ctx, type Reply, type Route, route } from "./router.ts";
import { all, clone, find, type Json, mustFind, newId, now, put } from "./state.ts";
import { diff, emitFor } from "./webhooks.ts";

const PRODUCT_FIELDS = [
  "images",
  "statement_descriptor",
  "tax_code",
  "unit_label",
  "url",
  "shippable",
  "marketing_features",
  "package_dimensions",
];

function createProduct(ctx: Ctx): Reply {
  allow(ctx, [
    "id",
    "name",
    "description",
    "active",
    "metadata",
    "default_price_data",
    "type",
    ...PRODUCT_FIELDS,
  ]);
  const p = ctx.params;
  const name = reqStr(p, "name");
  const id = str(p, "id") || newId("prod", 14);
  if (ctx.state.objects.has(id)) {
    throw apiError(400, {
      type: "invalid_request_error",
      code: "resource_already_exists",
      param: "id",
      message: "Product already exists.",
    });
  }
  return reply(ctx, addProduct(ctx, id, name, p));
}

/** Stores a new product (also used by `product_data` of a price). */
function addProduct(ctx: Ctx, id: string, name: string, p: FormObject): Json {
  const created = now();
  const product: Json = {
    id,
    object: "product",
    active: bool(p, "active") ?? true,
    created,
    default_price: null,
    description: nullableStr(p, "description") ?? null,
    images: [],
    livemode: ctx.livemode,
    marketing_features: [],
    metadata: applyMetadata({}, p),
    name,
    package_dimensions: null,
    shippable: null,
    statement_descriptor: nullableStr(p, "statement_descriptor") ?? null,
    tax_code: nullableStr(p, "tax_code") ?? null,
    type: "service",
    unit_label: nullableStr(p, "unit_label") ?? null,
    updated: created,
    url: nullableStr(p, "url") ?? null,
  };
  put(ctx.state, "product", ctx.scope, product);
  emitFor(ctx, "product.created", product);
  return product;
}

function updateProduct(ctx: Ctx): Reply {
  allow(ctx, ["name", "description", "active", "metadata", "default_price", ...PRODUCT_FIELDS]);
  const product = mustFind(ctx.state, "product", ctx.match[0] ?? "", ctx.scope).obj;
  const before = clone(product);
  const p = ctx.params;
  if (p.name !== undefined) product.name = reqStr(p, "name");
  for (const key of ["description", "statement_descriptor", "tax_code", "unit_label", "url"]) {
    const v = nullableStr(p, key);
    if (v !== undefined) product[key] = v;
  }
  const active = bool(p, "active");
  if (active !== undefined) product.active = active;
  product.metadata = applyMetadata(product.metadata as Json, p);
  const defaultPrice = nullableStr(p, "default_price");
  if (defaultPrice) {
    const price = find(ctx.state, "price", defaultPrice, ctx.scope);
    if (!price || price.obj.product !== product.id)
      throw invalid("default_price", `No such price: '${defaultPrice}'`, "resource_missing");
  }
  if (defaultPrice !== undefined) product.default_price = defaultPrice;
  const previous = diff(before, product);
  if (previous) {
    product.updated = now();
    emitFor(ctx, "product.updated", product, { previous });
  }
  return reply(ctx, product);
}

function deleteProduct(ctx: Ctx): Reply {
  const product = mustFind(ctx.state, "product", ctx.match[0] ?? "", ctx.scope).obj;
  if (all(ctx.state, "price", ctx.scope).some((s) => s.obj.product === product.id)) {
    throw apiError(400, {
      type: "invalid_request_error",
      message: "This product cannot be deleted because it has one or more user-created prices.",
    });
  }
  ctx.state.objects.delete(product.id as string);
  emitFor(ctx, "product.deleted", product);
  return { status: 200, body: { id: product.id, object: "product", deleted: true } };
}

function listProducts(ctx: Ctx): Reply {
  allowList(ctx, ["active", "ids", "shippable", "url", "created"]);
  const active = bool(ctx.params, "active");
  const ids = arr(ctx.params, "ids");
  const items = all(ctx.state, "product", ctx.scope)
    .map((s) => s.obj)
    .filter((o) => (active === undefined || o.active === active) && (!ids || ids.includes(o.id as string)));
  return listReply(ctx, items, "/v1/products");
}

const INTERVALS = ["day", "week", "month", "year"] as const;

function recurringOf(ctx: Ctx): Json | null {
  const r = obj(ctx.params, "recurring");
  if (!r) return null;
  const interval = oneOf(r, "interval", INTERVALS, "recurring[interval]");
  if (!interval) throw missing("recurring[interval]");
  const count = int(r, "interval_count", "recurring[interval_count]") ?? 1;
  if (count < 1) throw invalid("recurring[interval_count]", "Invalid interval_count: must be at least 1");
  const max = { day: 1095, week: 156, month: 36, year: 3 }[interval];
  if (count > max) throw invalid("recurring[interval_count]", "The maximum billing interval is three years.");
  return {
    interval,
    interval_count: count,
    meter: null,
    trial_period_days: int(r, "trial_period_days", "recurring[trial_period_days]") ?? null,
    usage_type: oneOf(r, "usage_type", ["licensed", "metered"], "recurring[usage_type]") ?? "licensed",
  };
}

function claimLookupKey(ctx: Ctx, key: string, priceId: string): void {
  const owner = all(ctx.state, "price", ctx.scope).find((s) => s.obj.lookup_key === key && s.id !== priceId);
  if (!owner) return;
  if (bool(ctx.params, "transfer_lookup_key") !== true) {
    throw invalid("lookup_key", `A price (\`${owner.id}\`) already uses that lookup key.`);
  }
  owner.obj.lookup_key = null;
}

function createPrice(ctx: Ctx): Reply {
  allow(ctx, [
    "currency",
    "product",
    "product_data",
    "unit_amount",
    "unit_amount_decimal",
    "recurring",
    "metadata",
    "nickname",
    "active",
    "lookup_key",
    "transfer_lookup_key",
    "tax_behavior",
    "billing_scheme",
    "currency_options",
    "custom_unit_amount",
    "tiers",
    "tiers_mode",
    "transform_quantity",
  ]);
  const p = ctx.params;
  const currency = reqStr(p, "currency").toLowerCase();
  if (!/^[a-z]{3}$/.test(currency)) throw invalid("currency", `Invalid currency: ${currency}.`);
  let productId = str(p, "product");
  const productData = obj(p, "product_data");
  if (!productId && !productData) throw missing("product");
  const unitAmount = int(p, "unit_amount", "unit_amount", 0);
  const decimal = str(p, "unit_amount_decimal");
  if (unitAmount === undefined && !decimal) throw missing("unit_amount");
  const recurring = recurringOf(ctx);
  if (productId) mustFind(ctx.state, "product", productId, ctx.scope, "product", "product");
  const id = newId("price");
  const lookupKey = nullableStr(p, "lookup_key") ?? null;
  if (lookupKey) claimLookupKey(ctx, lookupKey, id);
  if (!productId && productData) {
    productId = newId("prod", 14);
    addProduct(ctx, productId, reqStr(productData, "name", "product_data[name]"), productData);
  }
  const amount = unitAmount ?? Math.round(Number(decimal));
  const price: Json = {
    id,
    object: "price",
    active: bool(p, "active") ?? true,
    billing_scheme: "per_unit",
    created: now(),
    currency,
    custom_unit_amount: null,
    livemode: ctx.livemode,
    lookup_key: lookupKey,
    metadata: applyMetadata({}, p),
    nickname: nullableStr(p, "nickname") ?? null,
    product: productId,
    recurring,
    tax_behavior: oneOf(p, "tax_behavior", ["inclusive", "exclusive", "unspecified"]) ?? "unspecified",
    tiers_mode: null,
    transform_quantity: null,
    type: recurring ? "recurring" : "one_time",
    unit_amount: amount,
    unit_amount_decimal: decimal ?? String(amount),
  };
  put(ctx.state, "price", ctx.scope, price);
  emitFor(ctx, "price.created", price);
  return reply(ctx, price);
}

function updatePrice(ctx: Ctx): Reply {
  allow(ctx, [
    "active",
    "metadata",
    "nickname",
    "lookup_key",
    "transfer_lookup_key",
    "tax_behavior",
    "currency_options",
  ]);
  const price = mustFind(ctx.state, "price", ctx.match[0] ?? "", ctx.scope).obj;
  const before = clone(price);
  const p = ctx.params;
  const active = bool(p, "active");
  if (active !== undefined) price.active = active;
  const nickname = nullableStr(p, "nickname");
  if (nickname !== undefined) price.nickname = nickname;
  const lookupKey = nullableStr(p, "lookup_key");
  if (lookupKey) claimLookupKey(ctx, lookupKey, price.id as string);
  if (lookupKey !== undefined) price.lookup_key = lookupKey;
  const taxBehavior = oneOf(p, "tax_behavior", ["inclusive", "exclusive", "unspecified"]);
  if (taxBehavior) price.tax_behavior = taxBehavior;
  price.metadata = applyMetadata(price.metadata as Json, p);
  const previous = diff(before, price);
  if (previous) emitFor(ctx, "price.updated", price, { previous });
  return reply(ctx, price);
}

function listPrices(ctx: Ctx): Reply {
  allowList(ctx, ["active", "product", "type", "currency", "lookup_keys", "recurring", "created"]);
  const p = ctx.params;
  const active = bool(p, "active");
  const product = str(p, "product");
  const type = oneOf(p, "type", ["one_time", "recurring"]);
  const currency = str(p, "currency")?.toLowerCase();
  const keys = arr(p, "lookup_keys");
  const items = all(ctx.state, "price", ctx.scope)
    .map((s) => s.obj)
    .filter(
      (o) =>
        (active === undefined || o.active === active) &&
        (!product || o.product === product) &&
        (!type || o.type === type) &&
        (!currency || o.currency === currency) &&
        (!keys || keys.includes(o.lookup_key as string)),
    );
  return listReply(ctx, items, "/v1/prices");
}

export const catalogRoutes: Route[] = [
  route("POST", "/v1/products", createProduct),
  route("GET", "/v1/products", listProducts),
  route("GET", "/v1/products/:id", (ctx) =>
    reply(ctx, mustFind(ctx.state, "product", ctx.match[0] ?? "", ctx.scope).obj),
  ),
  route("POST", "/v1/products/:id", updateProduct),
  route("DELETE", "/v1/products/:id", deleteProduct),
  route("POST", "/v1/prices", createPrice),
  route("GET", "/v1/prices", listPrices),
  route("GET", "/v1/prices/:id", (ctx) =>
    reply(ctx, mustFind(ctx.state, "price", ctx.match[0] ?? "", ctx.scope).obj),
  ),
  route("POST", "/v1/prices/:id", updatePrice),
];
