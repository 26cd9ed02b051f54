import type { AppliedDiscount, CustomerSubscriptionRow, CustomerSubscriptionStatus } from "../../db/schema";
import { tenantMetadataOf } from "../../lib/metadata";

/**
 * Reading a Stripe subscription (an API answer or an event's snapshot) into the mirror's fields:
 * pure functions, tolerant of API-version differences (periods on the subscription or on its
 * item; discounts as ids or expanded objects; the legacy single `discount`).
 */
type Obj = Record<string, unknown>;

const obj = (value: unknown): Obj => (value && typeof value === "object" ? (value as Obj) : {});
const str = (value: unknown): string | null => (typeof value === "string" ? value : null);
const num = (value: unknown): number | null => (typeof value === "number" ? value : null);
const idOf = (value: unknown): string | null => str(value) ?? str(obj(value).id);
const ms = (seconds: number | null) => (seconds === null ? null : new Date(seconds * 1000));

const STATUSES: readonly CustomerSubscriptionStatus[] = [
  "incomplete",
  "incomplete_expired",
  "trialing",
  "active",
  "past_due",
  "canceled",
  "unpaid",
  "paused",
];

/** The fields of the mirror that Stripe's subscription decides. */
export type StripeSubscriptionFields = Pick<
  CustomerSubscriptionRow,
  | "stripeSubscriptionId"
  | "stripeCustomerId"
  | "stripeItemId"
  | "stripePriceId"
  | "status"
  | "quantity"
  | "unitAmount"
  | "currency"
  | "interval"
  | "intervalCount"
  | "currentPeriodStart"
  | "currentPeriodEnd"
  | "trialStart"
  | "trialEnd"
  | "cancelAtPeriodEnd"
  | "cancelAt"
  | "canceledAt"
  | "endedAt"
  | "pauseBehavior"
  | "pauseResumesAt"
  | "applicationFeePercent"
  | "latestInvoiceId"
> & { discount: AppliedDiscount | null | undefined; livemode: boolean; metadata: Record<string, string> };

/** A discount object (`discounts[]` expanded, or the legacy `discount`) as the mirror keeps it. */
export function appliedDiscount(value: unknown): AppliedDiscount | null {
  const discount = obj(value);
  if (!discount.id && !discount.coupon && !discount.source) return null;
  const coupon = obj(discount.coupon ?? obj(discount.source).coupon);
  const couponId = idOf(discount.coupon) ?? idOf(obj(discount.source).coupon);
  if (!couponId) return null;
  const duration = str(coupon.duration);
  return {
    coupon: couponId,
    promotion_code: idOf(discount.promotion_code),
    percent_off: num(coupon.percent_off),
    amount_off: num(coupon.amount_off),
    currency: str(coupon.currency),
    duration: duration === "once" || duration === "repeating" ? duration : "forever",
    duration_in_months: num(coupon.duration_in_months),
    start: num(discount.start),
    end: num(discount.end),
  };
}

/**
 * The discount Stripe shows: the first expanded one; `undefined` when Stripe gave only ids (the
 * mirror then keeps what it knew, as the ids alone do not say the coupon's terms).
 */
function discountOf(subscription: Obj): AppliedDiscount | null | undefined {
  const list = Array.isArray(subscription.discounts) ? subscription.discounts : null;
  if (list && list.length === 0 && !subscription.discount) return null;
  const expanded = list?.find((entry) => typeof entry === "object" && entry !== null);
  if (expanded) return appliedDiscount(expanded);
  if (subscription.discount && typeof subscription.discount === "object")
    return appliedDiscount(subscription.discount);
  return list?.length ? undefined : null;
}

export function subscriptionFields(subscription: Obj): StripeSubscriptionFields {
  const item = obj((obj(subscription.items).data as unknown[] | undefined)?.[0]);
  const price = obj(item.price);
  const recurring = obj(price.recurring);
  const pause = obj(subscription.pause_collection);
  const status = str(subscription.status) as CustomerSubscriptionStatus | null;
  const interval = str(recurring.interval);
  const behavior = str(pause.behavior);
  // Dunning's "mark unpaid" (Stripe cannot set `unpaid` by API): collection paused with our mark.
  const unpaidByDunning = behavior !== null && obj(subscription.metadata).dunning_status === "unpaid";
  return {
    stripeSubscriptionId: str(subscription.id) ?? "",
    stripeCustomerId: idOf(subscription.customer) ?? "",
    stripeItemId: str(item.id),
    stripePriceId: idOf(item.price),
    status:
      unpaidByDunning && (status === "active" || status === "past_due" || status === "unpaid")
        ? "unpaid"
        : status && STATUSES.includes(status)
          ? status
          : "incomplete",
    quantity: num(item.quantity) ?? 1,
    unitAmount: num(price.unit_amount) ?? 0,
    currency: str(price.currency) ?? str(subscription.currency) ?? "usd",
    interval: interval === "day" || interval === "week" || interval === "year" ? interval : "month",
    intervalCount: num(recurring.interval_count) ?? 1,
    currentPeriodStart: ms(num(subscription.current_period_start) ?? num(item.current_period_start)),
    currentPeriodEnd: ms(num(subscription.current_period_end) ?? num(item.current_period_end)),
    trialStart: ms(num(subscription.trial_start)),
    trialEnd: ms(num(subscription.trial_end)),
    cancelAtPeriodEnd: subscription.cancel_at_period_end === true,
    cancelAt: ms(num(subscription.cancel_at)),
    canceledAt: ms(num(subscription.canceled_at)),
    endedAt: ms(num(subscription.ended_at)),
    pauseBehavior:
      behavior === "keep_as_draft" || behavior === "mark_uncollectible" || behavior === "void"
        ? behavior
        : null,
    pauseResumesAt: ms(num(pause.resumes_at)),
    applicationFeePercent:
      num(subscription.application_fee_percent) === null
        ? null
        : String(subscription.application_fee_percent),
    latestInvoiceId: idOf(subscription.latest_invoice),
    discount: discountOf(subscription),
    livemode: subscription.livemode === true,
    metadata: Object.fromEntries(
      Object.entries(obj(subscription.metadata)).filter(
        (entry): entry is [string, string] => typeof entry[1] === "string",
      ),
    ),
  };
}

/** Our own keys in the Stripe metadata of a subscription; the rest is the tenant's. */
export const OWN_METADATA_KEYS = [
  "tenant_id",
  "subscription_id",
  "customer_id",
  "plan_id",
  "checkout_session_id",
  "dunning_status",
];

export const tenantMetadata = (metadata: Record<string, string>) =>
  tenantMetadataOf(metadata, OWN_METADATA_KEYS);
