import { and, eq, ne, notInArray, type SQL, sql } from "drizzle-orm";
import type Stripe from "stripe";
import type { RequestContext } from "../../context";
import {
  type CustomerRow,
  type CustomerSubscriptionRow,
  customerSubscriptions,
  invoices,
  type PlanRow,
} from "../../db/schema";
import { ApiError, notFound, validationError } from "../../lib/errors";
import { assertStripeAmount } from "../../lib/money";
import { readScope, visibleIn, writeScope } from "../../lib/scope";
import { replayedByStripe, stripeSeconds } from "../../stripe/client";
import { withStripeUndo } from "../../stripe/undo";
import { createdByApi } from "../billing-mirror/api-created";
import { subscriptionLands, subscriptionPassed } from "../billing-mirror/row-guards";
import { assertDiscountCurrency } from "../coupons/discount-currency";
import { discountsFor } from "../coupons/discounts";
import { activeCustomer } from "../customers/customers.queries";
import { requestObjectId } from "../idempotency/idempotency";
import { getPlan } from "../plans/plans.queries";
import { type ConnectedTenant, connectedTenant } from "../stripe-connect/connected-account";
import { commitChange } from "../webhooks/outbox";
import { subscriptionFields, tenantMetadata } from "./stripe-subscription";
import { type LatestInvoice, latestInvoiceOf, serializeSubscription } from "./subscriptions.schemas";

export const EXPAND = ["latest_invoice.confirmation_secret", "discounts", "discounts.source.coupon"];

/** A subscription of the caller's tenant (and mode); another tenant's is 404. */
export async function findSubscription(ctx: RequestContext, id: string) {
  const scope = readScope(ctx);
  const row = await ctx.db
    .select()
    .from(customerSubscriptions)
    .where(and(eq(customerSubscriptions.id, id), eq(customerSubscriptions.tenantId, scope.tenantId)))
    .get();
  if (!row || !visibleIn(row, scope)) throw notFound("Subscription");
  return row;
}

/**
 * The subscription with its latest invoice, for the API's answers: from the invoice mirror, else
 * (an invoice Stripe made in the call being answered, whose events have not reached the mirror
 * yet) from Stripe's answer to that call, `subscription` with `latest_invoice` expanded.
 */
export async function subscriptionView(
  ctx: RequestContext,
  row: CustomerSubscriptionRow,
  subscription?: Stripe.Subscription,
) {
  if (!row.latestInvoiceId) return serializeSubscription(row);
  const mirrored = await ctx.db
    .select()
    .from(invoices)
    .where(eq(invoices.stripeInvoiceId, row.latestInvoiceId))
    .get();
  if (mirrored) return serializeSubscription(row, latestInvoiceOf(mirrored));
  const invoice = subscription?.latest_invoice;
  return serializeSubscription(
    row,
    invoice && typeof invoice === "object" && invoice.id === row.latestInvoiceId ? fromStripe(invoice) : null,
  );
}

function fromStripe(invoice: Stripe.Invoice): LatestInvoice {
  return {
    id: null,
    stripe_invoice_id: invoice.id ?? "",
    status: invoice.status ?? "draft",
    amount_due: invoice.amount_due,
    amount_paid: invoice.amount_paid,
    currency: invoice.currency,
    hosted_invoice_url: invoice.hosted_invoice_url ?? null,
  };
}

/** A subscription our API has just made or changed: the mirror's row and Stripe's answer. */
export interface Answered {
  row: CustomerSubscriptionRow;
  /** Stripe's answer; none when there was nothing to ask Stripe to change. */
  subscription?: Stripe.Subscription;
  /** Whether our view of the change was written (else `row` is the mirror's, as stored). */
  written: boolean;
}

