import { eq } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import Stripe from "stripe";
import { type RequestContext, userCaller } from "../../context";
import { type SubscribeClaim, withSubscribeClaim } from "../../coordinator/client";
import {
  type PlatformPlanRow,
  platformPlans,
  type TenantRow,
  type TenantSubscriptionRow,
  tenants,
  users,
} from "../../db/schema";
import { findTenantWithSubscription } from "../../db/tenants";
import { auditInsert } from "../../lib/audit";
import { ApiError, notFound } from "../../lib/errors";
import { stripeSeconds } from "../../stripe/client";
import { attachPaymentMethod } from "../../stripe/payment-methods";
import { publishOrOwe } from "../api-keys/api-keys.service";
import { newEdgeDebt, oweEdgeRecords } from "../api-keys/edge-debts";
import { subscriptionSnapshot, toBillingEvent } from "./stripe-mapping";
import type { BillingEvent } from "./suspension";

const LIVE_STATUSES = new Set(["incomplete", "trialing", "active", "past_due", "unpaid"]);

/** The caller's tenant, its platform subscription and plan. */
export const mySubscription = (ctx: RequestContext) => loadSubscription(ctx, userCaller(ctx).tenantId);

export async function loadSubscription(ctx: RequestContext, tenantId: string) {
  const { tenant, subscription: found } = await findTenantWithSubscription(ctx.db, tenantId);
  if (!tenant) throw notFound("Tenant");
  const subscription = found ?? null;
  const plan = subscription?.planId
    ? ((await ctx.db.select().from(platformPlans).where(eq(platformPlans.id, subscription.planId)).get()) ??
      null)
    : null;
  return { tenant, subscription, plan };
}

export async function listPlatformPlans(ctx: RequestContext): Promise<PlatformPlanRow[]> {
  return ctx.db
    .select()
    .from(platformPlans)
    .where(eq(platformPlans.isActive, true))
    .orderBy(platformPlans.priceCents);
}

export async function purchasablePlan(
  ctx: RequestContext,
  planId: string,
): Promise<PlatformPlanRow & { stripePriceId: string }> {
  const plan = await ctx.db.select().from(platformPlans).where(eq(platformPlans.id, planId)).get();
  if (!plan?.isActive) throw notFound("Platform plan");
  if (!plan.stripePriceId) {
    throw new ApiError(
      "conflict",
      "This plan is not synced to Stripe yet; the platform operator must run the plan sync",
    );
  }
  return plan as PlatformPlanRow & { stripePriceId: string };
}

/**
 * The price a subscription pays, from Stripe's answer (the plan's as a fallback): the plan may be
 * repriced later, and only new subscriptions take the new price.
 */
export function pricePaid(
  subscription: Stripe.Subscription,
  plan: PlatformPlanRow,
): Pick<TenantSubscriptionRow, "priceCents" | "priceCurrency" | "priceInterval"> {
  const price = subscription.items?.data?.[0]?.price;
  const interval = price?.recurring?.interval;
  return {
    priceCents: price?.unit_amount ?? plan.priceCents,
    priceCurrency: price?.currency ?? plan.currency,
    priceInterval: interval === "month" ? "month" : interval === "year" ? "year" : plan.billingInterval,
  };
}

/** What `settle` hands on: the subscription as Stripe answered it, and what goes with it. */
export interface Settlement {
  type: BillingEvent["type"] & `customer.subscription.${string}`;
  subscription: Stripe.Subscription;
  /** Written to the tenant's subscription row with the event. */
  changes?: Partial<TenantSubscriptionRow>;
  /** The plan the tenant is now on: its tier and limits are set, the API keys republished. */
  plan?: PlatformPlanRow | null;
  /** The audit record's action; without one, nothing is audited (nothing changed at Stripe). */
  action?: string | null;
  /** Invoices paid (by this request or another): their payments go with the snapshot. */
  paidInvoices?: Stripe.Invoice[];
}

/**
 * Hands the subscription's new state to the tenant's coordinator as a billing event, so it goes
 * through the same state machine as Stripe's own events (which, arriving later and older, then
 * change nothing); and sets the tenant's tier and limits to the plan's.
 */
