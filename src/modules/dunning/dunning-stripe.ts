import Stripe from "stripe";
import type { CustomerSubscriptionRow, InvoiceRow } from "../../db/schema";
import { stripeSeconds } from "../../stripe/client";
import type { MirrorRun } from "../billing-mirror/mirror-run";
import { subscriptionEventType } from "../billing-mirror/rules";
import { subscriptionFields, tenantMetadata } from "../subscriptions/stripe-subscription";
import { serializeSubscription } from "../subscriptions/subscriptions.schemas";
import type { DunningEffect } from "./dunning.rules";

/**
 * What dunning asks of Stripe, and the subscription mirror after it. Every call carries an
 * idempotency key made of the invoice and the threshold reached (or `recovered`), so a run retried
 * after its commit failed asks nothing twice; a cancellation (a DELETE, idempotent at Stripe by
 * itself) that finds the subscription canceled already is done.
 */

const EXPAND = ["discounts", "discounts.source.coupon"];

/** The subscription row after our own Stripe call, ordered on Stripe's clock. */
export function subscriptionAfter(
  run: MirrorRun,
  current: CustomerSubscriptionRow,
  answer: Stripe.Subscription,
) {
  const {
    discount,
    metadata,
    livemode: _livemode,
    ...fields
  } = subscriptionFields(answer as unknown as Record<string, unknown>);
  const stamp = stripeSeconds(answer) ?? 0;
  const next: CustomerSubscriptionRow = {
    ...current,
    ...fields,
    planId: current.planId,
    discount: discount === undefined ? current.discount : discount,
    metadata: tenantMetadata(metadata),
    lastEventCreated: Math.max(stamp, current.lastEventCreated ?? 0),
    updatedAt: run.ctx.clock.now(),
  };
  run.state.putSubscription(next, false);
  const type = subscriptionEventType(current, next);
  if (type) run.emit(type, serializeSubscription(next), next.livemode);
  return next;
}

/** The Stripe call of an effect, idempotent by invoice and threshold; the subscription as Stripe left it. */
export async function atStripe(
  run: MirrorRun,
  invoice: InvoiceRow,
  subscription: CustomerSubscriptionRow,
  effect: Extract<DunningEffect, { kind: "act" | "resume_collection" }>,
): Promise<Stripe.Subscription | null> {
  const stripe = run.ctx.stripe;
  const account = run.stripeAccount ? { stripeAccount: run.stripeAccount } : {};
  const key = `dunning:${invoice.stripeInvoiceId}:${effect.kind === "act" ? effect.attempt : "recovered"}`;
  const subscriptionId = subscription.stripeSubscriptionId;
  if (effect.kind === "resume_collection") {
    return stripe.subscriptions.update(
      subscriptionId,
      {
        pause_collection: "",
        metadata: { dunning_status: "" },
        expand: EXPAND,
      },
      { ...account, idempotencyKey: `${key}:resume` },
    );
  }
  if (effect.action === "leave_past_due") return null;
  if (effect.action === "cancel") {
    try {
      return await stripe.subscriptions.cancel(
        subscriptionId,
        { expand: EXPAND },
        { ...account, idempotencyKey: `${key}:cancel` },
      );
    } catch (error) {
      // Canceled meanwhile (by Stripe's own settings, or a replay after the key expired): done.
      if (!(error instanceof Stripe.errors.StripeInvalidRequestError)) throw error;
      const current = await stripe.subscriptions.retrieve(subscriptionId, { expand: EXPAND }, account);
      if (current.status !== "canceled") throw error;
      return current;
    }
  }
  // Stripe cannot set `unpaid` by API: stop collecting (no more retries of this invoice, new
  // invoices kept as drafts) and mark the subscription so the mirror reads it `unpaid`.
  await stripe.invoices.update(
    invoice.stripeInvoiceId,
    { auto_advance: false },
    { ...account, idempotencyKey: `${key}:stop-retries` },
  );
  return stripe.subscriptions.update(
    subscriptionId,
    {
      pause_collection: { behavior: "keep_as_draft" },
      metadata: { dunning_status: "unpaid" },
      expand: EXPAND,
    },
    { ...account, idempotencyKey: `${key}:mark-unpaid` },
  );
}
