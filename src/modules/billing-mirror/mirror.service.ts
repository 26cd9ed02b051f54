import type Stripe from "stripe";
import type { RequestContext } from "../../context";
import type { CustomerRow, CustomerSubscriptionRow, InvoiceRow, TenantRow } from "../../db/schema";
import { isIdOf, newId } from "../../lib/crypto";
import { AnalyticsRun } from "../analytics/analytics-run";
import { serializeCheckout } from "../checkout/checkout.schemas";
import { serializeCustomer } from "../customers/customers.schemas";
import { applyInvoicePaid, applyPaymentFailure } from "../dunning/dunning-run";
import { serializeInvoice } from "../invoices/invoices.schemas";
import { invoiceFields } from "../invoices/stripe-invoice";
import type { StripeEventLike } from "../platform-billing/stripe-mapping";
import { applyRefundEvent, isRefundEvent } from "../refunds/refund-mirror";
import { subscriptionFields, tenantMetadata } from "../subscriptions/stripe-subscription";
import { serializeSubscription } from "../subscriptions/subscriptions.schemas";
import { type PreparedEvent, prepareEvent } from "../webhooks/events.service";
import { externalKey, idOf, type MirrorState } from "./mirror-state";
import {
  CUSTOMER_FIELDS,
  customerEventType,
  differs,
  freshness,
  INVOICE_FIELDS,
  invoiceEventTypes,
  SUBSCRIPTION_FIELDS,
  subscriptionEventType,
} from "./rules";

type Obj = Record<string, unknown>;
const obj = (value: unknown): Obj => (value && typeof value === "object" ? (value as Obj) : {});
const str = (value: unknown): string | null => (typeof value === "string" ? value : null);

const SUBSCRIPTION_EVENTS = new Set([
  "customer.subscription.created",
  "customer.subscription.updated",
  "customer.subscription.deleted",
  "customer.subscription.paused",
  "customer.subscription.resumed",
  "customer.subscription.trial_will_end",
  "customer.subscription.pending_update_applied",
  "customer.subscription.pending_update_expired",
]);
const CUSTOMER_EVENTS = new Set(["customer.created", "customer.updated", "customer.deleted"]);
const CHECKOUT_EVENTS = new Set([
  "checkout.session.completed",
  "checkout.session.expired",
  "checkout.session.async_payment_succeeded",
]);

/** Connect events that update the mirror of the tenant's own billing (the rest are forwarded or ignored). */
export function isMirrorEvent(type: string): boolean {
  return (
    SUBSCRIPTION_EVENTS.has(type) ||
    CUSTOMER_EVENTS.has(type) ||
    CHECKOUT_EVENTS.has(type) ||
    type.startsWith("invoice.") ||
    isRefundEvent(type)
  );
}

/** One run of mirror events: what it decided, for the run's single D1 batch. */
export class MirrorRun {
  readonly events: PreparedEvent[] = [];
  /** What the run's events add to the tenant's analytics (MRR states, payments). */
  readonly analytics: AnalyticsRun;

  constructor(
    readonly ctx: RequestContext,
    readonly tenant: TenantRow,
    readonly state: MirrorState,
    readonly stripeAccount: string | null,
  ) {
    this.analytics = new AnalyticsRun(ctx, tenant.id);
  }

  emit(type: string, object: unknown, livemode: boolean) {
    this.events.push(
      prepareEvent(
        { tenantId: this.tenant.id, companyName: this.tenant.companyName, type, object, livemode },
        this.ctx.clock.now(),
      ),
    );
  }

  /** The object's current state at Stripe, to settle two snapshots of the same second. */
  current(kind: "customers" | "subscriptions" | "invoices", id: string): Promise<Obj> {
    const options = this.stripeAccount ? { stripeAccount: this.stripeAccount } : {};
    const stripe = this.ctx.stripe;
    const read: Promise<unknown> =
      kind === "customers"
        ? stripe.customers.retrieve(id, {}, options)
        : kind === "subscriptions"
          ? stripe.subscriptions.retrieve(id, { expand: ["discounts", "discounts.source.coupon"] }, options)
          : stripe.invoices.retrieve(id, { expand: ["payments"] }, options);
    return read.then(obj);
  }
}

