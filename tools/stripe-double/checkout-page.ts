// The double's hosted Checkout page. GET /checkout/pay/:cs_id "pays" an open session with a test card
// (`?card=pm_card_visa` by default): creates the customer when only an email was given, attaches the
// card, creates the subscription (with `subscription_data`) and its paid first invoice, completes the
// session (`checkout.session.completed`) and redirects to `success_url`. `?cancel=1` redirects to
// `cancel_url`; a declining card leaves the session open (402 page). `?promotion_code=CODE` applies a
// code when `allow_promotion_codes`; `?email=` and `?name=` fill the customer details.
import { expireIfDue } from "./checkout.ts";
import { createCustomer } from "./customers.ts";
import type { FormObject } from "./form.ts";
import { intentOf } from "./invoice-collect.ts";
import { createInvoiceItem } from "./invoice-items.ts";
import { esc, page, pageCtx, redirect } from "./pages.ts";
import { authenticated } from "./payment-intents.ts";
import { attachPaymentMethod, TEST_CARDS } from "./payments.ts";
import { type Ctx, type Reply, type Route, route } from "./router.ts";
import { all, find, type Json } from "./state.ts";
import { createSubscription } from "./subscriptions.ts";
import { emitFor } from "./webhooks.ts";

const q = (ctx: Ctx, name: string) =>
  typeof ctx.query[name] === "string" ? (ctx.query[name] as string) : undefined;

function discountsOf(ctx: Ctx, session: Json): FormObject[] | null {
  const code = q(ctx, "promotion_code");
  if (code && session.allow_promotion_codes === true) {
    const promo = all(ctx.state, "promotion_code", ctx.scope).find(
      (s) => s.obj.code === code && s.obj.active === true,
    );
    if (!promo) return null;
    return [{ promotion_code: promo.id }];
  }
  const given = session.discounts as Array<{ coupon: string | null; promotion_code: string | null }>;
  return given.map(
    (d): FormObject => (d.coupon ? { coupon: d.coupon } : { promotion_code: d.promotion_code ?? "" }),
  );
}

function subscriptionParams(
  session: Json,
  data: Json,
  items: Json[],
  customer: string,
  pm: string,
  discounts: FormObject[],
): FormObject {
  const params: FormObject = {
    customer,
    default_payment_method: pm,
    items: items
      .filter((li) => (li.price as Json).type === "recurring")
      .map((li) => ({ price: String((li.price as Json).id), quantity: String(li.quantity) })),
  };
  for (const key of ["application_fee_percent", "trial_period_days", "trial_end", "description"]) {
    if (typeof data[key] === "string") params[key] = data[key] as string;
  }
  if (data.metadata && typeof data.metadata === "object") params.metadata = data.metadata as FormObject;
  if (data.trial_settings && typeof data.trial_settings === "object")
    params.trial_settings = data.trial_settings as FormObject;
  if (discounts.length > 0) params.discounts = discounts;
  void session;
  return params;
}

function pay(ctx: Ctx, session: Json): Reply {
  const card = q(ctx, "card") ?? "pm_card_visa";
  const test = TEST_CARDS[card];
  if (!test)
    return page(400, "Unknown test card", `<p>${esc(card)} is not one of the double's test cards.</p>`);
  if (test.declines !== "never")
    return page(
      402,
      "Your card was declined.",
      `<p>${esc(test.message ?? "Your card was declined.")} The session stays open.</p>`,
    );
  const discounts = discountsOf(ctx, session);
  if (!discounts) return page(400, "This code is invalid.", `<p>${esc(q(ctx, "promotion_code"))}</p>`);
  const notes = ctx.state.notes.get(session.id as string) ?? {};
  const email = (session.customer_email as string | null) ?? q(ctx, "email") ?? "checkout@example.test";
  const customer = session.customer
    ? (find(ctx.state, "customer", session.customer as string, ctx.scope)?.obj as Json)
    : createCustomer(ctx, { email, ...(q(ctx, "name") ? { name: q(ctx, "name") as string } : {}) });
  const pm = attachPaymentMethod(ctx, card, customer.id as string, true, "payment_method");
  const items = (notes.line_items as Json[]) ?? [];
  for (const li of items.filter((l) => (l.price as Json).type !== "recurring")) {
    const price = li.price as Json;
    createInvoiceItem(ctx, {
      customer: customer.id as string,
      amount: Number(price.unit_amount) * Number(li.quantity),
      currency: String(price.currency),
      description: String(li.description ?? "Item"),
      price,
      quantity: Number(li.quantity),
    });
  }
  const sub = createSubscription(
    ctx,
    subscriptionParams(
      session,
      (notes.subscription_data as Json) ?? {},
      items,
      customer.id as string,
      pm.id as string,
      discounts,
    ),
  );
  const invoice = sub.latest_invoice
    ? find(ctx.state, "invoice", sub.latest_invoice as string, ctx.scope)?.obj
    : undefined;
  const pi = invoice ? intentOf(ctx, invoice) : null;
  if (pi?.status === "requires_action") authenticated(ctx, pi, q(ctx, "authenticate") !== "fail");
  const paid = !invoice || invoice.status === "paid";
  if (!paid)
    return page(
      402,
      "Your payment could not be completed.",
      `<p>${esc(invoice?.id)} is ${esc(invoice?.status)}.</p>`,
    );
  const total = invoice ? Number(invoice.total) : 0;
  const discount = invoice ? Number(invoice.subtotal) - total : 0;
  Object.assign(session, {
    status: "complete",
    payment_status: total > 0 ? "paid" : "no_payment_required",
    customer: customer.id,
    subscription: sub.id,
    invoice: invoice?.id ?? null,
    amount_subtotal: invoice ? invoice.subtotal : 0,
    amount_total: total,
    total_details: { amount_discount: discount, amount_shipping: 0, amount_tax: 0 },
    customer_details: {
      address: customer.address ?? null,
      business_name: null,
      email: customer.email ?? email,
      individual_name: null,
      name: customer.name ?? null,
      phone: customer.phone ?? null,
      tax_exempt: "none",
      tax_ids: [],
    },
    url: null,
  });
  emitFor(ctx, "checkout.session.completed", session);
  return done(session);
}

function done(session: Json): Reply {
  const success = session.success_url as string | null;
  if (!success) return page(200, "Thanks for your order", `<p>${esc(session.id)} is complete.</p>`);
  return redirect(success.replaceAll("{CHECKOUT_SESSION_ID}", String(session.id)));
}

function checkoutPage(ctx: Ctx): Reply {
  const id = ctx.match[0] ?? "";
  const stored = ctx.state.objects.get(id);
  if (stored?.kind !== "checkout.session") return page(404, "Unknown Checkout Session", `<p>${esc(id)}</p>`);
  const c = pageCtx(ctx, stored);
  const session = stored.obj;
  expireIfDue(c, session);
  if (session.status === "complete") return done(session);
  if (session.status === "expired")
    return page(410, "This Checkout Session has expired", `<p>${esc(id)}</p>`);
  if (q(c, "cancel") === "1") {
    const cancel = session.cancel_url as string | null;
    return cancel ? redirect(cancel) : page(200, "Checkout canceled", `<p>${esc(id)} stays open.</p>`);
  }
  return pay(c, session);
}

export const checkoutPageRoutes: Route[] = [route("GET", "/checkout/pay/:id", checkoutPage, "browser")];
