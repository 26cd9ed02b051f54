import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** Roles of a tenant's users, most powerful first (see the contract's role table). */
export const ROLES = ["owner", "admin", "developer", "billing"] as const;
export type Role = (typeof ROLES)[number];

export const TENANT_STATUSES = ["active", "suspended"] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];

const createdAt = () =>
  integer({ mode: "timestamp_ms" }).notNull().default(sql`(unixepoch('subsec') * 1000)`);

const updatedAt = () => createdAt().$onUpdate(() => new Date());

export const tenants = sqliteTable(
  "tenants",
  {
    id: text().primaryKey(),
    slug: text().notNull(),
    companyName: text().notNull(),
    domain: text(),
    status: text({ enum: TENANT_STATUSES }).notNull().default("active"),
    suspendedReason: text(),
    suspendedAt: integer({ mode: "timestamp_ms" }),
    subscriptionTier: text().notNull().default("free"),
    /** The limits of the tenant's platform plan; null: the defaults of `subscriptionTier`. */
    limits: text({ mode: "json" }).$type<PlanLimits>(),
    stripeConnectAccountId: text(),
    stripeConnectStatus: text().notNull().default("not_connected"),
    /** How the account was connected: `account_links` (platform-controlled) or `oauth` (legacy). */
    stripeConnectFlow: text({ enum: ["account_links", "oauth"] }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("tenants_slug_unique").on(t.slug),
    // A Stripe account belongs to at most one tenant, so its Connect events reach one owner.
    uniqueIndex("tenants_stripe_account_unique").on(t.stripeConnectAccountId),
  ],
);

export const users = sqliteTable(
  "users",
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    /** Lower-cased; unique across the platform because login takes only email and password. */
    email: text().notNull(),
    firstName: text(),
    lastName: text(),
    role: text({ enum: ROLES }).notNull(),
    /** `pbkdf2_sha256$<iterations>$<salt b64>$<hash b64>`, or null until a setup token is used. */
    passwordHash: text(),
    /** SHA-256 of a one-time setup token handed out when a user is invited without a password. */
    setupTokenHash: text(),
    setupTokenExpiresAt: integer({ mode: "timestamp_ms" }),
    isActive: integer({ mode: "boolean" }).notNull().default(true),
    lastLoginAt: integer({ mode: "timestamp_ms" }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("users_email_unique").on(t.email),
    index("users_tenant_idx").on(t.tenantId),
    uniqueIndex("users_setup_token_unique").on(t.setupTokenHash),
  ],
);

/**
 * One row per issued refresh token. A token is used once: refreshing marks it `usedAt` and
 * issues the next one in the same family; presenting a used token revokes the whole family.
 */
export const refreshTokens = sqliteTable(
  "refresh_tokens",
  {
    jti: text().primaryKey(),
    familyId: text().notNull(),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    tenantId: text().notNull(),
    expiresAt: integer({ mode: "timestamp_ms" }).notNull(),
    usedAt: integer({ mode: "timestamp_ms" }),
    revokedAt: integer({ mode: "timestamp_ms" }),
    createdAt: createdAt(),
  },
  (t) => [index("refresh_tokens_family_idx").on(t.familyId), index("refresh_tokens_user_idx").on(t.userId)],
);

/** Failed-login counters per key (`email:<sha256>` or `ip:<address>`), fixed window. */
export const loginThrottles = sqliteTable("login_throttles", {
  key: text().primaryKey(),
  failures: integer().notNull(),
  windowStartedAt: integer({ mode: "timestamp_ms" }).notNull(),
  lockedUntil: integer({ mode: "timestamp_ms" }),
});

/** Append-only record of security-relevant changes, written in the same D1 batch as the change. */
export const auditLog = sqliteTable(
  "audit_log",
  {
    id: text().primaryKey(),
    tenantId: text().notNull(),
    actorType: text({ enum: ["user", "api_key", "system", "platform_admin"] }).notNull(),
    actorId: text(),
    action: text().notNull(),
    targetType: text(),
    targetId: text(),
    reason: text(),
    metadata: text({ mode: "json" }).$type<Record<string, unknown>>(),
    requestId: text(),
    createdAt: createdAt(),
  },
  (t) => [index("audit_log_tenant_created_idx").on(t.tenantId, t.createdAt)],
);

export type TenantRow = typeof tenants.$inferSelect;
export type UserRow = typeof users.$inferSelect;
export type RefreshTokenRow = typeof refreshTokens.$inferSelect;
export type AuditLogRow = typeof auditLog.$inferSelect;

export const KEY_MODES = ["live", "test"] as const;
export type KeyMode = (typeof KEY_MODES)[number];
export const KEY_KINDS = ["publishable", "secret"] as const;
export type KeyKind = (typeof KEY_KINDS)[number];

/**
 * API keys. Secret keys are stored only as a SHA-256 hash plus their last 4 characters;
 * publishable keys also in clear (they are public by design). Every key is found by its hash.
 * A regenerated key with a rollover keeps `status = active` until `expiresAt`.
 */
export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    kind: text({ enum: KEY_KINDS }).notNull(),
    mode: text({ enum: KEY_MODES }).notNull(),
    keyHash: text().notNull(),
    last4: text().notNull(),
    publishableKey: text(),
    status: text({ enum: ["active", "revoked"] })
      .notNull()
      .default("active"),
    expiresAt: integer({ mode: "timestamp_ms" }),
    revokedAt: integer({ mode: "timestamp_ms" }),
    revokedReason: text(),
    lastUsedAt: integer({ mode: "timestamp_ms" }),
    createdBy: text(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("api_keys_hash_unique").on(t.keyHash),
    index("api_keys_tenant_status_idx").on(t.tenantId, t.status),
  ],
);

