// Paying the platform subscription's open invoices: how a tenant whose renewals failed fixes
// billing and keeps its subscription.
import Stripe from "stripe";
import { type RequestContext, userCaller } from "../../context";
import type { PlatformPlanRow, TenantRow } from "../../db/schema";
import { auditInsert } from "../../lib/audit";
import { newId } from "../../lib/crypto";
import { ApiError } from "../../lib/errors";
import { errorFields } from "../../lib/logger";
import { attachPaymentMethod } from "../../stripe/payment-methods";
import { plansOfPrices } from "./plan-following";
import { subscriptionPrice } from "./stripe-mapping";
import { loadSubscription, pricePaid, settle } from "./subscription.service";

export interface PayInput {
  payment_method_id?: string | undefined;
}

/**
 * Pays the subscription's unpaid invoices at Stripe (open, or marked uncollectible by dunning),
 * oldest first, with the card given or the one on file. A card given is attached to the tenant's
 * Stripe customer and, once it paid, becomes its default and the subscription's, so Stripe's
 * renewals use it too. What was paid goes through the billing state machine with the
 * subscription as Stripe now has it, so a tenant suspended for failed payments is active again in
 * this answer (Stripe's events of the same payments then change nothing).
 *
 * Stripe's state decides, not ours: a subscription Stripe cancelled is 409 (subscribe again), and
 * one with nothing left to pay while ours still says payment is due (paid by a request at the same
 * time, or by an earlier attempt of this one that failed after paying) is brought up to Stripe's
 * and answered, 200. A decline is 402 `payment_failed`; when an earlier invoice was paid before it,
 * that payment is recorded but does not lift a suspension (an invoice is still unpaid).
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
  const actor = { tenant, userId: principal.userId };
  const [atStripe, due] = await Promise.all([
    stripe.subscriptions.retrieve(subscriptionId, { expand: ["latest_invoice"] }),
    unpaidInvoices(ctx, subscriptionId),
  ]);
  if (atStripe.status === "canceled" || atStripe.status === "incomplete_expired") {
    throw new ApiError("conflict", "Stripe has ended this subscription; subscribe again with POST");
  }
  if (!due.length) {
    const latest = atStripe.latest_invoice;
    const paidLatest = latest && typeof latest !== "string" && latest.status === "paid" ? [latest] : [];
    if (!PAYMENT_DUE.has(subscription.status) && tenant.suspendedReason !== "payment_failed") {
      throw new ApiError("conflict", "The subscription has no open invoice to pay");
    }
    await settleFrom(ctx, actor, atStripe, paidLatest, subscription.planId);
    return loadSubscription(ctx, tenant.id);
  }

  const paymentMethod = input.payment_method_id
    ? (await attachPaymentMethod(stripe, input.payment_method_id, customer)).id
    : undefined;
  const paidHere: Stripe.Invoice[] = [];
  const settled: Stripe.Invoice[] = [];
  let refusal: { error: unknown } | null = null;
  for (const invoice of due) {
    try {
      const paid = await payOneInvoice(ctx, invoice, paymentMethod);
      settled.push(paid.invoice);
      if (paid.here) paidHere.push(paid.invoice);
    } catch (error) {
      refusal = { error };
      break;
    }
  }
  // Recorded first: whatever fails after it, the money moved.
  if (paidHere.length) await auditPayment(ctx, actor, subscriptionId, paidHere);
  if (settled.length) {
    const current = await afterPayment(ctx, { customer, subscriptionId, paymentMethod, paidHere });
    // With an invoice still unpaid, only the subscription's state: its payments lift nothing.
    await settleFrom(ctx, actor, current, refusal ? null : settled, subscription.planId);
  }
  if (refusal) throw partlyPaid(refusal.error, settled.length);
  return loadSubscription(ctx, tenant.id);
}

/**
 * Hands the subscription as Stripe now has it to the state machine, with the invoices paid
 * (`null`: some are still unpaid, so no payment goes with it). A paid invoice of a pending
 * upgrade applied it at Stripe: the tenant then moves to that plan at once.
 */
async function settleFrom(
  ctx: RequestContext,
  actor: { tenant: TenantRow; userId: string },
  current: Stripe.Subscription,
  paid: Stripe.Invoice[] | null,
  storedPlanId: string | null,
) {
  const upgradedTo = paid ? await planMovedTo(ctx, current, storedPlanId) : null;
  await settle(ctx, actor, {
    type: "customer.subscription.updated",
    subscription: current,
    ...(upgradedTo
      ? {
          changes: { planId: upgradedTo.id, ...pricePaid(current, upgradedTo) },
          plan: upgradedTo,
          action: "subscription.plan_changed",
        }
      : {}),
    paidInvoices: paid ?? [],
  });
}