export async function settle(
  ctx: RequestContext,
  actor: { tenant: TenantRow; userId: string },
  { type, subscription, changes = {}, plan = null, action = null, paidInvoices = [] }: Settlement,
) {
  const { tenant } = actor;
  const { db, clock } = ctx;
  const now = clock.now();
  // Ordered on Stripe's clock (the new subscription's `created`, else the answer's Date header),
  // so Stripe's own events of the same second are neither older nor newer by our clock's skew.
  const created =
    stripeSeconds(subscription, type === "customer.subscription.created") ?? Math.floor(now.getTime() / 1000);
  const events: BillingEvent[] = [
    {
      type,
      created,
      subscription: subscriptionSnapshot(subscription as unknown as Record<string, unknown>),
    } as BillingEvent,
  ];
  // A subscription that starts active was paid for on creation: that payment counts (and lifts
  // a billing suspension, which is how a suspended tenant fixes billing).
  const invoice = subscription.latest_invoice;
  if (type === "customer.subscription.created" && subscription.status === "active" && invoice) {
    events.push({
      type: "invoice.payment_succeeded",
      created,
      invoiceId: typeof invoice === "string" ? invoice : invoice.id,
      subscriptionId: subscription.id,
      amountPaid: plan?.priceCents ?? 0,
      currency: plan?.currency ?? "usd",
    });
  }
  for (const paid of paidInvoices) {
    const payment = toBillingEvent({
      id: paid.id as string,
      type: "invoice.payment_succeeded",
      created,
      data: { object: paid as unknown as Record<string, unknown> },
    });
    if (payment) events.push(payment);
  }
  await ctx
    .coordinator(tenant.id)
    .applyBilling({ tenantId: tenant.id, events, changes, requestId: ctx.requestId });
  const debt = newEdgeDebt(tenant.id);
  const statements: BatchItem<"sqlite">[] = [
    ...(action
      ? [
          auditInsert(db, {
            tenantId: tenant.id,
            actorType: "user",
            actorId: actor.userId,
            action,
            targetType: "subscription",
            targetId: subscription.id,
            metadata: { plan_id: plan?.id ?? null, status: subscription.status },
            requestId: ctx.requestId,
            at: now,
          }),
        ]
      : []),
    ...(plan
      ? [
          db
            .update(tenants)
            .set({ subscriptionTier: plan.tier, limits: plan.limits })
            .where(eq(tenants.id, tenant.id)),
          oweEdgeRecords(db, debt, now),
        ]
      : []),
  ];
  const [first, ...rest] = statements;
  if (first) await db.batch([first, ...rest]);
  // The API keys' edge records carry the tier's rate limit.
  if (plan) await publishOrOwe(ctx, debt, "a plan change");
}

export interface SubscribeInput {
  plan_id: string;
  payment_method_id: string;
}

/**
 * Subscribes the tenant to a platform plan: the Stripe customer (`metadata.tenant_id`, the
 * payment method from Stripe.js as its default) is made once, then the subscription; both with
 * idempotency keys, so a retried request never makes a second one. One subscribe of a tenant
 * runs at a time (the tenant's subscribe claim, held from the live check to the D1 write): a
 * second request meanwhile is 409 `conflict` and changes nothing. A declined card is Stripe's
 * answer, passed on; nothing is stored then. The trial is the plan's (set by the operator), and
 * a tenant gets one trial ever: a tenant that had one (and cancelled) pays at once.
 */
export async function subscribe(ctx: RequestContext, input: SubscribeInput) {
  const { tenantId } = userCaller(ctx);
  return withSubscribeClaim(ctx, tenantId, (claim) => subscribeClaimed(ctx, input, claim));
}

/**
 * Whether Stripe answered and refused, so it made nothing. A 409 (a concurrent request with the
 * key) or an idempotency error (the key was used for another request) says nothing of that.
 */
function refusedByStripe(error: unknown): boolean {
  if (!(error instanceof Stripe.errors.StripeError) || error instanceof Stripe.errors.StripeIdempotencyError)
    return false;
  const status = error.statusCode ?? 500;
  return status >= 400 && status < 500 && status !== 409;
}