/** A plan the tenant sells in this mode, active. */
export async function sellablePlan(ctx: RequestContext, planId: string, livemode: boolean): Promise<PlanRow> {
  const plan = await getPlan(ctx, planId);
  if (!plan.isActive || plan.livemode !== livemode) {
    throw new ApiError(
      "invalid_state_transition",
      "This plan is not active: subscriptions need an active plan",
    );
  }
  return plan;
}

/** The mirror row of a Stripe subscription our API just made or changed, ordered on Stripe's clock. */
function rowFrom(
  base: Omit<
    CustomerSubscriptionRow,
    keyof ReturnType<typeof subscriptionFields> | "lastEventCreated" | "updatedAt"
  >,
  subscription: Stripe.Subscription,
  previous: CustomerSubscriptionRow | null,
  created: boolean,
  now: Date,
): CustomerSubscriptionRow {
  const { discount, metadata, ...fields } = subscriptionFields(
    subscription as unknown as Record<string, unknown>,
  );
  return {
    ...base,
    ...fields,
    discount: discount === undefined ? (previous?.discount ?? null) : discount,
    metadata: tenantMetadata(metadata),
    lastEventCreated: stripeSeconds(subscription, created),
    updatedAt: now,
  };
}

export interface NewSubscription {
  customer: string;
  plan: string;
  quantity: number;
  trial_days?: number | undefined;
  coupon?: string | undefined;
  promotion_code?: string | undefined;
  default_payment_method?: string | undefined;
  payment_behavior: "default_incomplete" | "allow_incomplete" | "error_if_incomplete";
  metadata?: Record<string, string> | undefined;
}

/**
 * Stripe bills a customer's subscriptions in one currency: while one of them has not ended, a
 * plan in another currency is refused there. Ours refuses it first, as a 400 on `plan`, for
 * subscription create and for a Checkout session naming the customer. A read before Stripe's
 * write: a subscription in another currency made meanwhile (or by a Checkout paid later) is still
 * Stripe's to refuse.
 */
export async function assertCustomerCurrency(ctx: RequestContext, customer: CustomerRow, currency: string) {
  const running = await ctx.db
    .select({ id: customerSubscriptions.id, currency: customerSubscriptions.currency })
    .from(customerSubscriptions)
    .where(
      and(
        eq(customerSubscriptions.tenantId, customer.tenantId),
        eq(customerSubscriptions.customerId, customer.id),
        ne(customerSubscriptions.currency, currency),
        notInArray(customerSubscriptions.status, [...ENDED]),
      ),
    )
    .get();
  if (running) {
    throw validationError(
      "plan",
      `This plan is billed in ${currency}, but the customer's subscription ${running.id} in ${running.currency}: Stripe bills a customer's subscriptions in one currency`,
    );
  }
}

/**
 * Subscribes a customer to a plan on the tenant's connected account, with the platform's fee
 * (`application_fee_percent`) and an idempotency key from our new id. The first invoice waits
 * for the customer (`default_incomplete`, answering its `client_secret`) unless the caller asks
 * to charge the default method now. One D1 batch stores it with its `subscription.created`
 * event; if that fails, the Stripe subscription is cancelled again.
 */