/** Applies one Stripe event to the run; answers the note recorded on the event. */
export async function applyMirrorEvent(run: MirrorRun, event: StripeEventLike): Promise<string> {
  const object = obj(event.data.object);
  if (CUSTOMER_EVENTS.has(event.type)) return applyCustomer(run, event, object);
  if (SUBSCRIPTION_EVENTS.has(event.type)) return applySubscription(run, event, object);
  if (event.type.startsWith("invoice.")) return applyInvoice(run, event, object);
  if (CHECKOUT_EVENTS.has(event.type)) return applyCheckout(run, event, object);
  if (isRefundEvent(event.type)) return applyRefundEvent(run, event);
  return "recorded";
}

/** Settles freshness: the snapshot to apply, or why nothing changes. */
async function snapshotToApply<T extends object>(
  current: (T & { lastEventCreated: number | null }) | undefined,
  created: number,
  build: (snapshot: Obj) => T,
  fields: readonly (keyof T)[],
  snapshot: Obj,
  refetch: () => Promise<Obj>,
): Promise<{ snapshot: Obj } | { skip: string }> {
  const fresh = freshness(current?.lastEventCreated ?? null, created);
  if (fresh === "stale") return { skip: "stale: a newer snapshot was applied" };
  if (fresh === "tie" && current && differs(current, build(snapshot), fields)) {
    return { snapshot: await refetch() };
  }
  return { snapshot };
}

// --- customers ---------------------------------------------------------------------------------

const OWN_CUSTOMER_KEYS = ["tenant_id", "customer_id", "external_id"];

function customerRow(
  run: MirrorRun,
  current: CustomerRow | undefined,
  snapshot: Obj,
  deleted: boolean,
  created: number | null,
): CustomerRow {
  const now = run.ctx.clock.now();
  // Stripe reads a deleted customer back as a stub (`{id, deleted: true}`): it confirms the
  // deletion and says nothing of the fields, which stay as the mirror last saw them.
  if (current && snapshot.deleted === true) {
    return {
      ...current,
      status: "deleted",
      deletedAt: current.deletedAt ?? now,
      lastEventCreated: created ?? current.lastEventCreated,
      updatedAt: now,
    };
  }
  const metadata = Object.fromEntries(
    Object.entries(obj(snapshot.metadata)).filter(
      (entry): entry is [string, string] =>
        typeof entry[1] === "string" && !OWN_CUSTOMER_KEYS.includes(entry[0]),
    ),
  );
  const stripeId = str(snapshot.id) ?? current?.stripeCustomerId ?? "";
  const livemode = current?.livemode ?? snapshot.livemode === true;
  // An external id another customer holds stays with it; this one keeps its own, if any.
  const external = str(obj(snapshot.metadata).external_id) || null;
  const externalId =
    external === null ||
    run.state.isFree("externalId", externalKey({ livemode, externalId: external }), stripeId)
      ? external
      : (current?.externalId ?? null);
  return {
    id: current?.id ?? ourId(run, "customer", obj(snapshot.metadata).customer_id, stripeId),
    tenantId: run.tenant.id,
    livemode,
    externalId,
    stripeCustomerId: stripeId,
    email: str(snapshot.email)?.toLowerCase() ?? null,
    name: str(snapshot.name),
    phone: str(snapshot.phone),
    description: str(snapshot.description),
    address:
      snapshot.address && typeof snapshot.address === "object"
        ? (snapshot.address as CustomerRow["address"])
        : null,
    metadata,
    status: deleted || snapshot.deleted === true ? "deleted" : "active",
    defaultPaymentMethod: idOf(obj(snapshot.invoice_settings).default_payment_method),
    deletedAt: deleted || snapshot.deleted === true ? (current?.deletedAt ?? now) : null,
    lastEventCreated: created ?? current?.lastEventCreated ?? null,
    createdAt: current?.createdAt ?? now,
    updatedAt: now,
  };
}

const ID_PREFIXES = { customer: "cust", subscription: "subs", invoice: "inv" } as const;

/**
 * Our id carried in Stripe metadata when it is one of ours and no other Stripe object holds it
 * (metadata copied from another object), else a new one.
 */
