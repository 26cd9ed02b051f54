import { and, eq } from "drizzle-orm";
import Stripe from "stripe";
import type { RequestContext } from "../../context";
import { type CustomerRow, customers } from "../../db/schema";
import { newId } from "../../lib/crypto";
import { notFound } from "../../lib/errors";
import { writeScope } from "../../lib/scope";
import { stripeSeconds } from "../../stripe/client";
import { attachPaymentMethod as attachStripePaymentMethod } from "../../stripe/payment-methods";
import { customerLands, customerPassed } from "../billing-mirror/row-guards";
import { connectedTenant } from "../stripe-connect/connected-account";
import { commitChange } from "../webhooks/outbox";
import { activeCustomer, findCustomer } from "./customers.queries";
import { serializeCustomer } from "./customers.schemas";

/** A customer the caller may bill, with the tenant's connected account it lives on. */
async function billable(ctx: RequestContext, idOrExternal: string, forWhat: string) {
  const customer = await activeCustomer(ctx, idOrExternal);
  const scope = writeScope(ctx);
  if (customer.livemode !== scope.livemode) throw notFound("Customer");
  const tenant = await connectedTenant(ctx, scope.tenantId, forWhat);
  return { customer, tenant, stripeAccount: tenant.stripeConnectAccountId };
}

const serializeMethod = (method: Stripe.PaymentMethod, defaultId: string | null) => ({
  id: method.id,
  type: method.type,
  card: method.card
    ? {
        brand: method.card.brand,
        last4: method.card.last4,
        exp_month: method.card.exp_month,
        exp_year: method.card.exp_year,
      }
    : null,
  is_default: method.id === defaultId,
  created_at: new Date(method.created * 1000).toISOString(),
});

/**
 * The customer's saved payment methods, as Stripe has them now. A deleted customer has none:
 * Stripe no longer has the customer (it answers "no such customer"), and its deletion is final.
 */
export async function listPaymentMethods(ctx: RequestContext, idOrExternal: string) {
  const customer = await findCustomer(ctx, idOrExternal);
  if (customer.status === "deleted") return [];
  const tenant = await connectedTenant(ctx, customer.tenantId, "reading payment methods");
  const methods = await ctx.stripe.customers.listPaymentMethods(
    customer.stripeCustomerId,
    { limit: 100 },
    { stripeAccount: tenant.stripeConnectAccountId },
  );
  return methods.data.map((method) => serializeMethod(method, customer.defaultPaymentMethod));
}

/** A payment method of this customer at Stripe, or 404 (another customer's is not revealed). */
async function methodOf(ctx: RequestContext, customer: CustomerRow, stripeAccount: string, methodId: string) {
  const method = await ctx.stripe.paymentMethods.retrieve(methodId, {}, { stripeAccount }).catch(() => null);
  const owner = typeof method?.customer === "string" ? method.customer : method?.customer?.id;
  if (!method || owner !== customer.stripeCustomerId) throw notFound("Payment method");
  return method;
}

/**
 * Stores the default Stripe answered, stamped with the answer's time on Stripe's clock like every
 * API write of a customer, so an event of an older snapshot does not take it back; a state the
 * mirror stored meanwhile from a newer event (or a deletion) stays, untold again.
 */
async function setDefaultInMirror(
  ctx: RequestContext,
  customer: CustomerRow,
  tenant: { id: string; companyName: string },
  methodId: string | null,
  action: string,
  answer: Parameters<typeof stripeSeconds>[0],
) {
  const updated: CustomerRow = {
    ...customer,
    defaultPaymentMethod: methodId,
    lastEventCreated: stripeSeconds(answer) ?? customer.lastEventCreated,
    updatedAt: ctx.clock.now(),
  };
  const { lastEventCreated, updatedAt } = updated;
  await commitChange(ctx, {
    tenant,
    statements: [
      ctx.db
        .update(customers)
        .set({ defaultPaymentMethod: methodId, lastEventCreated, updatedAt })
        .where(and(eq(customers.id, customer.id), customerLands(updated))),
    ],
    unlessRecorded: customerPassed(updated),
    event: { type: "customer.updated", object: serializeCustomer(updated), livemode: customer.livemode },
    audit: { action, targetType: "customer", targetId: customer.id, metadata: { payment_method: methodId } },
  });
  return updated;
}