export async function createSubscription(ctx: RequestContext, input: NewSubscription) {
  const scope = writeScope(ctx);
  const customer = await activeCustomer(ctx, input.customer);
  if (customer.livemode !== scope.livemode) throw notFound("Customer");
  const plan = await sellablePlan(ctx, input.plan, scope.livemode);
  assertStripeAmount(plan.priceCents, input.quantity, "quantity");
  await assertCustomerCurrency(ctx, customer, plan.currency);
  const tenant = await connectedTenant(ctx, scope.tenantId, "creating subscriptions");
  const stripeAccount = tenant.stripeConnectAccountId;
  // A create sent again with its Idempotency-Key (no answer reached the client: Stripe's was lost,
  // or our write failed and the undo cancelled it) is the same subscription: the same id, so the
  // same Stripe idempotency key, and Stripe answers the one it made instead of charging again.
  const { id, seeded } = await requestObjectId(ctx, "subs", "subscription");
  if (seeded) {
    // Recorded already (the key's stored answer has expired since): that subscription.
    const made = await ctx.db
      .select()
      .from(customerSubscriptions)
      .where(and(eq(customerSubscriptions.id, id), eq(customerSubscriptions.tenantId, tenant.id)))
      .get();
    if (made) return { row: made, clientSecret: null, subscription: undefined };
  }
  const trialDays = input.trial_days ?? plan.trialDays;
  // The coupon or promotion code named (one of the tenant's), else the customer's own where it applies.
  const discount = await discountsFor(ctx, customer, input, plan.currency);
  assertDiscountCurrency(discount, plan.currency);
  const discounts = discount ? [discount.stripe] : undefined;
  return withStripeUndo(ctx, async (undo) => {
    let subscription = await ctx.stripe.subscriptions.create(
      {
        customer: customer.stripeCustomerId,
        items: [{ price: plan.stripePriceId, quantity: input.quantity }],
        application_fee_percent: ctx.config.stripe.platformFeePercent,
        payment_behavior: input.payment_behavior,
        payment_settings: { save_default_payment_method: "on_subscription" },
        ...(trialDays > 0 ? { trial_period_days: trialDays } : {}),
        ...(discounts ? { discounts } : {}),
        ...(input.default_payment_method ? { default_payment_method: input.default_payment_method } : {}),
        metadata: {
          ...input.metadata,
          tenant_id: tenant.id,
          subscription_id: id,
          customer_id: customer.id,
          plan_id: plan.id,
        },
        expand: EXPAND,
      },
      { stripeAccount, idempotencyKey: `subscription:${id}` },
    );
    // Stripe's stored first answer: the subscription may have moved since (cancelled by our undo).
    if (replayedByStripe(subscription)) {
      subscription = await ctx.stripe.subscriptions.retrieve(
        subscription.id,
        { expand: EXPAND },
        { stripeAccount },
      );
    }
    const made = subscription;
    if (made.status !== "canceled")
      undo.push(`cancel subscription ${made.id}`, () =>
        ctx.stripe.subscriptions.cancel(made.id, {}, { stripeAccount }),
      );
    const now = ctx.clock.now();
    const row = rowFrom(
      { id, tenantId: tenant.id, customerId: customer.id, planId: plan.id, createdAt: now },
      subscription,
      null,
      true,
      now,
    );
    await commit(ctx, tenant, row, {
      ...createdByApi(
        ctx.db,
        customerSubscriptions,
        { column: customerSubscriptions.stripeSubscriptionId, value: row.stripeSubscriptionId },
        row,
      ),
      type: "subscription.created",
    });
    const invoice = subscription.latest_invoice;
    const secret =
      row.status === "incomplete" && invoice && typeof invoice === "object"
        ? (invoice.confirmation_secret?.client_secret ?? null)
        : null;
    return { row, clientSecret: secret, subscription };
  });
}

function commit(
  ctx: RequestContext,
  tenant: ConnectedTenant,
  row: CustomerSubscriptionRow,
  change: {
    statement: Parameters<typeof commitChange>[1]["statements"][number];
    type: string;
    metadata?: Record<string, unknown>;
    unlessRecorded?: SQL;
    auditOnlyIfChanged?: boolean;
  },
) {
  return commitChange(ctx, {
    tenant,
    statements: [change.statement],
    ...(change.unlessRecorded ? { unlessRecorded: change.unlessRecorded } : {}),
    ...(change.auditOnlyIfChanged ? { auditOnlyIfChanged: true } : {}),
    event: { type: change.type, object: serializeSubscription(row), livemode: row.livemode },
    audit: {
      action: change.type,
      targetType: "subscription",
      targetId: row.id,
      metadata: { status: row.status, plan_id: row.planId, quantity: row.quantity, ...change.metadata },
    },
  });
}