function ourId(run: MirrorRun, kind: keyof typeof ID_PREFIXES, value: unknown, stripeId: string): string {
  const prefix = ID_PREFIXES[kind];
  const id = str(value);
  return isIdOf(prefix, id) && run.state.isFree(kind, id, stripeId) ? id : newId(prefix);
}

async function applyCustomer(run: MirrorRun, event: StripeEventLike, object: Obj): Promise<string> {
  const stripeId = str(object.id) ?? "";
  const current = run.state.customers.get(stripeId);
  const deleted = event.type === "customer.deleted";
  // Deletion is final at Stripe: any other event of a deleted customer is older than its
  // deletion (a retry, or one that waited), and changes nothing.
  if (current?.status === "deleted") return deleted ? "already deleted" : "ignored: the customer is deleted";
  const settled = deleted
    ? { snapshot: object }
    : await snapshotToApply(
        current,
        event.created,
        (snapshot) => customerRow(run, current, snapshot, false, event.created),
        CUSTOMER_FIELDS,
        object,
        () => run.current("customers", stripeId),
      );
  if ("skip" in settled) return settled.skip;
  const next = customerRow(run, current, settled.snapshot, deleted, event.created);
  const type = customerEventType(current, next);
  run.state.putCustomer(next, !current);
  if (type) run.emit(type, serializeCustomer(next), next.livemode);
  return type ? `mirrored: ${type}` : "no change";
}

/** The customer row a reference names: known, or a stub the customer's own snapshot fills in later. */
function customerFor(
  run: MirrorRun,
  stripeCustomerId: string,
  livemode: boolean,
  hint: { email?: unknown; name?: unknown } = {},
) {
  const known = run.state.customers.get(stripeCustomerId);
  if (known) return known;
  const stub = customerRow(
    run,
    undefined,
    { id: stripeCustomerId, email: hint.email, name: hint.name, livemode },
    false,
    null,
  );
  run.state.putCustomer(stub, true);
  run.emit("customer.created", serializeCustomer(stub), livemode);
  return stub;
}

// --- subscriptions -----------------------------------------------------------------------------

