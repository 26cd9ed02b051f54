import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * The tenant's own billing, mirrored from its connected Stripe account: customers, their
 * subscriptions, invoices, Checkout sessions; and the idempotency records of our own API.
 * Stripe is the truth for money; these rows follow Stripe's events in any order: each mirrored
 * row keeps the Stripe `created` of the newest event applied to it (`lastEventCreated`), and an
 * older event changes nothing.
 */

const createdAt = () =>
  integer({ mode: "timestamp_ms" }).notNull().default(sql`(unixepoch('subsec') * 1000)`);
const updatedAt = () => createdAt().$onUpdate(() => new Date());

export interface PostalAddress {
  line1?: string | null;
  line2?: string | null;
  city?: string | null;
  state?: string | null;
  postal_code?: string | null;
  country?: string | null;
}

export const CUSTOMER_STATUSES = ["active", "deleted"] as const;

/**
 * A tenant's customer. `externalId` is the tenant's own id for it (unique per tenant and mode
 * when given); email need not be unique (Stripe's rule). Searchable by name and email through
 * `customers_fts` (FTS5, kept in sync by triggers: see the migration).
 */
export const customers = sqliteTable(
  "customers",
  {
    id: text().primaryKey(),
    tenantId: text().notNull(),
    livemode: integer({ mode: "boolean" }).notNull(),
    externalId: text(),
    stripeCustomerId: text().notNull(),
    email: text(),
    name: text(),
    phone: text(),
    description: text(),
    address: text({ mode: "json" }).$type<PostalAddress | null>(),
    metadata: text({ mode: "json" }).$type<Record<string, string>>().notNull(),
    status: text({ enum: CUSTOMER_STATUSES }).notNull().default("active"),
    defaultPaymentMethod: text(),
    deletedAt: integer({ mode: "timestamp_ms" }),
    lastEventCreated: integer(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("customers_stripe_unique").on(t.stripeCustomerId),
    uniqueIndex("customers_external_unique").on(t.tenantId, t.livemode, t.externalId),
    index("customers_tenant_created_idx").on(t.tenantId, t.livemode, t.createdAt, t.id),
    index("customers_tenant_email_idx").on(t.tenantId, t.livemode, t.email),
  ],
);

export const SUBSCRIPTION_STATES = [
  "incomplete",
  "incomplete_expired",
  "trialing",
  "active",
  "past_due",
  "canceled",
  "unpaid",
  "paused",
] as const;
export type CustomerSubscriptionStatus = (typeof SUBSCRIPTION_STATES)[number];

/** A subscription-level discount, as Stripe applied it (for invoices and MRR). */
export interface AppliedDiscount {
  coupon: string;
  promotion_code: string | null;
  percent_off: number | null;
  amount_off: number | null;
  currency: string | null;
  duration: "once" | "repeating" | "forever";
  duration_in_months: number | null;
  /** Unix seconds; null while it lasts forever. */
  start: number | null;
  end: number | null;
}

/** A tenant's customer's subscription to one of the tenant's plans (created only through us). */
export const customerSubscriptions = sqliteTable(
  "customer_subscriptions",
  {
    id: text().primaryKey(),
    tenantId: text().notNull(),
    livemode: integer({ mode: "boolean" }).notNull(),
    customerId: text().notNull(),
    planId: text(),
    stripeSubscriptionId: text().notNull(),
    stripeCustomerId: text().notNull(),
    /** The subscription's one item (a plan change swaps its price). */
    stripeItemId: text(),
    stripePriceId: text(),
    status: text({ enum: SUBSCRIPTION_STATES }).notNull(),
    quantity: integer().notNull().default(1),
    /** The price as Stripe bills it: minor units per `interval_count` `interval`s. */
    unitAmount: integer().notNull().default(0),
    currency: text().notNull(),
    interval: text({ enum: ["day", "week", "month", "year"] }).notNull(),
    intervalCount: integer().notNull().default(1),
    currentPeriodStart: integer({ mode: "timestamp_ms" }),
    currentPeriodEnd: integer({ mode: "timestamp_ms" }),
    trialStart: integer({ mode: "timestamp_ms" }),
    trialEnd: integer({ mode: "timestamp_ms" }),
    cancelAtPeriodEnd: integer({ mode: "boolean" }).notNull().default(false),
    cancelAt: integer({ mode: "timestamp_ms" }),
    canceledAt: integer({ mode: "timestamp_ms" }),
    endedAt: integer({ mode: "timestamp_ms" }),
    /** `pause_collection.behavior` while collection is paused, else null. */
    pauseBehavior: text({ enum: ["keep_as_draft", "mark_uncollectible", "void"] }),
    pauseResumesAt: integer({ mode: "timestamp_ms" }),
    discount: text({ mode: "json" }).$type<AppliedDiscount | null>(),
    applicationFeePercent: text(),
    latestInvoiceId: text(),
    metadata: text({ mode: "json" }).$type<Record<string, string>>().notNull(),
    lastEventCreated: integer(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("customer_subscriptions_stripe_unique").on(t.stripeSubscriptionId),
    index("customer_subscriptions_tenant_created_idx").on(t.tenantId, t.livemode, t.createdAt, t.id),
    index("customer_subscriptions_customer_idx").on(t.customerId, t.createdAt),
    index("customer_subscriptions_tenant_status_idx").on(t.tenantId, t.livemode, t.status),
    index("customer_subscriptions_plan_idx").on(t.planId),
  ],
);

export const INVOICE_STATUSES = ["draft", "open", "paid", "uncollectible", "void"] as const;
export type InvoiceStatus = (typeof INVOICE_STATUSES)[number];

export interface InvoiceLine {
  id: string;
  description: string | null;
  amount: number;
  currency: string;
  quantity: number | null;
  price_id: string | null;
  proration: boolean;
  period_start: number | null;
  period_end: number | null;
  discount_amount: number;
}

/** An invoice of a tenant's customer, mirrored from Stripe (subscription cycles and one-off invoices). */
export const invoices = sqliteTable(
  "invoices",
  {
    id: text().primaryKey(),
    tenantId: text().notNull(),
    livemode: integer({ mode: "boolean" }).notNull(),
    stripeInvoiceId: text().notNull(),
    customerId: text(),
    stripeCustomerId: text().notNull(),
    subscriptionId: text(),
    stripeSubscriptionId: text(),
    number: text(),
    status: text({ enum: INVOICE_STATUSES }).notNull(),
    billingReason: text(),
    collectionMethod: text({ enum: ["charge_automatically", "send_invoice"] }).notNull(),
    currency: text().notNull(),
    subtotal: integer().notNull().default(0),
    discountAmount: integer().notNull().default(0),
    tax: integer().notNull().default(0),
    total: integer().notNull().default(0),
    amountDue: integer().notNull().default(0),
    amountPaid: integer().notNull().default(0),
    amountRemaining: integer().notNull().default(0),
    amountRefunded: integer().notNull().default(0),
    applicationFeeAmount: integer(),
    attemptCount: integer().notNull().default(0),
    nextPaymentAttempt: integer({ mode: "timestamp_ms" }),
    dueDate: integer({ mode: "timestamp_ms" }),
    periodStart: integer({ mode: "timestamp_ms" }),
    periodEnd: integer({ mode: "timestamp_ms" }),
    description: text(),
    hostedInvoiceUrl: text(),
    invoicePdf: text(),
    paymentIntentId: text(),
    chargeId: text(),
    lines: text({ mode: "json" }).$type<InvoiceLine[]>().notNull(),
    discounts: text({ mode: "json" }).$type<{ coupon: string; amount: number }[]>().notNull(),
    metadata: text({ mode: "json" }).$type<Record<string, string>>().notNull(),
    finalizedAt: integer({ mode: "timestamp_ms" }),
    paidAt: integer({ mode: "timestamp_ms" }),
    voidedAt: integer({ mode: "timestamp_ms" }),
    /**
     * When the draft was deleted at Stripe (`invoice.deleted`): kept so that no older event of it
     * brings it back; reads and verbs answer 404 for it, as Stripe does.
     */
    deletedAt: integer({ mode: "timestamp_ms" }),
    lastEventCreated: integer(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("invoices_stripe_unique").on(t.stripeInvoiceId),
    index("invoices_tenant_created_idx").on(t.tenantId, t.livemode, t.createdAt, t.id),
    index("invoices_customer_idx").on(t.customerId, t.createdAt),
    index("invoices_subscription_idx").on(t.subscriptionId, t.createdAt),
    index("invoices_tenant_status_idx").on(t.tenantId, t.livemode, t.status, t.createdAt),
    index("invoices_payment_intent_idx").on(t.paymentIntentId),
  ],
);

/** A Checkout session we opened on the tenant's connected account (pricing page → checkout). */
export const checkoutSessions = sqliteTable(
  "checkout_sessions",
  {
    id: text().primaryKey(),
    tenantId: text().notNull(),
    livemode: integer({ mode: "boolean" }).notNull(),
    stripeSessionId: text().notNull(),
    planId: text().notNull(),
    customerId: text(),
    customerEmail: text(),
    quantity: integer().notNull().default(1),
    status: text({ enum: ["open", "complete", "expired"] }).notNull(),
    url: text(),
    successUrl: text().notNull(),
    cancelUrl: text().notNull(),
    subscriptionId: text(),
    expiresAt: integer({ mode: "timestamp_ms" }),
    completedAt: integer({ mode: "timestamp_ms" }),
    createdBy: text().notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("checkout_sessions_stripe_unique").on(t.stripeSessionId),
    index("checkout_sessions_tenant_created_idx").on(t.tenantId, t.createdAt),
  ],
);

/**
 * The first answer of each `Idempotency-Key` a tenant sent, replayed for 24 h for the same key and
 * request; `responseStatus` null while the first request is still running; `responseBody` null
 * with a status when the answer showed a secret once and was not kept.
 */
export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    tenantId: text().notNull(),
    key: text().notNull(),
    /** Hash of caller, method, path and body (keyed for users: idempotency.ts): the same key with another request is refused. */
    fingerprint: text().notNull(),
    responseStatus: integer(),
    responseBody: text(),
    /** While `responseStatus` is null: when a crashed first request stops holding the key. */
    lockedUntil: integer({ mode: "timestamp_ms" }).notNull(),
    expiresAt: integer({ mode: "timestamp_ms" }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.key] }),
    index("idempotency_keys_expires_idx").on(t.expiresAt),
  ],
);