/** Subscription states whose invoices Stripe could not collect. */
const PAYMENT_DUE = new Set(["past_due", "unpaid", "incomplete"]);

/** The subscription's open and uncollectible invoices, oldest first. */
async function unpaidInvoices(ctx: RequestContext, subscription: string): Promise<Stripe.Invoice[]> {
  const lists = await Promise.all(
    (["open", "uncollectible"] as const).map((status) =>
      ctx.stripe.invoices.list({ subscription, status, limit: 100 }),
    ),
  );
  return lists.flatMap((list) => list.data).sort((a, b) => a.created - b.created);
}

/**
 * The subscription once paid: with a card given that paid, it is made the default first. That is
 * a convenience after the fact: if Stripe fails it, the payment stands and is settled anyway.
 */
async function afterPayment(
  ctx: RequestContext,
  paid: {
    customer: string;
    subscriptionId: string;
    paymentMethod: string | undefined;
    paidHere: Stripe.Invoice[];
  },
): Promise<Stripe.Subscription> {
  if (paid.paymentMethod && paid.paidHere.length) {
    try {
      return await makeDefault(ctx, paid.customer, paid.subscriptionId, paid.paymentMethod);
    } catch (error) {
      ctx.log.warn("the card that paid was not made the default", errorFields(error));
    }
  }
  return ctx.stripe.subscriptions.retrieve(paid.subscriptionId);
}

async function auditPayment(
  ctx: RequestContext,
  actor: { tenant: { id: string }; userId: string },
  subscriptionId: string,
  paid: Stripe.Invoice[],
) {
  await auditInsert(ctx.db, {
    tenantId: actor.tenant.id,
    actorType: "user",
    actorId: actor.userId,
    action: "subscription.invoices_paid",
    targetType: "subscription",
    targetId: subscriptionId,
    metadata: {
      invoices: paid.map((invoice) => invoice.id),
      amount_paid: paid.reduce((sum, invoice) => sum + invoice.amount_paid, 0),
      currency: paid[0]?.currency ?? null,
    },
    requestId: ctx.requestId,
    at: ctx.clock.now(),
  }).run();
}

/**
 * The error a refused payment answers: a decline as itself (402); anything else after an invoice
 * was paid says so, since "nothing was changed" would be false.
 */
function partlyPaid(error: unknown, paidCount: number): unknown {
  if (!paidCount || error instanceof Stripe.errors.StripeCardError || error instanceof ApiError) return error;
  return new ApiError(
    "stripe_error",
    `${paidCount} invoice(s) were paid, then Stripe failed on the next; send the request again to pay the rest`,
    { cause: error },
  );
}

/** The platform plan of the subscription's price at Stripe, when it is not the plan stored. */
async function planMovedTo(
  ctx: RequestContext,
  subscription: Stripe.Subscription,
  storedPlanId: string | null,
): Promise<PlatformPlanRow | null> {
  const { priceId } = subscriptionPrice(subscription as unknown as Record<string, unknown>);
  if (!priceId) return null;
  const plan = (await plansOfPrices(ctx, new Set([priceId]))).get(priceId);
  return plan && plan.id !== storedPlanId ? plan : null;
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
 * documented code, so the invoice itself is read to tell. A card that needs its holder to
 * authenticate (3-D Secure) cannot be charged from here: the answer names the invoice's page.
 */
async function payOneInvoice(
  ctx: RequestContext,
  invoice: Stripe.Invoice,
  paymentMethod: string | undefined,
): Promise<{ invoice: Stripe.Invoice; here: boolean }> {
  const id = invoice.id as string;
  try {
    const paid = await ctx.stripe.invoices.pay(
      id,
      paymentMethod ? { payment_method: paymentMethod } : {},
      // A fresh key per request: a reused one would replay an earlier decline.
      { idempotencyKey: `tenant-invoice-pay:${id}:${newId("req")}` },
    );
    return { invoice: paid, here: true };
  } catch (error) {
    if (
      error instanceof Stripe.errors.StripeCardError &&
      error.code === "invoice_payment_intent_requires_action"
    ) {
      throw new ApiError(
        "payment_failed",
        "The card needs its holder to authenticate the payment: pay this invoice on its page",
        { extra: { invoice: id, hosted_invoice_url: invoice.hosted_invoice_url ?? null }, cause: error },
      );
    }
    if (!(error instanceof Stripe.errors.StripeInvalidRequestError)) throw error;
    const current = await ctx.stripe.invoices.retrieve(id);
    if (current.status !== "paid") throw error;
    return { invoice: current, here: false };
  }
}
