import type { SubscriptionStatus } from "../../db/schema";

/**
 * The platform-billing state machine: the contract's suspension table as a pure function.
 * `transition(state, event)` gives the next state and the effects to carry out (tenant events,
 * audit records). It is run inside the tenant's Durable Object, one event at a time.
 *
 * Older events cannot undo newer ones. Stripe's events come in two streams that each carry
 * `created`: subscription snapshots (created/updated/deleted) and invoice outcomes (payment
 * failed/succeeded). Each stream has its own watermark (`lastEventCreated`,
 * `lastInvoiceEventCreated`); an event older than its stream's newest applied one changes
 * nothing; of an invoice's failure and payment of the same second, the payment is taken as the
 * later one (see `lastPaidInvoiceId`). Keeping the streams apart is what makes a payment count
 * even when the subscription update Stripe sent with it arrives first, and a third failure
 * suspend even when an unrelated update overtook it. An invoice event sets the subscription
 * status only when it is not older than the newest snapshot, and never revives a cancelled
 * subscription. Re-applying an event is a no-op (effects are emitted only when the state actually
 * changes), so duplicates are harmless.
 */

/** Suspension reasons this machine sets, and so may lift. Any other reason (e.g. manual) is left alone. */
export const BILLING_SUSPENSION_REASONS = ["payment_failed", "subscription_cancelled"] as const;

/** Failed payment attempts on one invoice after which the tenant is suspended. */
export const SUSPEND_AFTER_ATTEMPTS = 3;

export interface BillingState {
  tenantStatus: "active" | "suspended";
  suspendedReason: string | null;
  subscriptionStatus: SubscriptionStatus;
  stripeSubscriptionId: string | null;
  /** Unix seconds. */
  currentPeriodStart: number | null;
  currentPeriodEnd: number | null;
  trialEnd: number | null;
  cancelAtPeriodEnd: boolean;
  /** Stripe `created` (unix s) of the newest subscription snapshot applied. */
  lastEventCreated: number | null;
  /** Stripe `created` (unix s) of the newest invoice outcome applied. */
  lastInvoiceEventCreated: number | null;
  /**
   * The invoice of that newest invoice outcome when it was a payment, else null. `created` has a
   * resolution of one second, and an invoice failing and then being paid within it (a retry, the
   * customer paying by hand) gives two events Stripe stamps alike, arriving in any order. A paid
   * invoice never fails again, so its payment is the later one: a failure of that invoice in the
   * same second as its applied payment is stale, whatever order they came in.
   */
  lastPaidInvoiceId: string | null;
}

/** Stripe's subscription statuses, as they arrive. */
export type StripeSubscriptionStatus =
  | "incomplete"
  | "incomplete_expired"
  | "trialing"
  | "active"
  | "past_due"
  | "canceled"
  | "unpaid"
  | "paused";

export interface SubscriptionSnapshot {
  id: string;
  status: StripeSubscriptionStatus;
  currentPeriodStart: number | null;
  currentPeriodEnd: number | null;
  trialEnd: number | null;
  cancelAtPeriodEnd: boolean;
  priceId: string | null;
}

export type BillingEvent =
  | {
      type:
        | "customer.subscription.created"
        | "customer.subscription.updated"
        | "customer.subscription.deleted";
      created: number;
      subscription: SubscriptionSnapshot;
    }
  | { type: "customer.subscription.trial_will_end"; created: number; subscription: SubscriptionSnapshot }
  | {
      type: "invoice.payment_failed";
      created: number;
      invoiceId: string;
      subscriptionId: string | null;
      attemptCount: number;
      amountDue: number;
      currency: string;
    }
  | {
      type: "invoice.payment_succeeded";
      created: number;
      invoiceId: string;
      subscriptionId: string | null;
      amountPaid: number;
      currency: string;
    }
  | {
      type: "invoice.upcoming";
      created: number;
      subscriptionId: string | null;
      amountDue: number;
      currency: string;
      nextPaymentAttempt: number | null;
    };

export type TenantEventType =
  | "tenant.suspended"
  | "tenant.reactivated"
  | "tenant.trial_will_end"
  | "subscription.past_due"
  | "invoice.upcoming";

export type Effect =
  | { kind: "emit"; type: TenantEventType; data: Record<string, unknown> }
  | { kind: "audit"; action: string; reason?: string; metadata?: Record<string, unknown> };

export interface Transition {
  state: BillingState;
  effects: Effect[];
  /** False when the event changed nothing (stale, other subscription, or already applied). */
  applied: boolean;
  /** Why it was not applied, or a short note of what it did. */
  note: string;
}