export type ApiKeyRow = typeof apiKeys.$inferSelect;

/**
 * A tenant's API-key edge records (KV) owed since a D1 commit changed what they hold (a revoke,
 * a suspension, a tier): written in the commit's batch, cleared by the publication that follows.
 * One left behind (the Worker died in between) is published by the cron's sweep.
 */
export const edgeKeyDebts = sqliteTable("edge_key_debts", {
  tenantId: text()
    .primaryKey()
    .references(() => tenants.id, { onDelete: "cascade" }),
  /** The commit that owes them last: a publication clears only its own debt. */
  debtId: text().notNull(),
  owedAt: integer({ mode: "timestamp_ms" }).notNull(),
});

/** Connect onboarding `state` values already redeemed: D1 makes single use strict (KV alone is not). */
export const connectStatesUsed = sqliteTable("connect_states_used", {
  stateHash: text().primaryKey(),
  tenantId: text().notNull(),
  usedAt: integer({ mode: "timestamp_ms" }).notNull(),
});

export const BILLING_INTERVALS = ["month", "year"] as const;
export type BillingInterval = (typeof BILLING_INTERVALS)[number];

/** A tenant's subscription plan, mirrored as a Product + recurring Price on its connected account. */
export const plans = sqliteTable(
  "plans",
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    name: text().notNull(),
    description: text(),
    /** Integer minor units of `currency` (cents; yen for JPY). */
    priceCents: integer().notNull(),
    currency: text().notNull(),
    billingInterval: text({ enum: BILLING_INTERVALS }).notNull(),
    trialDays: integer().notNull().default(0),
    features: text({ mode: "json" }).$type<string[]>().notNull(),
    metadata: text({ mode: "json" }).$type<Record<string, string>>().notNull(),
    isActive: integer({ mode: "boolean" }).notNull().default(true),
    isVisible: integer({ mode: "boolean" }).notNull().default(true),
    /** Whether the plan lives in Stripe's live mode (the platform key's mode when it was created). */
    livemode: integer({ mode: "boolean" }).notNull(),
    stripeProductId: text().notNull(),
    stripePriceId: text().notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("plans_tenant_name_unique").on(t.tenantId, t.name),
    index("plans_tenant_active_idx").on(t.tenantId, t.isActive),
    index("plans_tenant_interval_idx").on(t.tenantId, t.billingInterval),
    index("plans_tenant_created_idx").on(t.tenantId, t.createdAt),
    index("plans_stripe_product_idx").on(t.stripeProductId),
  ],
);