/** Attaches a payment method (from Stripe.js, or a test one such as `pm_card_visa`), optionally as the default. */
export async function attachPaymentMethod(
  ctx: RequestContext,
  idOrExternal: string,
  input: { payment_method: string; set_default: boolean },
) {
  const { customer, tenant, stripeAccount } = await billable(ctx, idOrExternal, "saving payment methods");
  const method = await attachStripePaymentMethod(
    ctx.stripe,
    input.payment_method,
    customer.stripeCustomerId,
    { stripeAccount },
  );
  const isDefault = input.set_default || customer.defaultPaymentMethod === null;
  if (isDefault) {
    const answer = await ctx.stripe.customers.update(
      customer.stripeCustomerId,
      { invoice_settings: { default_payment_method: method.id } },
      { stripeAccount },
    );
    await setDefaultInMirror(ctx, customer, tenant, method.id, "customer.payment_method_attached", answer);
  }
  return serializeMethod(method, isDefault ? method.id : customer.defaultPaymentMethod);
}

/** Makes one of the customer's payment methods the default for its invoices and subscriptions. */
export async function setDefaultPaymentMethod(ctx: RequestContext, idOrExternal: string, methodId: string) {
  const { customer, tenant, stripeAccount } = await billable(ctx, idOrExternal, "changing payment methods");
  const method = await methodOf(ctx, customer, stripeAccount, methodId);
  const answer = await ctx.stripe.customers.update(
    customer.stripeCustomerId,
    { invoice_settings: { default_payment_method: method.id } },
    { stripeAccount },
  );
  await setDefaultInMirror(ctx, customer, tenant, method.id, "customer.default_payment_method_set", answer);
  return serializeMethod(method, method.id);
}

/** Detaches a payment method; if it was the default, the customer has none until another is set. */
export async function detachPaymentMethod(ctx: RequestContext, idOrExternal: string, methodId: string) {
  const { customer, tenant, stripeAccount } = await billable(ctx, idOrExternal, "changing payment methods");
  const method = await methodOf(ctx, customer, stripeAccount, methodId);
  const answer = await ctx.stripe.paymentMethods
    .detach(method.id, {}, { stripeAccount })
    .catch(async (error: unknown) => {
      // Stripe refuses to detach a method no longer on a customer: a detach at once with this one
      // got there first, and this one answers as a detach after it would (404), not as Stripe failing.
      if (error instanceof Stripe.errors.StripeInvalidRequestError)
        await methodOf(ctx, customer, stripeAccount, method.id);
      throw error;
    });
  if (customer.defaultPaymentMethod === method.id)
    await setDefaultInMirror(ctx, customer, tenant, null, "customer.payment_method_detached", answer);
  return { ...serializeMethod(method, null), detached: true };
}

/**
 * A SetupIntent for Stripe.js on the tenant's page to collect a card for later payments: answers
 * its `client_secret` with what Stripe.js needs (the platform's publishable key and the account).
 */
export async function createSetupIntent(ctx: RequestContext, idOrExternal: string) {
  const { customer, stripeAccount } = await billable(ctx, idOrExternal, "collecting payment methods");
  const intent = await ctx.stripe.setupIntents.create(
    {
      customer: customer.stripeCustomerId,
      usage: "off_session",
      metadata: { tenant_id: customer.tenantId, customer_id: customer.id },
    },
    // Ours per request, never the caller's X-Request-Id: a reused one made Stripe replay an old intent.
    { stripeAccount, idempotencyKey: `setup-intent:${customer.id}:${newId("req")}` },
  );
  return {
    id: intent.id,
    client_secret: intent.client_secret ?? "",
    status: intent.status,
    customer: customer.id,
    publishable_key: ctx.config.stripe.publishableKey,
    stripe_account: stripeAccount,
  };
}

/** A Stripe customer-portal link where the tenant's customer updates cards and cancels. */
export async function createPortalSession(
  ctx: RequestContext,
  idOrExternal: string,
  input: { return_url: string },
) {
  const { customer, stripeAccount } = await billable(ctx, idOrExternal, "opening the customer portal");
  const session = await ctx.stripe.billingPortal.sessions.create(
    { customer: customer.stripeCustomerId, return_url: input.return_url },
    { stripeAccount },
  );
  return {
    id: session.id,
    url: session.url,
    return_url: session.return_url ?? input.return_url,
    customer: customer.id,
  };
}