export const INITIAL_BILLING_STATE: BillingState = {
  tenantStatus: "active",
  suspendedReason: null,
  subscriptionStatus: "none",
  stripeSubscriptionId: null,
  currentPeriodStart: null,
  currentPeriodEnd: null,
  trialEnd: null,
  cancelAtPeriodEnd: false,
  lastEventCreated: null,
  lastInvoiceEventCreated: null,
  lastPaidInvoiceId: null,
};

/** A suspension reason this machine sets. */
export type BillingSuspensionReason = (typeof BILLING_SUSPENSION_REASONS)[number];

/** `Transition.note` of an event that did nothing (no_change: a duplicate, or nothing to do). */
export type SkipNote = "stale" | "other_subscription" | "no_change";
/** `Transition.note` of an applied event: what it did. */
export type DoneNote = "synced" | "adopted" | "cancelled" | "past_due" | "paid" | "suspended" | "reactivated";
export type TransitionNote = SkipNote | DoneNote | "notified";

const NOTIFICATIONS = ["customer.subscription.trial_will_end", "invoice.upcoming"] as const;
type NotificationEvent = Extract<BillingEvent, { type: (typeof NOTIFICATIONS)[number] }>;
type StateEvent = Exclude<BillingEvent, NotificationEvent>;
type SubscriptionEvent = Extract<StateEvent, { subscription: SubscriptionSnapshot }>;
type FailedEvent = Extract<BillingEvent, { type: "invoice.payment_failed" }>;
type PaidEvent = Extract<BillingEvent, { type: "invoice.payment_succeeded" }>;
type Outcome = { state: BillingState; effects: Effect[]; note: DoneNote };
type Folded = { state: BillingState; effects: Effect[] };
type Data = Record<string, unknown>;

const STATUS_FROM_STRIPE: Record<StripeSubscriptionStatus, SubscriptionStatus> = {
  incomplete: "incomplete",
  incomplete_expired: "cancelled",
  trialing: "trialing",
  active: "active",
  past_due: "past_due",
  canceled: "cancelled",
  unpaid: "unpaid",
  paused: "unpaid",
};

const ALL_FIELDS = Object.keys(INITIAL_BILLING_STATE) as (keyof BillingState)[];
/** Fields this machine owns; every other one mirrors Stripe's subscription, and changing it is audited. */
const OWN_FIELDS: readonly (keyof BillingState)[] = [
  "tenantStatus",
  "suspendedReason",
  "lastEventCreated",
  "lastInvoiceEventCreated",
  "lastPaidInvoiceId",
];
const MIRRORED_FIELDS = ALL_FIELDS.filter((field) => !OWN_FIELDS.includes(field));

/** Stripe's status in the platform's vocabulary; a paused subscription collects nothing, so it is unpaid. */
export function fromStripeSubscriptionStatus(status: StripeSubscriptionStatus): SubscriptionStatus {
  return STATUS_FROM_STRIPE[status];
}

/**
 * The next state and the effects of one Stripe event. `applied` is true exactly when there is
 * something to persist or carry out, so a duplicate gives `applied: false, note: "no_change"` and
 * no effects. Notifications always emit (Stripe event ids dedupe them upstream). Inputs are not mutated.
 */
export function transition(state: BillingState, event: BillingEvent): Transition {
  if (isNotification(event)) {
    return concernsCurrent(state, event) ? notify(state, event) : unchanged(state, "other_subscription");
  }
  const invoice = isInvoiceEvent(event);
  const stream = invoice ? "lastInvoiceEventCreated" : "lastEventCreated";
  const watermark = state[stream] ?? event.created;
  if (event.created < watermark) return unchanged(state, "stale");
  if (isFailureAfterPayment(state, event)) return unchanged(state, "stale");
  if (!concernsCurrent(state, event)) return unchanged(state, "other_subscription");
  const moved = { ...state, [stream]: Math.max(watermark, event.created) };
  if (invoice) moved.lastPaidInvoiceId = event.type === "invoice.payment_succeeded" ? event.invoiceId : null;
  const outcome = apply(moved, event);
  if (outcome.effects.length === 0 && sameFields(state, outcome.state, ALL_FIELDS)) {
    return unchanged(state, "no_change");
  }
  return { ...outcome, applied: true };
}

/** Folds `transition` over events in arrival order, keeping every effect. */
export function applyAll(state: BillingState, events: readonly BillingEvent[]): Folded {
  const step = (acc: Folded, event: BillingEvent): Folded => {
    const next = transition(acc.state, event);
    return { state: next.state, effects: [...acc.effects, ...next.effects] };
  };
  return events.reduce(step, { state, effects: [] });
}