async function subscribeClaimed(ctx: RequestContext, input: SubscribeInput, claim: SubscribeClaim) {
  const { stripe } = ctx;
  const principal = userCaller(ctx);
  const { tenant, subscription } = await loadSubscription(ctx, principal.tenantId);
  if (subscription && LIVE_STATUSES.has(subscription.status)) {
    throw new ApiError("conflict", "The tenant already has a subscription; change its plan with PATCH");
  }
  const plan = await purchasablePlan(ctx, input.plan_id);
  const owner = await ctx.db
    .select({ email: users.email })
    .from(users)
    .where(eq(users.id, principal.userId))
    .get();

  let customerId = subscription?.stripeCustomerId ?? null;
  if (!customerId) {
    const customer = await stripe.customers.create(
      {
        name: tenant.companyName,
        ...(owner ? { email: owner.email } : {}),
        metadata: { tenant_id: tenant.id },
      },
      { idempotencyKey: `tenant-customer:${tenant.id}` },
    );
    customerId = customer.id;
  }
  const customer = customerId;
  // A subscription that ever had a trial end (before trials were recorded) counts as one trial.
  const trialDays = subscription?.trialUsedAt || subscription?.trialEnd ? 0 : plan.trialDays;
  await attachPaymentMethod(stripe, input.payment_method_id, customer);
  await stripe.customers.update(customer, {
    invoice_settings: { default_payment_method: input.payment_method_id },
  });
  // The key names the tenant's state and the claim's attempt, not the request: a retry after an
  // unknown outcome sends it again (Stripe replays or refuses), and no other request makes a second.
  const idempotencyKey = `tenant-subscription:${tenant.id}:${subscription?.updatedAt.getTime() ?? 0}:${claim.attempt}`;
  const created = await stripe.subscriptions
    .create(
      {
        customer,
        items: [{ price: plan.stripePriceId }],
        default_payment_method: input.payment_method_id,
        ...(trialDays ? { trial_period_days: trialDays } : {}),
        payment_behavior: "error_if_incomplete",
        metadata: { tenant_id: tenant.id, platform_plan_id: plan.id, subscribe_attempt: idempotencyKey },
      },
      { idempotencyKey },
    )
    .catch(async (error: unknown) => {
      if (!refusedByStripe(error) && (await madeByAttempt(ctx, customer, idempotencyKey)) !== false)
        claim.outcomeUnknown = true;
      throw error;
    });
  // Stripe made it: until D1 has it, the next attempt must send the same key.
  claim.outcomeUnknown = true;
  await settle(
    ctx,
    { tenant, userId: principal.userId },
    {
      type: "customer.subscription.created",
      subscription: created,
      changes: {
        planId: plan.id,
        ...pricePaid(created, plan),
        stripeCustomerId: customer,
        stripeSubscriptionId: created.id,
        ...(trialDays ? { trialUsedAt: ctx.clock.now() } : {}),
      },
      plan,
      action: "subscription.created",
    },
  );
  claim.outcomeUnknown = false;
  return loadSubscription(ctx, tenant.id);
}

/**
 * Whether the create of this attempt made a subscription at Stripe, after it failed without
 * Stripe's refusal (no answer, a 5xx): false when Stripe lists none of the customer's with the
 * attempt's key, so the next attempt may use a new one (Stripe keeps a 5xx under its key for 24 h
 * and would answer it again); null when Stripe cannot tell now (the same key is sent again).
 */
async function madeByAttempt(
  ctx: RequestContext,
  customer: string,
  attempt: string,
): Promise<boolean | null> {
  try {
    const listed = await ctx.stripe.subscriptions.list({ customer, status: "all", limit: 100 });
    return listed.data.some((subscription) => subscription.metadata?.subscribe_attempt === attempt);
  } catch {
    return null;
  }
}

export function requireLive(
  subscription: TenantSubscriptionRow | null,
): TenantSubscriptionRow & { stripeSubscriptionId: string } {
  if (!subscription?.stripeSubscriptionId || !LIVE_STATUSES.has(subscription.status)) {
    throw new ApiError("conflict", "The tenant has no active subscription");
  }
  return subscription as TenantSubscriptionRow & { stripeSubscriptionId: string };
}

/**
 * Cancels at period end (the tenant keeps its plan until then) or now. Cancelling now is the
 * contract's `customer.subscription.deleted`: the tenant is suspended at once.
 */
export async function cancel(ctx: RequestContext, input: { at_period_end: boolean }) {
  const { stripe } = ctx;
  const principal = userCaller(ctx);
  const { tenant, subscription } = await loadSubscription(ctx, principal.tenantId);
  const live = requireLive(subscription);
  if (input.at_period_end) {
    const updated = await stripe.subscriptions.update(live.stripeSubscriptionId, {
      cancel_at_period_end: true,
    });
    await settle(
      ctx,
      { tenant, userId: principal.userId },
      {
        type: "customer.subscription.updated",
        subscription: updated,
        action: "subscription.cancel_scheduled",
      },
    );
  } else {
    const cancelled = await stripe.subscriptions.cancel(live.stripeSubscriptionId);
    await settle(
      ctx,
      { tenant, userId: principal.userId },
      {
        type: "customer.subscription.deleted",
        subscription: cancelled,
        action: "subscription.cancelled",
      },
    );
  }
  return loadSubscription(ctx, tenant.id);
}
