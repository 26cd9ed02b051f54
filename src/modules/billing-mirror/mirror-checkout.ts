// Hosted Checkout sessions opened through the API: expired or completed, with the customer and
// subscription they made.
import type { CustomerSubscriptionRow } from "../../db/schema";
import { serializeCheckout } from "../checkout/checkout.schemas";
import type { StripeEventLike } from "../platform-billing/stripe-mapping";
import { serializeSubscription } from "../subscriptions/subscriptions.schemas";
import { customerFor } from "./mirror-customers";
import { type MirrorRun, type Obj, obj, str } from "./mirror-run";
import { idOf } from "./mirror-state";
import { subscriptionRow } from "./mirror-subscriptions";

export async function applyCheckout(run: MirrorRun, event: StripeEventLike, object: Obj): Promise<string> {
  const session = run.state.checkouts.get(str(object.id) ?? "");
  if (!session) return "ignored: not a session opened through the API";
  if (event.type === "checkout.session.expired") {
    if (session.status !== "open") return "no change";
    run.state.putCheckout({ ...session, status: "expired" });
    return "expired";
  }
  if (session.status === "complete") return "already completed";
  const details = obj(object.customer_details);
  const stripeCustomer = idOf(object.customer);
  const customer = stripeCustomer
    ? customerFor(run, stripeCustomer, object.livemode === true, {
        email: details.email ?? object.customer_email,
        name: details.name,
      })
    : undefined;
  const stripeSubscription = idOf(object.subscription);
  const subscription = stripeSubscription
    ? await checkoutSubscription(run, stripeSubscription, session.planId, event.created)
    : undefined;
  const completed = {
    ...session,
    status: "complete" as const,
    customerId: customer?.id ?? session.customerId,
    subscriptionId: subscription?.id ?? session.subscriptionId,
    completedAt: run.ctx.clock.now(),
  };
  run.state.putCheckout(completed);
  run.emit(
    "checkout.completed",
    { ...serializeCheckout(completed), stripe_subscription_id: stripeSubscription },
    completed.livemode,
  );
  return "mirrored: checkout.completed";
}

/**
 * The subscription a completed session made. Stripe does not order its events: when the
 * subscription's own have not come yet, it is read from Stripe and mirrored now (its
 * `subscription.created` first), so `checkout.completed` and the session name it whatever the
 * order. The read counts as of the session's event: the subscription's events up to then change
 * nothing (stale, or a tie settled by reading Stripe again), later ones apply as usual.
 */
async function checkoutSubscription(
  run: MirrorRun,
  stripeSubscriptionId: string,
  planId: string,
  created: number,
): Promise<CustomerSubscriptionRow> {
  const known = run.state.subscriptions.get(stripeSubscriptionId);
  if (known) return known;
  const snapshot = await run.current("subscriptions", stripeSubscriptionId);
  const row = subscriptionRow(run, undefined, snapshot, created);
  // The run may not know the price (no event of the subscription names it): the session's plan.
  const next = { ...row, planId: row.planId ?? planId };
  run.state.putSubscription(next, true);
  run.emit("subscription.created", serializeSubscription(next), next.livemode);
  return next;
}
