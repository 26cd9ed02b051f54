import type { RequestContext } from "../../context";
import { type CheckoutSessionRow, checkoutSessions } from "../../db/schema";
import { newId } from "../../lib/crypto";
import { ApiError, forbidden, notFound, validationError } from "../../lib/errors";
import { assertStripeAmount } from "../../lib/money";
import { writeScope } from "../../lib/scope";
import { activeCustomer } from "../customers/customers.queries";
import { getPlan } from "../plans/plans.queries";
import { connectedTenant } from "../stripe-connect/connected-account";
import { assertCustomerCurrency } from "../subscriptions/subscriptions.service";
import { commitChange } from "../webhooks/outbox";

export interface NewCheckout {
  plan: string;
  quantity: number;
  customer?: string | undefined;
  customer_email?: string | undefined;
  success_url: string;
  cancel_url: string;
  trial_days?: number | undefined;
  allow_promotion_codes?: boolean | undefined;
  metadata?: Record<string, string> | undefined;
}

/**
 * A pricing page's publishable key may only start a checkout of a visible plan for a new
 * customer, sending the browser back to the tenant's own site: the fields that name an existing
 * customer or change the price are for the tenant's servers and users.
 */
function checkPublishable(input: NewCheckout, domain: string | null) {
  for (const field of ["customer", "trial_days", "metadata"] as const) {
    if (input[field] !== undefined)
      throw forbidden(`A publishable key cannot set \`${field}\`; use a secret key`);
  }
  if (!domain) return;
  for (const field of ["success_url", "cancel_url"] as const) {
    const host = new URL(input[field]).hostname;
    if (host !== domain && !host.endsWith(`.${domain}`))
      throw validationError(
        field,
        `With a publishable key, redirects stay on the tenant's domain (${domain})`,
      );
  }
}

/**
 * Opens a Stripe Checkout session in subscription mode on the tenant's connected account, with
 * the platform's fee; its completion (`checkout.session.completed`) creates the customer and the
 * subscription in the mirror and the `checkout.completed` tenant event.
 */
export async function createCheckoutSession(
  ctx: RequestContext,
  input: NewCheckout,
): Promise<CheckoutSessionRow> {
  const scope = writeScope(ctx);
  const caller = ctx.caller;
  const publishable = caller?.kind === "api_key" && caller.keyKind === "publishable";
  const tenant = await connectedTenant(ctx, scope.tenantId, "opening Checkout");
  if (publishable) checkPublishable(input, tenant.domain);
  const plan = await getPlan(ctx, input.plan);
  if (!plan.isActive || plan.livemode !== scope.livemode)
    throw new ApiError("invalid_state_transition", "This plan is not active: checkouts need an active plan");
  assertStripeAmount(plan.priceCents, input.quantity, "quantity");
  const customer = input.customer ? await activeCustomer(ctx, input.customer) : null;
  if (customer && customer.livemode !== scope.livemode) throw notFound("Customer");
  if (customer) await assertCustomerCurrency(ctx, customer, plan.currency);
  const id = newId("chk");
  const trialDays = input.trial_days ?? plan.trialDays;
  const session = await ctx.stripe.checkout.sessions.create(
    {
      mode: "subscription",
      line_items: [{ price: plan.stripePriceId, quantity: input.quantity }],
      ...(customer
        ? { customer: customer.stripeCustomerId }
        : input.customer_email
          ? { customer_email: input.customer_email }
          : {}),
      success_url: input.success_url,
      cancel_url: input.cancel_url,
      client_reference_id: id,
      ...(input.allow_promotion_codes ? { allow_promotion_codes: true } : {}),
      subscription_data: {
        application_fee_percent: ctx.config.stripe.platformFeePercent,
        ...(trialDays > 0 ? { trial_period_days: trialDays } : {}),
        metadata: {
          ...input.metadata,
          tenant_id: tenant.id,
          plan_id: plan.id,
          checkout_session_id: id,
          ...(customer ? { customer_id: customer.id } : {}),
        },
      },
      metadata: { tenant_id: tenant.id, checkout_session_id: id },
    },
    { stripeAccount: tenant.stripeConnectAccountId, idempotencyKey: `checkout:${id}` },
  );
  const now = ctx.clock.now();
  const row: CheckoutSessionRow = {
    id,
    tenantId: tenant.id,
    livemode: session.livemode,
    stripeSessionId: session.id,
    planId: plan.id,
    customerId: customer?.id ?? null,
    customerEmail: customer?.email ?? input.customer_email ?? null,
    quantity: input.quantity,
    status: "open",
    url: session.url,
    successUrl: input.success_url,
    cancelUrl: input.cancel_url,
    subscriptionId: null,
    expiresAt: session.expires_at ? new Date(session.expires_at * 1000) : null,
    completedAt: null,
    createdBy: scope.actor.actorId ?? "unknown",
    createdAt: now,
  };
  // A session nobody has paid needs no undo: it expires at Stripe on its own.
  await commitChange(ctx, {
    tenant,
    statements: [ctx.db.insert(checkoutSessions).values(row)],
    audit: {
      action: "checkout.session_created",
      targetType: "checkout_session",
      targetId: id,
      metadata: { plan_id: plan.id },
    },
  });
  return row;
}