export type CustomerRow = typeof customers.$inferSelect;
export type CustomerSubscriptionRow = typeof customerSubscriptions.$inferSelect;
export type InvoiceRow = typeof invoices.$inferSelect;
export type CheckoutSessionRow = typeof checkoutSessions.$inferSelect;

/**
 * Analytics. Every Stripe snapshot of a subscription becomes one MRR state (what it adds to MRR
 * from then on); the movements of a customer (new, expansion, contraction, churn, reactivation)
 * are derived from its states by a pure rule and kept as the ledger; daily and monthly rollups
 * per tenant, mode and currency carry the stocks (MRR, subscribers, paying customers at the end of
 * the bucket) and the flows (each movement's sum and count, trials, revenue, refunds, fees), so a
 * read costs O(buckets), never O(subscriptions).
 */
export const mrrStates = sqliteTable(
  "mrr_states",
  {
    subscriptionId: text().notNull(),
    sourceEventId: text().notNull(),
    tenantId: text().notNull(),
    livemode: integer({ mode: "boolean" }).notNull(),
    customerId: text().notNull(),
    planId: text(),
    currency: text().notNull(),
    /** Unix ms: when Stripe made the change. */
    effectiveAt: integer().notNull(),
    status: text({ enum: SUBSCRIPTION_STATES }).notNull(),
    /** Monthly recurring revenue (minor units) from `effectiveAt`, discounts applied. */
    mrr: integer().notNull(),
    /** When a repeating discount ends (unix ms), and the MRR after it; null without one. */
    discountEndsAt: integer(),
    mrrAfterDiscount: integer(),
  },
  (t) => [
    primaryKey({ columns: [t.subscriptionId, t.sourceEventId] }),
    index("mrr_states_customer_idx").on(t.tenantId, t.customerId),
    // The cron finds repeating discounts' ends that have come by this index (`recordDueDiscountEnds`).
    index("mrr_states_discount_end_idx").on(t.discountEndsAt),
  ],
);

