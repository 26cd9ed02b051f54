// Customers. A deleted customer answers GET with `{id, object, deleted: true}`, as Stripe does.
import { invalid } from "./errors.ts";
import type { FormObject } from "./form.ts";
import { allow, allowList, applyMetadata, int, listReply, nullableStr, obj, reply, str } from "./params.ts";
import { attachPaymentMethod, customerPaymentMethod, liveCustomer } from "./payments.ts";
import { type Ctx, type Reply, type Route, route } from "./router.ts";
import { searchReply } from "./search.ts";
import { all, clone, type Json, mustFind, newId, now, put, randomString } from "./state.ts";
import { cancelSubscription } from "./subscription-cancel.ts";
import { liveClock } from "./test-clocks.ts";
import { diff, emitFor } from "./webhooks.ts";

const FIELDS = ["email", "name", "description", "phone"];
const ACCEPTED = [
  "address",
  "shipping",
  "preferred_locales",
  "tax_exempt",
  "tax",
  "tax_id_data",
  "source",
  "invoice_prefix",
  "next_invoice_sequence",
  "cash_balance",
];

function setFields(customer: Json, p: FormObject): void {
  for (const key of FIELDS) {
    const v = nullableStr(p, key);
    if (v !== undefined) customer[key] = v;
  }
  const email = customer.email;
  if (typeof email === "string" && !/^[^@\s]+@[^@\s]+$/.test(email))
    throw invalid("email", `Invalid email address: ${email}`, "email_invalid");
  const balance = int(p, "balance");
  if (balance !== undefined) customer.balance = balance;
  for (const key of ["address", "shipping"]) {
    const v = p[key];
    if (v === "") customer[key] = null;
    else if (obj(p, key)) customer[key] = { ...(customer[key] as Json | null), ...(v as FormObject) };
  }
  customer.metadata = applyMetadata(customer.metadata as Json, p);
}

/** `invoice_settings[default_payment_method]` (a test token may stand for the card just attached). */
function setDefaultPaymentMethod(
  ctx: Ctx,
  customer: Json,
  attached: Json | null,
  token: string | undefined,
): void {
  const settings = obj(ctx.params, "invoice_settings");
  const param = "invoice_settings[default_payment_method]";
  const given = settings ? nullableStr(settings, "default_payment_method", param) : undefined;
  if (given === undefined) return;
  const target = customer.invoice_settings as Json;
  if (given === null) target.default_payment_method = null;
  else if (attached && given === token) target.default_payment_method = attached.id;
  else target.default_payment_method = customerPaymentMethod(ctx, given, customer.id as string, param).id;
}

/** Creates a customer from form params as POST /v1/customers does (Checkout uses it too). */
export function createCustomer(ctx: Ctx, params: FormObject): Json {
  const reply = create({ ...ctx, params, allowed: null });
  return mustFind(ctx.state, "customer", String((reply.body as Json).id), ctx.scope).obj;
}

function create(ctx: Ctx): Reply {
  allow(ctx, [
    ...FIELDS,
    "metadata",
    "balance",
    "payment_method",
    "invoice_settings",
    "test_clock",
    ...ACCEPTED,
  ]);
  const p = ctx.params;
  // A customer on a test clock lives at the clock's time from its creation on.
  const clockId = str(p, "test_clock");
  if (clockId) liveClock(ctx, clockId, "test_clock");
  const customer: Json = {
    id: newId("cus", 14),
    object: "customer",
    address: null,
    balance: 0,
    created: now(),
    currency: null,
    default_source: null,
    delinquent: false,
    description: null,
    discount: null,
    email: null,
    invoice_prefix: randomString(8).toUpperCase(),
    invoice_settings: {
      custom_fields: null,
      default_payment_method: null,
      footer: null,
      rendering_options: null,
    },
    livemode: ctx.livemode,
    metadata: {},
    name: null,
    next_invoice_sequence: 1,
    phone: null,
    preferred_locales: [],
    shipping: null,
    tax_exempt: "none",
    test_clock: clockId || null,
  };
  setFields(customer, p);
  const token = str(p, "payment_method");
  // The card check comes first: a declined card creates no customer.
  const attached = token
    ? attachPaymentMethod(ctx, token, customer.id as string, true, "payment_method")
    : null;
  put(ctx.state, "customer", ctx.scope, customer);
  setDefaultPaymentMethod(ctx, customer, attached, token);
  emitFor(ctx, "customer.created", customer);
  return reply(ctx, customer);
}

function retrieve(ctx: Ctx): Reply {
  return reply(ctx, mustFind(ctx.state, "customer", ctx.match[0] ?? "", ctx.scope).obj);
}

function update(ctx: Ctx): Reply {
  allow(ctx, [...FIELDS, "metadata", "balance", "invoice_settings", "default_source", ...ACCEPTED]);
  const customer = liveCustomer(ctx, ctx.match[0] ?? "", "id");
  const before = clone(customer);
  setFields(customer, ctx.params);
  setDefaultPaymentMethod(ctx, customer, null, undefined);
  const previous = diff(before, customer);
  if (previous) emitFor(ctx, "customer.updated", customer, { previous });
  return reply(ctx, customer);
}

function remove(ctx: Ctx): Reply {
  const customer = liveCustomer(ctx, ctx.match[0] ?? "", "id");
  for (const s of all(ctx.state, "subscription", ctx.scope)) {
    if (s.obj.customer === customer.id && s.obj.status !== "canceled")
      cancelSubscription(ctx, s.obj, "cancellation_requested");
  }
  const stub = { id: customer.id, object: "customer", deleted: true };
  put(ctx.state, "customer", ctx.scope, stub);
  emitFor(ctx, "customer.deleted", customer);
  return { status: 200, body: stub };
}

function list(ctx: Ctx): Reply {
  allowList(ctx, ["email", "created", "test_clock"]);
  const email = str(ctx.params, "email");
  const clock = str(ctx.params, "test_clock");
  const items = all(ctx.state, "customer", ctx.scope)
    .map((s) => s.obj)
    .filter((o) => o.deleted !== true && (!email || o.email === email) && (!clock || o.test_clock === clock));
  return listReply(ctx, items, "/v1/customers");
}

/** GET /v1/customers/search: fields `created`, `email`, `metadata`, `name`, `phone`. */
function search(ctx: Ctx): Reply {
  const items = all(ctx.state, "customer", ctx.scope)
    .map((s) => s.obj)
    .filter((o) => o.deleted !== true);
  return searchReply(ctx, items, "customers", ["created", "email", "metadata", "name", "phone"]);
}

export const customerRoutes: Route[] = [
  route("POST", "/v1/customers", create),
  route("GET", "/v1/customers", list),
  route("GET", "/v1/customers/search", search),
  route("GET", "/v1/customers/:id", retrieve),
  route("POST", "/v1/customers/:id", update),
  route("DELETE", "/v1/customers/:id", remove),
];