/** The subscription, writable by the caller, with the connected account it lives on. */
export async function changeable(ctx: RequestContext, id: string, forWhat: string) {
  const row = await findSubscription(ctx, id);
  const scope = writeScope(ctx);
  if (row.livemode !== scope.livemode) throw notFound("Subscription");
  const tenant = await connectedTenant(ctx, scope.tenantId, forWhat);
  return { row, tenant, stripeAccount: tenant.stripeConnectAccountId };
}

const ENDED = new Set<CustomerSubscriptionRow["status"]>(["canceled", "incomplete_expired"]);

export function refuseEnded(row: CustomerSubscriptionRow, action: string) {
  if (ENDED.has(row.status)) {
    throw new ApiError("invalid_state_transition", `A ${row.status} subscription cannot be ${action}`, {
      extra: { status: row.status },
    });
  }
}

/**
 * Refuses what Stripe refuses on an `incomplete` subscription (its first invoice not paid yet):
 * there only its metadata and default payment method may change, or it may be cancelled now.
 */
export function refuseIncomplete(row: CustomerSubscriptionRow, action: string) {
  refuseEnded(row, action);
  if (row.status === "incomplete") {
    throw new ApiError(
      "invalid_state_transition",
      `An incomplete subscription cannot be ${action} until its first invoice is paid: only its metadata can change, or it can be cancelled now`,
      { extra: { status: row.status } },
    );
  }
}

/**
 * Applies a Stripe change to the mirror with its tenant event (`subscription.updated` or
 * `.canceled`), ordered on Stripe's clock like every mirror write: if the mirror already holds a
 * newer state (a Connect event of a later change got there first), or one of the same second the
 * answer's state cannot follow (an ended subscription), the API's view changes nothing, tells
 * nobody, and the answer is the mirror's row.
 *
 * `onlyIf` (SQL over the stored row, never NULL, given our view of the change) is the state a verb
 * moves the subscription from: when the stored row is no longer in it (the same verb at once, or
 * before, already did it; Stripe changed nothing and tells nothing), nothing is written, told or
 * audited either, unless Stripe's answer brings a status the mirror does not hold.
 */
export async function applyChange(
  ctx: RequestContext,
  tenant: ConnectedTenant,
  row: CustomerSubscriptionRow,
  subscription: Stripe.Subscription,
  changes: { planId?: string; action: string; onlyIf?: (next: CustomerSubscriptionRow) => SQL },
): Promise<Answered> {
  const now = ctx.clock.now();
  const next = rowFrom({ ...row, planId: changes.planId ?? row.planId }, subscription, row, false, now);
  const type =
    next.status === "canceled" && row.status !== "canceled"
      ? "subscription.canceled"
      : "subscription.updated";
  const { id: _id, tenantId: _t, createdAt: _c, ...fields } = next;
  const lands = changes.onlyIf
    ? // A status of Stripe's answer the mirror does not hold yet is a change to write all the same.
      sql`(${subscriptionLands(next)} AND (${changes.onlyIf(next)} OR ${customerSubscriptions.status} IS NOT ${next.status}))`
    : subscriptionLands(next);
  const written = await commit(ctx, tenant, next, {
    statement: ctx.db
      .update(customerSubscriptions)
      .set(fields)
      .where(and(eq(customerSubscriptions.id, row.id), lands)),
    unlessRecorded: changes.onlyIf
      ? sql`SELECT 1 FROM ${customerSubscriptions} WHERE ${customerSubscriptions.id} = ${row.id} AND NOT ${lands}`
      : subscriptionPassed(next),
    ...(changes.onlyIf ? { auditOnlyIfChanged: true } : {}),
    type,
    metadata: { action: changes.action, previous_status: row.status },
  });
  return {
    row: written ? next : await findSubscription(ctx, row.id),
    subscription,
    written: written !== null,
  };
}