export const MOVEMENT_TYPES = ["new", "expansion", "contraction", "churn", "reactivation"] as const;
export type MovementType = (typeof MOVEMENT_TYPES)[number];

export const mrrMovements = sqliteTable(
  "mrr_movements",
  {
    id: text().primaryKey(),
    tenantId: text().notNull(),
    livemode: integer({ mode: "boolean" }).notNull(),
    customerId: text().notNull(),
    subscriptionId: text(),
    currency: text().notNull(),
    type: text({ enum: MOVEMENT_TYPES }).notNull(),
    /** The customer's MRR in this currency before and after (minor units). */
    mrrBefore: integer().notNull(),
    mrrAfter: integer().notNull(),
    /** Unix ms. */
    effectiveAt: integer().notNull(),
    sourceEventId: text().notNull(),
  },
  (t) => [
    index("mrr_movements_tenant_time_idx").on(t.tenantId, t.livemode, t.effectiveAt, t.id),
    index("mrr_movements_customer_idx").on(t.tenantId, t.customerId, t.effectiveAt),
    // Customers lost in a period (`churnedCustomers`): its churn rows alone, the customer in the index.
    index("mrr_movements_churn_idx").on(
      t.tenantId,
      t.livemode,
      t.type,
      t.currency,
      t.effectiveAt,
      t.customerId,
    ),
  ],
);

