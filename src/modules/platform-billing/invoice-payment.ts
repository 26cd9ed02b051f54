// Paying the platform subscription's open invoices: how a tenant whose renewals failed fixes
// billing and keeps its subscription.
import Stripe from "stripe";
import { type RequestContext, userCaller } from "../../context";
import { auditInsert } from "../../lib/audit";
import { newId } from "../../lib/crypto";
import { ApiError } from "../../lib/errors";
import { loadSubscription, settle } from "./subscription.service";

export interface PayInput {
  payment_method_id?: string | undefined;
}

/**
 * Pays the subscription's open invoices at Stripe, oldest first, with the card given or the one on
 * file. A card given is attached to the tenant's Stripe customer and, once it paid, becomes its
 * default and the subscription's, so Stripe's renewals use it too. Every paid invoice goes through
 * the billing state machine with the subscription as Stripe now has it, so a tenant suspended for
 * failed payments is active again in this answer (Stripe's events of the same payments then change
 * nothing). A decline is Stripe's 402, passed on, after what was paid before it is settled. An
 * invoice another request paid meanwhile counts as paid (settled, not audited here), so requests
 * sent at once charge the card once and all answer the subscription as it is.
 */
export async function payOpenInvoices(ctx: RequestContext, input: PayInput) {
  const { stripe } = ctx;
  const principal = userCaller(ctx);
  const { tenant, subscription } = await loadSubscription(ctx, principal.tenantId);
  const subscriptionId = subscription?.stripeSubscriptionId;
  const customer = subscription?.stripeCustomerId;
  if (!subscriptionId || !customer || subscription.status === "cancelled") {
    throw new ApiError("conflict", "The tenant has no subscription to pay for; subscribe with POST instead");
  }
  // Stripe's list, not our status: a failure whose event has not arrived yet is still due.
  const open = await stripe.invoices.list({ subscription: subscriptionId, status: "open", limit: 100 });
  const due = [...open.data].sort((a, b) => a.created - b.created);
  if (!due.length) throw new ApiError("conflict", "The subscription has no open invoice to pay");

  const paymentMethod = input.payment_method_id
    ? (await stripe.paymentMethods.attach(input.payment_method_id, { customer })).id
    : undefined;
  const paidHere: Stripe.Invoice[] = [];
  const settled: Stripe.Invoice[] = [];
  let refusal: { error: unknown } | null = null;
  for (const invoice of due) {
    try {
      const paid = await payInvoice(ctx, invoice.id as string, paymentMethod);
      settled.push(paid.invoice);
      if (paid.here) paidHere.push(paid.invoice);
    } catch (error) {
      refusal = { error };
      break;
    }
  }
  if (settled.length) {
    // A card that paid becomes the default only now: one that was declined is not made the card
    // of every renewal, and the subscription's snapshots of this second all show it paid.
    const current =
      paymentMethod && paidHere.length
        ? await makeDefault(ctx, customer, subscriptionId, paymentMethod)
        : await stripe.subscriptions.retrieve(subscriptionId);
    await settle(
      ctx,
      { tenant, userId: principal.userId },
      "customer.subscription.updated",
      current,
      {},
      null,
      null,
      settled,
    );
  }
  if (paidHere.length) {
    await auditInsert(ctx.db, {
      tenantId: tenant.id,
      actorType: "user",
      actorId: principal.userId,
      action: "subscription.invoices_paid",
      targetType: "subscription",
      targetId: subscriptionId,
      metadata: {
        invoices: paidHere.map((invoice) => invoice.id),
        amount_paid: paidHere.reduce((sum, invoice) => sum + invoice.amount_paid, 0),
        currency: paidHere[0]?.currency ?? null,
      },
      requestId: ctx.requestId,
      at: ctx.clock.now(),
    }).run();
  }
  if (refusal) throw refusal.error;
  return loadSubscription(ctx, tenant.id);
}

/** Makes the card the customer's default and the subscription's; answers the subscription. */
async function makeDefault(
  ctx: RequestContext,
  customer: string,
  subscriptionId: string,
  paymentMethod: string,
): Promise<Stripe.Subscription> {
  const { stripe } = ctx;
  await stripe.customers.update(customer, { invoice_settings: { default_payment_method: paymentMethod } });
  return stripe.subscriptions.update(subscriptionId, { default_payment_method: paymentMethod });
}

/**
 * Pays one invoice; `here` is false when it was already paid (by a request at the same time, or
 * by Stripe's own retry). Stripe refuses to pay a paid invoice with a 400 whose wording is not a
 * documented code, so the invoice itself is read to tell.
 */
async function payInvoice(
  ctx: RequestContext,
  invoiceId: string,
  paymentMethod: string | undefined,
): Promise<{ invoice: Stripe.Invoice; here: boolean }> {
  try {
    const invoice = await ctx.stripe.invoices.pay(
      invoiceId,
      paymentMethod ? { payment_method: paymentMethod } : {},
      // A fresh key per request: a reused one would replay an earlier decline.
      { idempotencyKey: `tenant-invoice-pay:${invoiceId}:${newId("req")}` },
    );
    return { invoice, here: true };
  } catch (error) {
    if (!(error instanceof Stripe.errors.StripeInvalidRequestError)) throw error;
    const invoice = await ctx.stripe.invoices.retrieve(invoiceId);
    if (invoice.status !== "paid") throw error;
    return { invoice, here: false };
  }
}