function apply(state: BillingState, event: StateEvent): Outcome {
  switch (event.type) {
    case "customer.subscription.created":
    case "customer.subscription.updated":
      return onSync(state, event);
    case "customer.subscription.deleted":
      return onDeleted(state, event);
    case "invoice.payment_failed":
      return onPaymentFailed(state, event);
    case "invoice.payment_succeeded":
      return onPaymentSucceeded(state, event);
  }
}

/** Rule 4: created/updated mirror the subscription and never touch the tenant's suspension. */
function onSync(state: BillingState, event: SubscriptionEvent): Outcome {
  const next = mirror(state, event.subscription);
  const replaced =
    state.stripeSubscriptionId !== null && state.stripeSubscriptionId !== next.stripeSubscriptionId;
  // Entering past_due is announced whichever event brings the news first.
  const pastDue =
    next.subscriptionStatus === "past_due" && state.subscriptionStatus !== "past_due"
      ? [emit("subscription.past_due", { subscription_id: next.stripeSubscriptionId })]
      : [];
  return {
    state: next,
    effects: [...syncedAudit(state, next), ...pastDue],
    note: replaced ? "adopted" : "synced",
  };
}

/**
 * Rule 7: cancelling suspends an active tenant at once. A tenant already suspended for failed
 * payments is now suspended because the subscription is gone (so a late payment does not lift
 * it); a manual suspension keeps its reason.
 */
function onDeleted(state: BillingState, event: SubscriptionEvent): Outcome {
  const cancelled: BillingState = { ...mirror(state, event.subscription), subscriptionStatus: "cancelled" };
  const synced = syncedAudit(state, cancelled);
  if (state.tenantStatus === "active") {
    return suspend(cancelled, synced, "subscription_cancelled", { subscription_id: event.subscription.id });
  }
  const reason =
    state.suspendedReason === "payment_failed" ? "subscription_cancelled" : state.suspendedReason;
  return { state: { ...cancelled, suspendedReason: reason }, effects: synced, note: "cancelled" };
}

/** Rule 5: past_due is announced on entering it, not at every retry; the last attempt suspends. */
function onPaymentFailed(state: BillingState, event: FailedEvent): Outcome {
  const pastDue: BillingState = { ...state, subscriptionStatus: invoiceStatus(state, event, "past_due") };
  const { subscriptionId, invoiceId, attemptCount, amountDue, currency } = event;
  const ids = { subscription_id: subscriptionId, invoice_id: invoiceId, attempt_count: attemptCount };
  const details = { ...ids, amount_due: amountDue, currency };
  // Announced on entering past_due only (not at every retry, nor when a newer snapshot decides).
  const announced =
    state.subscriptionStatus === "past_due" || pastDue.subscriptionStatus !== "past_due"
      ? []
      : [emit("subscription.past_due", details), audit("billing.payment_failed", details)];
  if (attemptCount < SUSPEND_AFTER_ATTEMPTS || state.tenantStatus !== "active") {
    return { state: pastDue, effects: announced, note: "past_due" };
  }
  return suspend(pastDue, announced, "payment_failed", ids);
}

/** Rule 6: a payment lifts only the suspensions this machine set; a manual one stays. */
function onPaymentSucceeded(state: BillingState, event: PaidEvent): Outcome {
  const active: BillingState = { ...state, subscriptionStatus: invoiceStatus(state, event, "active") };
  const ids = { subscription_id: event.subscriptionId, invoice_id: event.invoiceId };
  const details = { ...ids, amount_paid: event.amountPaid, currency: event.currency };
  // Audited when the payment brings the subscription back to active, so a duplicate adds nothing.
  const recovered =
    state.subscriptionStatus === "active" || active.subscriptionStatus !== "active"
      ? []
      : [audit("billing.payment_succeeded", { ...details, previous_status: state.subscriptionStatus })];
  const reason = state.tenantStatus === "suspended" ? state.suspendedReason : null;
  // A payment lifts a billing suspension, but not the one of a cancelled subscription.
  const lifts = isBillingSuspensionReason(reason) && active.subscriptionStatus !== "cancelled";
  if (!lifts) return { state: active, effects: recovered, note: "paid" };
  const data = { previous_reason: reason, ...ids };
  const lifted = [emit("tenant.reactivated", data), audit("tenant.reactivated", data, "payment_succeeded")];
  const next: BillingState = { ...active, tenantStatus: "active", suspendedReason: null };
  return { state: next, effects: [...recovered, ...lifted], note: "reactivated" };
}