/** The counters of one rollup bucket (a UTC day, or a month). Stocks are at the bucket's end. */
const rollupColumns = () => ({
  tenantId: text().notNull(),
  livemode: integer({ mode: "boolean" }).notNull(),
  currency: text().notNull(),
  /** Unix ms of the bucket's start (UTC midnight; the 1st of the month). */
  bucket: integer().notNull(),
  mrr: integer().notNull().default(0),
  subscribers: integer().notNull().default(0),
  customers: integer().notNull().default(0),
  newMrr: integer().notNull().default(0),
  newCount: integer().notNull().default(0),
  expansionMrr: integer().notNull().default(0),
  expansionCount: integer().notNull().default(0),
  contractionMrr: integer().notNull().default(0),
  contractionCount: integer().notNull().default(0),
  churnMrr: integer().notNull().default(0),
  churnCount: integer().notNull().default(0),
  reactivationMrr: integer().notNull().default(0),
  reactivationCount: integer().notNull().default(0),
  trialsStarted: integer().notNull().default(0),
  trialsConverted: integer().notNull().default(0),
  trialsLost: integer().notNull().default(0),
  revenue: integer().notNull().default(0),
  refunds: integer().notNull().default(0),
  fees: integer().notNull().default(0),
});

export const analyticsDaily = sqliteTable("analytics_daily", rollupColumns(), (t) => [
  primaryKey({ columns: [t.tenantId, t.livemode, t.currency, t.bucket] }),
]);

export const analyticsMonthly = sqliteTable("analytics_monthly", rollupColumns(), (t) => [
  primaryKey({ columns: [t.tenantId, t.livemode, t.currency, t.bucket] }),
]);

/** Current MRR and subscribers by plan (a stock, kept by the same deltas as the rollups). */
export const analyticsPlans = sqliteTable(
  "analytics_plans",
  {
    tenantId: text().notNull(),
    livemode: integer({ mode: "boolean" }).notNull(),
    currency: text().notNull(),
    planId: text().notNull(),
    mrr: integer().notNull().default(0),
    subscribers: integer().notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.livemode, t.currency, t.planId] })],
);

/** Money actually collected or given back, once per Stripe object (an invoice paid, a refund). */
export const revenueEntries = sqliteTable(
  "revenue_entries",
  {
    /** `invoice:<stripe id>` or `refund:<stripe id>`. */
    id: text().primaryKey(),
    tenantId: text().notNull(),
    livemode: integer({ mode: "boolean" }).notNull(),
    customerId: text(),
    currency: text().notNull(),
    kind: text({ enum: ["payment", "refund"] }).notNull(),
    amount: integer().notNull(),
    fee: integer().notNull().default(0),
    occurredAt: integer().notNull(),
  },
  (t) => [index("revenue_entries_customer_idx").on(t.tenantId, t.customerId)],
);

/**
 * The last check of a tenant's analytics against its subscription mirror, per mode and currency:
 * MRR and subscribers recomputed from the mirror, next to what the rollups say (`drift` is the
 * mirror's MRR less the ledger's). Kept until the next check; drift is also logged.
 */
export const analyticsReconciliations = sqliteTable(
  "analytics_reconciliations",
  {
    tenantId: text().notNull(),
    livemode: integer({ mode: "boolean" }).notNull(),
    currency: text().notNull(),
    checkedAt: integer({ mode: "timestamp_ms" }).notNull(),
    mirrorMrr: integer().notNull(),
    ledgerMrr: integer().notNull(),
    mirrorSubscribers: integer().notNull(),
    ledgerSubscribers: integer().notNull(),
    drift: integer().notNull(),
    /** Subscriptions the mirror changed in the minutes before the check (their events may be in flight). */
    recentlyChanged: integer().notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.livemode, t.currency] }),
    index("analytics_reconciliations_checked_idx").on(t.checkedAt),
  ],
);

export type MrrStateRow = typeof mrrStates.$inferSelect;
export type MrrMovementRow = typeof mrrMovements.$inferSelect;
export type RollupRow = typeof analyticsDaily.$inferSelect;
export type ReconciliationRow = typeof analyticsReconciliations.$inferSelect;