function subscriptionRow(
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

async function applySubscription(run: MirrorRun, event: StripeEventLike, object: Obj): Promise<string> {
  const stripeId = str(object.id) ?? "";
  const current = run.state.subscriptions.get(stripeId);
  if (event.type === "customer.subscription.trial_will_end") {
    if (!current) return "ignored: unknown subscription";
    run.emit("subscription.trial_will_end", serializeSubscription(current), current.livemode);
    return "notified: subscription.trial_will_end";
  }
  // Every snapshot is a point of the subscription's MRR history, even one older than the mirror.
  const asOfEvent = subscriptionRow(run, current, object, event.created);
  run.analytics.addSnapshot({
    subscriptionId: asOfEvent.id,
    customerId: asOfEvent.customerId,
    planId: asOfEvent.planId,
    livemode: asOfEvent.livemode,
    sourceEventId: event.id,
    created: event.created,
    terms: asOfEvent,
  });
  const settled = await snapshotToApply(
    current,
    event.created,
    (snapshot) => subscriptionRow(run, current, snapshot, event.created, asOfEvent.id),
    SUBSCRIPTION_FIELDS,
    object,
    () => run.current("subscriptions", stripeId),
  );
  if ("skip" in settled) return settled.skip;
  const next = subscriptionRow(run, current, settled.snapshot, event.created, asOfEvent.id);
  const type = subscriptionEventType(current, next);
  run.state.putSubscription(next, !current);
  if (type) run.emit(type, serializeSubscription(next), next.livemode);
  return type ? `mirrored: ${type}` : "no change";
}

// --- invoices ----------------------------------------------------------------------------------

function invoiceRow(
  run: MirrorRun,
  current: InvoiceRow | undefined,
  snapshot: Obj,
  created: number,
): InvoiceRow {
  const fields = invoiceFields(snapshot);
  const customer = customerFor(run, fields.stripeCustomerId, fields.livemode, {
    email: snapshot.customer_email,
    name: snapshot.customer_name,
  });
  const subscription = fields.stripeSubscriptionId
    ? run.state.subscriptions.get(fields.stripeSubscriptionId)
    : undefined;
  const now = run.ctx.clock.now();
  return {
    ...fields,
    id: current?.id ?? ourId(run, "invoice", fields.metadata.invoice_id, fields.stripeInvoiceId),
    tenantId: run.tenant.id,
    livemode: current?.livemode ?? fields.livemode,
    customerId: current?.customerId ?? customer.id,
    subscriptionId: subscription?.id ?? current?.subscriptionId ?? null,
    // Events do not expand `payments`: the payment our API read stays known.
    paymentIntentId: fields.paymentIntentId ?? current?.paymentIntentId ?? null,
    chargeId: fields.chargeId ?? current?.chargeId ?? null,
    amountRefunded: current?.amountRefunded ?? 0,
    deletedAt: current?.deletedAt ?? null,
    lastEventCreated: created,
    createdAt: current?.createdAt ?? now,
    updatedAt: now,
  };
}

async function applyInvoice(run: MirrorRun, event: StripeEventLike, object: Obj): Promise<string> {
  const stripeId = str(object.id) ?? "";
  if (!stripeId || stripeId.startsWith("upcoming")) return "ignored: not a stored invoice";
  const current = run.state.invoices.get(stripeId);
  // Only a draft can be deleted, and for good: every other event of it is older than its deletion.
  if (current?.deletedAt) return "ignored: the invoice is deleted";
  if (event.type === "invoice.deleted") return applyInvoiceDeleted(run, event, object, current);
  const notes: string[] = [];
  const settled = await snapshotToApply(
    current,
    event.created,
    (snapshot) => invoiceRow(run, current, snapshot, event.created),
    INVOICE_FIELDS,
    object,
    () => run.current("invoices", stripeId),
  );
  let row = current;
  if ("skip" in settled) {
    notes.push(settled.skip);
  } else {
    const next = invoiceRow(run, current, settled.snapshot, event.created);
    const types = invoiceEventTypes(current, next);
    run.state.putInvoice(next, !current);
    for (const type of types) run.emit(type, serializeInvoice(next), next.livemode);
    notes.push(types.length ? `mirrored: ${types.join(", ")}` : "no change");
    row = next;
  }
  // Money collected counts once per invoice, whenever an event first shows it paid.
  const paid = invoiceFields(object);
  if (paid.status === "paid" && paid.amountPaid > 0) {
    run.analytics.addPayment({
      id: `invoice:${stripeId}`,
      kind: "payment",
      customerId: row?.customerId ?? null,
      livemode: paid.livemode,
      currency: paid.currency,
      amount: paid.amountPaid,
      fee: paid.applicationFeeAmount ?? 0,
      occurredAt: paid.paidAt?.getTime() ?? event.created * 1000,
    });
  }
  // Each failed attempt is recorded and reported once, even late, and dunning applies the
  // tenant's policy to it; a paid invoice may end a subscription's dunning.
  if (event.type === "invoice.payment_failed" && row)
    notes.push(await applyPaymentFailure(run, row, object, event.id));
  if (event.type === "invoice.paid" && row) {
    const note = await applyInvoicePaid(run, row, event.id);
    if (note) notes.push(note);
  }
  return notes.join("; ");
}

/**
 * A draft deleted at Stripe stays in the mirror as deleted (`deletedAt`), so that none of its
 * older events, in whatever order they come, lists it again; reads answer 404 for it. One the
 * mirror never saw is stored deleted for the same reason. No tenant event: the tenant's API
 * answers 404 for it from now on, as Stripe's does.
 */
function applyInvoiceDeleted(
  run: MirrorRun,
  event: StripeEventLike,
  object: Obj,
  current: InvoiceRow | undefined,
): string {
  const row = current ?? invoiceRow(run, undefined, object, event.created);
  run.state.putInvoice(
    {
      ...row,
      deletedAt: run.ctx.clock.now(),
      lastEventCreated: Math.max(event.created, row.lastEventCreated ?? 0),
    },
    !current,
  );
  return "deleted";
}

// --- checkout ----------------------------------------------------------------------------------

async function applyCheckout(run: MirrorRun, event: StripeEventLike, object: Obj): Promise<string> {
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

export type { Stripe };