export type PlanRow = typeof plans.$inferSelect;

/**
 * The tenant's webhook endpoint (one per tenant, as the config API has it). The signing secret
 * is kept in clear because every delivery needs it; after a rotation the previous secret signs
 * too until `previousSecretExpiresAt` (24 h).
 */
export const webhookEndpoints = sqliteTable("webhook_endpoints", {
  tenantId: text()
    .primaryKey()
    .references(() => tenants.id, { onDelete: "cascade" }),
  url: text(),
  secret: text().notNull(),
  previousSecret: text(),
  previousSecretExpiresAt: integer({ mode: "timestamp_ms" }),
  /** Event types delivered; null means every type. */
  enabledEvents: text({ mode: "json" }).$type<string[] | null>(),
  status: text({ enum: ["enabled", "disabled"] })
    .notNull()
    .default("enabled"),
  disabledReason: text(),
  disabledAt: integer({ mode: "timestamp_ms" }),
  /** Start of the current run of failures (null after any success), for the 5-day rule. */
  failingSince: integer({ mode: "timestamp_ms" }),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const EVENT_STATUSES = ["pending", "delivered", "failed", "skipped"] as const;
export type EventStatus = (typeof EVENT_STATUSES)[number];

/** Every event emitted to a tenant, with the exact payload sent (its id is stable across retries). */
export const webhookEvents = sqliteTable(
  "webhook_events",
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    type: text().notNull(),
    payload: text().notNull(),
    status: text({ enum: EVENT_STATUSES }).notNull().default("pending"),
    attempts: integer().notNull().default(0),
    nextAttemptAt: integer({ mode: "timestamp_ms" }),
    lastAttemptAt: integer({ mode: "timestamp_ms" }),
    deliveredAt: integer({ mode: "timestamp_ms" }),
    lastError: text(),
    /** A synchronous test send (`POST .../webhooks/test/`): logged like any delivery, never retried. */
    isTest: integer({ mode: "boolean" }).notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [
    index("webhook_events_tenant_created_idx").on(t.tenantId, t.createdAt),
    index("webhook_events_tenant_status_idx").on(t.tenantId, t.status, t.createdAt),
  ],
);

/** One row per delivery attempt: the tenant's delivery log. */
export const webhookAttempts = sqliteTable(
  "webhook_attempts",
  {
    id: text().primaryKey(),
    eventId: text()
      .notNull()
      .references(() => webhookEvents.id, { onDelete: "cascade" }),
    tenantId: text().notNull(),
    attempt: integer().notNull(),
    url: text().notNull(),
    statusCode: integer(),
    outcome: text().notNull(),
    reason: text().notNull(),
    durationMs: integer().notNull(),
    responseBody: text(),
    createdAt: createdAt(),
  },
  (t) => [index("webhook_attempts_event_idx").on(t.eventId, t.attempt)],
);

/** Queue messages that exhausted their retries, recorded by the dead-letter consumer. */
export const deadLetters = sqliteTable("dead_letters", {
  id: text().primaryKey(),
  queue: text().notNull(),
  kind: text(),
  tenantId: text(),
  body: text().notNull(),
  attempts: integer().notNull(),
  createdAt: createdAt(),
});

export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;
export type WebhookEventRow = typeof webhookEvents.$inferSelect;
export type WebhookAttemptRow = typeof webhookAttempts.$inferSelect;

/** Usage limits of a platform plan; null means unlimited. */
export interface PlanLimits {
  api_requests_per_minute: number;
  api_requests_per_month: number | null;
  plans: number | null;
  webhook_endpoints: number;
  users: number | null;
}

/** The platform's own plans, sold to tenants on the platform's Stripe account. */
export const platformPlans = sqliteTable("platform_plans", {
  /** A readable slug (`starter`, `pro`), used by tenants to pick a plan. */
  id: text().primaryKey(),
  name: text().notNull(),
  description: text(),
  /** The tier a subscriber gets (also the key of the default limits). */
  tier: text().notNull(),
  priceCents: integer().notNull(),
  currency: text().notNull().default("usd"),
  billingInterval: text({ enum: BILLING_INTERVALS }).notNull(),
  /** Free trial days a tenant's first subscription gets (one trial per tenant, ever). */
  trialDays: integer().notNull().default(0),
  limits: text({ mode: "json" }).$type<PlanLimits>().notNull(),
  isActive: integer({ mode: "boolean" }).notNull().default(true),
  stripeProductId: text(),
  stripePriceId: text(),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const SUBSCRIPTION_STATUSES = [
  "none",
  "incomplete",
  "trialing",
  "active",
  "past_due",
  "unpaid",
  "cancelled",
] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

/** A tenant's subscription to a platform plan, mirrored from Stripe (one per tenant). */
export const tenantSubscriptions = sqliteTable(
  "tenant_subscriptions",
  {
    tenantId: text()
      .primaryKey()
      .references(() => tenants.id, { onDelete: "cascade" }),
    planId: text(),
    /**
     * The price the subscription pays, Stripe's, as it was when our API made or changed it. A
     * plan's price changed later makes a new Stripe Price for new subscriptions only, so the
     * platform's MRR reads this, and the plan's price only for rows made before it was kept.
     */
    priceCents: integer(),
    priceCurrency: text(),
    priceInterval: text({ enum: BILLING_INTERVALS }),
    stripeCustomerId: text(),
    stripeSubscriptionId: text(),
    status: text({ enum: SUBSCRIPTION_STATUSES }).notNull().default("none"),
    currentPeriodStart: integer({ mode: "timestamp_ms" }),
    currentPeriodEnd: integer({ mode: "timestamp_ms" }),
    trialEnd: integer({ mode: "timestamp_ms" }),
    cancelAtPeriodEnd: integer({ mode: "boolean" }).notNull().default(false),
    /** When the tenant's one free trial was granted; a later subscription pays at once. */
    trialUsedAt: integer({ mode: "timestamp_ms" }),
    /** Stripe `created` (unix s) of the newest subscription snapshot applied: older ones are ignored. */
    lastEventCreated: integer(),
    /** Stripe `created` (unix s) of the newest invoice outcome applied: older ones are ignored. */
    lastInvoiceEventCreated: integer(),
    /** That newest outcome's invoice when it was a payment: a failure of it in the same second is stale. */
    lastPaidInvoiceId: text(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("tenant_subscriptions_customer_idx").on(t.stripeCustomerId),
    index("tenant_subscriptions_subscription_idx").on(t.stripeSubscriptionId),
  ],
);

export const STRIPE_EVENT_STATUSES = ["received", "processed", "ignored", "failed"] as const;

/** Every Stripe event received, once by id, with its processing outcome. */
export const stripeEvents = sqliteTable(
  "stripe_events",
  {
    id: text().primaryKey(),
    endpoint: text({ enum: ["platform", "connect"] }).notNull(),
    type: text().notNull(),
    account: text(),
    livemode: integer({ mode: "boolean" }).notNull(),
    /** Stripe's `created`, unix seconds. */
    created: integer().notNull(),
    payload: text().notNull(),
    tenantId: text(),
    status: text({ enum: STRIPE_EVENT_STATUSES }).notNull().default("received"),
    outcome: text(),
    attempts: integer().notNull().default(0),
    receivedAt: integer({ mode: "timestamp_ms" }).notNull(),
    processedAt: integer({ mode: "timestamp_ms" }),
  },
  (t) => [
    index("stripe_events_status_idx").on(t.status, t.receivedAt),
    index("stripe_events_tenant_idx").on(t.tenantId, t.created),
  ],
);

export type PlatformPlanRow = typeof platformPlans.$inferSelect;
export type TenantSubscriptionRow = typeof tenantSubscriptions.$inferSelect;
export type StripeEventRow = typeof stripeEvents.$inferSelect;
export * from "./billing.schema";
export * from "./invoicing.schema";
