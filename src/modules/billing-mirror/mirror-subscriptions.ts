// The mirror's subscriptions: every snapshot is a point of the MRR history; the newest is the row.
import type { CustomerSubscriptionRow } from "../../db/schema";
import type { StripeEventLike } from "../platform-billing/stripe-mapping";
import { subscriptionFields, tenantMetadata } from "../subscriptions/stripe-subscription";
import { serializeSubscription } from "../subscriptions/subscriptions.schemas";
import { customerFor } from "./mirror-customers";
import { type MirrorRun, type Obj, ourId, snapshotToApply, str } from "./mirror-run";
import { subscriptionPassed } from "./row-guards";
import { SUBSCRIPTION_FIELDS, subscriptionEventType } from "./rules";

export function subscriptionRow(
  run: MirrorRun,
  current: CustomerSubscriptionRow | undefined,
  snapshot: Obj,
  created: number,
  /** The id a subscription new to the mirror takes (one per event, shared by its analytics state). */
  newRowId?: string,
): CustomerSubscriptionRow {
  const { discount, metadata, livemode, ...fields } = subscriptionFields(snapshot);
  const customer = customerFor(run, fields.stripeCustomerId, livemode);
  const now = run.ctx.clock.now();
  return {
    ...fields,
    id:
      current?.id ??
      newRowId ??
      ourId(run, "subscription", metadata.subscription_id, fields.stripeSubscriptionId),
    tenantId: run.tenant.id,
    livemode: current?.livemode ?? livemode,
    customerId: current?.customerId ?? customer.id,
    planId:
      (fields.stripePriceId && run.state.planByPrice.get(fields.stripePriceId)) || (current?.planId ?? null),
    discount: discount === undefined ? (current?.discount ?? null) : discount,
    metadata: tenantMetadata(metadata),
    lastEventCreated: created,
    createdAt: current?.createdAt ?? now,
    updatedAt: now,
  };
}

export async function applySubscription(
  run: MirrorRun,
  event: StripeEventLike,
  object: Obj,
): Promise<string> {
  const stripeId = str(object.id) ?? "";
  const current = run.state.subscriptions.get(stripeId);
  if (event.type === "customer.subscription.trial_will_end") {
    if (!current) return "ignored: unknown subscription";
    run.emit("subscription.trial_will_end", serializeSubscription(current), current.livemode);
    return "notified: subscription.trial_will_end";
  }
  const asOfEvent = subscriptionRow(run, current, object, event.created);
  const settled = await snapshotToApply(
    current,
    event.created,
    (snapshot) => subscriptionRow(run, current, snapshot, event.created, asOfEvent.id),
    SUBSCRIPTION_FIELDS,
    object,
    () => run.current("subscriptions", stripeId),
  );
  // Every snapshot is a point of the subscription's MRR history, even one older than the mirror.
  // Two snapshots of one second that differ (changed twice within it) cannot be ordered by their
  // time, so the mirror read the subscription at Stripe: that reading is the point of this event,
  // at the end of its second (`settledAtStripe`), so the ledger ends the second where the mirror
  // does, whatever order the events came in and however their ids sort.
  const settledAtStripe = !("skip" in settled) && settled.snapshot !== object;
  const point = settledAtStripe
    ? subscriptionRow(run, current, settled.snapshot, event.created, asOfEvent.id)
    : asOfEvent;
  run.analytics.addSnapshot({
    subscriptionId: point.id,
    customerId: point.customerId,
    planId: point.planId,
    livemode: point.livemode,
    sourceEventId: event.id,
    created: event.created,
    settledAtStripe,
    terms: point,
  });
  if ("skip" in settled) return settled.skip;
  const next = settled.snapshot === object ? asOfEvent : point;
  const type = subscriptionEventType(current, next);
  run.state.putSubscription(next, !current);
  // A subscription the API changed since the run read it was reported by the API.
  if (type)
    run.emit(
      type,
      serializeSubscription(next),
      next.livemode,
      current ? subscriptionPassed(next) : undefined,
    );
  return type ? `mirrored: ${type}` : "no change";
}