/** Rules 8-9: notifications change no state, so they are never stale and never move the watermark. */
function notify(state: BillingState, event: NotificationEvent): Transition {
  const effect =
    event.type === "invoice.upcoming"
      ? emit("invoice.upcoming", {
          subscription_id: event.subscriptionId,
          amount_due: event.amountDue,
          currency: event.currency,
          next_payment_attempt: event.nextPaymentAttempt,
        })
      : emit("tenant.trial_will_end", {
          subscription_id: event.subscription.id,
          trial_end: event.subscription.trialEnd,
        });
  return { state, effects: [effect], applied: true, note: "notified" };
}

/**
 * Rule 2: events about another subscription are ignored, except a live created/updated, which is
 * a plan switch that replaced the subscription. With no subscription yet, everything applies.
 */
function concernsCurrent(state: BillingState, event: BillingEvent): boolean {
  const current = state.stripeSubscriptionId;
  const named = "subscription" in event ? event.subscription.id : event.subscriptionId;
  if (current === null || named === current) return true;
  const isSync =
    event.type === "customer.subscription.created" || event.type === "customer.subscription.updated";
  return isSync && fromStripeSubscriptionStatus(event.subscription.status) !== "cancelled";
}

/** A failure of an invoice in the same second as its applied payment: the payment is the later one. */
function isFailureAfterPayment(state: BillingState, event: StateEvent): boolean {
  return (
    event.type === "invoice.payment_failed" &&
    event.invoiceId === state.lastPaidInvoiceId &&
    event.created === state.lastInvoiceEventCreated
  );
}

function isInvoiceEvent(event: StateEvent): event is FailedEvent | PaidEvent {
  return event.type === "invoice.payment_failed" || event.type === "invoice.payment_succeeded";
}

/**
 * The status an invoice outcome implies, unless a newer snapshot already said otherwise or the
 * subscription is cancelled (a late payment on it does not bring it back).
 */
function invoiceStatus(
  state: BillingState,
  event: FailedEvent | PaidEvent,
  implied: SubscriptionStatus,
): SubscriptionStatus {
  const olderThanSnapshot = state.lastEventCreated !== null && event.created < state.lastEventCreated;
  return olderThanSnapshot || state.subscriptionStatus === "cancelled" ? state.subscriptionStatus : implied;
}

function isNotification(event: BillingEvent): event is NotificationEvent {
  return (NOTIFICATIONS as readonly string[]).includes(event.type);
}

function isBillingSuspensionReason(reason: string | null): reason is BillingSuspensionReason {
  return (BILLING_SUSPENSION_REASONS as readonly (string | null)[]).includes(reason);
}

function mirror(state: BillingState, snapshot: SubscriptionSnapshot): BillingState {
  // Only what tenant_subscriptions stores: a field kept here but not stored would reload as null
  // and make every later snapshot look like a change (audited as synced though nothing changed).
  const { currentPeriodStart, currentPeriodEnd, trialEnd, cancelAtPeriodEnd } = snapshot;
  const terms = { currentPeriodStart, currentPeriodEnd, trialEnd, cancelAtPeriodEnd };
  const subscriptionStatus = fromStripeSubscriptionStatus(snapshot.status);
  return { ...state, ...terms, subscriptionStatus, stripeSubscriptionId: snapshot.id };
}

/** Suspends an active tenant, after `effects`, announcing it to the tenant and in the audit log. */
function suspend(state: BillingState, prior: Effect[], reason: BillingSuspensionReason, data: Data): Outcome {
  const next: BillingState = { ...state, tenantStatus: "suspended", suspendedReason: reason };
  const effects = [emit("tenant.suspended", { reason, ...data }), audit("tenant.suspended", data, reason)];
  return { state: next, effects: [...prior, ...effects], note: "suspended" };
}

/** Audits a sync only when a mirrored field changed, so duplicates leave no trace. */
function syncedAudit(before: BillingState, after: BillingState): Effect[] {
  if (sameFields(before, after, MIRRORED_FIELDS)) return [];
  const current = { subscription_id: after.stripeSubscriptionId, status: after.subscriptionStatus };
  const previous = {
    previous_subscription_id: before.stripeSubscriptionId,
    previous_status: before.subscriptionStatus,
  };
  return [audit("billing.subscription_synced", { ...current, ...previous })];
}

function emit(type: TenantEventType, data: Data): Effect {
  return { kind: "emit", type, data };
}

function audit(action: string, metadata: Data, reason?: string): Effect {
  return { kind: "audit", action, ...(reason === undefined ? {} : { reason }), metadata };
}

function sameFields(a: BillingState, b: BillingState, fields: readonly (keyof BillingState)[]): boolean {
  return fields.every((field) => a[field] === b[field]);
}

function unchanged(state: BillingState, note: SkipNote | "notified"): Transition {
  return { state, effects: [], applied: false, note };
}
