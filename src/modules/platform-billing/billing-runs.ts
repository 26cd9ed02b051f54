import { and, eq, inArray, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { RequestContext } from "../../context";
import {
  type PlatformPlanRow,
  type StripeEventRow,
  stripeEvents,
  type TenantRow,
  type TenantSubscriptionRow,
  tenantSubscriptions,
  tenants,
} from "../../db/schema";
import { findTenantWithSubscription } from "../../db/tenants";
import { auditInsert } from "../../lib/audit";
import { uniqueViolation } from "../../lib/db-errors";
import { ApiError } from "../../lib/errors";
import { errorFields, errorMessage } from "../../lib/logger";
import { type EdgeDebt, newEdgeDebt, oweEdgeRecords } from "../api-keys/edge-debts";
import { applyMirrorEvent, isMirrorEvent } from "../billing-mirror/mirror.service";
import { MIRROR_CONFLICTS, mirrorStatements } from "../billing-mirror/mirror-commit";
import { MirrorRun } from "../billing-mirror/mirror-run";
import { loadMirrorState } from "../billing-mirror/mirror-state";
import { insertEvent, insertEventUnless, type PreparedEvent, prepareEvent } from "../webhooks/events.service";
import { applyConnectEvent } from "./connect-events";
import { followPlan, plansByPrice } from "./plan-following";
import { publishCommittedRun } from "./run-publication";
import { type StripeEventLike, toBillingEvent } from "./stripe-mapping";
import {
  type BillingEvent,
  type BillingState,
  type Effect,
  INITIAL_BILLING_STATE,
  transition,
} from "./suspension";

const toDate = (seconds: number | null) => (seconds === null ? null : new Date(seconds * 1000));
const toSeconds = (date: Date | null) => (date ? Math.floor(date.getTime() / 1000) : null);

export function billingState(
  tenant: TenantRow,
  subscription: TenantSubscriptionRow | undefined,
): BillingState {
  return {
    ...INITIAL_BILLING_STATE,
    tenantStatus: tenant.status,
    suspendedReason: tenant.suspendedReason,
    subscriptionStatus: subscription?.status ?? "none",
    stripeSubscriptionId: subscription?.stripeSubscriptionId ?? null,
    currentPeriodStart: toSeconds(subscription?.currentPeriodStart ?? null),
    currentPeriodEnd: toSeconds(subscription?.currentPeriodEnd ?? null),
    trialEnd: toSeconds(subscription?.trialEnd ?? null),
    cancelAtPeriodEnd: subscription?.cancelAtPeriodEnd ?? false,
    lastEventCreated: subscription?.lastEventCreated ?? null,
    lastInvoiceEventCreated: subscription?.lastInvoiceEventCreated ?? null,
    lastPaidInvoiceId: subscription?.lastPaidInvoiceId ?? null,
  };
}

/** Everything one run decides, written in one D1 batch at the end. */
export interface Outcome {
  state: BillingState;
  tenantChanges: Partial<TenantRow>;
  subscriptionChanges: Partial<TenantSubscriptionRow>;
  events: PreparedEvent[];
  audits: Effect[];
  notes: Map<string, { status: StripeEventRow["status"]; outcome: string }>;
  /** Writes of the tenant's own billing mirror (customers, subscriptions, invoices), same batch. */
  mirror: BatchItem<"sqlite">[];
  /** The mirror's events written only if their query finds nothing (`MirrorRun.unlessRecorded`). */
  unlessRecorded: Map<string, SQL>;
  /** The tenant's platform plan as the run has it so far. */
  planId: string | null;
  /** The platform plans whose Stripe prices the run's subscription snapshots name, by price id. */
  plansByPrice: Map<string, PlatformPlanRow>;
}

function collect(outcome: Outcome, tenant: TenantRow, effects: Effect[], livemode: boolean, now: Date) {
  for (const effect of effects) {
    if (effect.kind === "emit") {
      outcome.events.push(
        prepareEvent(
          {
            tenantId: tenant.id,
            companyName: tenant.companyName,
            type: effect.type,
            object: effect.data,
            livemode,
          },
          now,
        ),
      );
    } else {
      outcome.audits.push(effect);
    }
  }
}

function applyPlatformEvent(outcome: Outcome, tenant: TenantRow, event: StripeEventLike, now: Date): string {
  const billing = toBillingEvent(event);
  if (billing) {
    const watermark = outcome.state.lastEventCreated;
    const note = applyBilling(outcome, tenant, billing, event.livemode ?? false, now);
    const newest = watermark === null || billing.created > watermark;
    return newest ? followPlan(outcome, event, note) : note;
  }
  const object = event.data.object;
  switch (event.type) {
    case "customer.deleted":
      outcome.subscriptionChanges.stripeCustomerId = null;
      return "customer cleared";
    case "checkout.session.completed":
      if (object.mode === "subscription" && typeof object.customer === "string") {
        outcome.subscriptionChanges.stripeCustomerId = object.customer;
        if (typeof object.subscription === "string")
          outcome.subscriptionChanges.stripeSubscriptionId = object.subscription;
        return "checkout linked";
      }
      return "recorded";
    case "charge.refunded":
      outcome.audits.push({
        kind: "audit",
        action: "billing.charge_refunded",
        metadata: { charge: object.id, amount_refunded: object.amount_refunded },
      });
      return "refund recorded";
    case "customer.created":
    case "customer.updated":
      return "recorded";
    default:
      return "recorded: no handler for this type";
  }
}

/** Runs one billing event through the state machine and keeps what it decided. */
export function applyBilling(
  outcome: Outcome,
  tenant: TenantRow,
  billing: BillingEvent,
  livemode: boolean,
  now: Date,
): string {
  const result = transition(outcome.state, billing);
  outcome.state = result.state;
  collect(outcome, tenant, result.effects, livemode, now);
  return result.applied ? `applied: ${result.note}` : `not applied: ${result.note}`;
}

function newOutcome(
  tenant: TenantRow,
  subscription: TenantSubscriptionRow | undefined,
  plansByPrice: Map<string, PlatformPlanRow> = new Map(),
): Outcome {
  return {
    planId: subscription?.planId ?? null,
    plansByPrice,
    state: billingState(tenant, subscription),
    tenantChanges: {},
    subscriptionChanges: {},
    events: [],
    audits: [],
    notes: new Map(),
    mirror: [],
    unlessRecorded: new Map(),
  };
}

/**
 * Writes what a run decided in one D1 batch: the tenant (status, suspension, Connect fields),
 * its subscription mirror, the tenant events (outbox) and audit records, and the events'
 * outcomes. Answers whether the API keys' edge records must be republished (the tenant's status
 * or Connect account changed: the debt its batch recorded), which `publishCommittedRun` does once
 * the batch committed.
 */
async function commit(
  ctx: RequestContext,
  tenant: TenantRow,
  previous: TenantSubscriptionRow | undefined,
  outcome: Outcome,
): Promise<{ keysOwed: EdgeDebt | null }> {
  const { db } = ctx;
  const now = ctx.clock.now();
  const { state } = outcome;
  const statusChanged = state.tenantStatus !== tenant.status;
  const tenantChanges: Partial<TenantRow> = {
    ...outcome.tenantChanges,
    ...(statusChanged
      ? {
          status: state.tenantStatus,
          suspendedReason: state.suspendedReason,
          suspendedAt: state.tenantStatus === "suspended" ? now : null,
        }
      : state.suspendedReason !== tenant.suspendedReason
        ? { suspendedReason: state.suspendedReason }
        : {}),
  };
  const subscription: TenantSubscriptionRow = {
    tenantId: tenant.id,
    planId: previous?.planId ?? null,
    priceCents: previous?.priceCents ?? null,
    priceCurrency: previous?.priceCurrency ?? null,
    priceInterval: previous?.priceInterval ?? null,
    stripeCustomerId: previous?.stripeCustomerId ?? null,
    stripeSubscriptionId: state.stripeSubscriptionId,
    status: state.subscriptionStatus,
    currentPeriodStart: toDate(state.currentPeriodStart),
    currentPeriodEnd: toDate(state.currentPeriodEnd),
    trialEnd: toDate(state.trialEnd),
    cancelAtPeriodEnd: state.cancelAtPeriodEnd,
    trialUsedAt: previous?.trialUsedAt ?? null,
    lastEventCreated: state.lastEventCreated,
    lastInvoiceEventCreated: state.lastInvoiceEventCreated,
    lastPaidInvoiceId: state.lastPaidInvoiceId,
    createdAt: previous?.createdAt ?? now,
    updatedAt: now,
    ...outcome.subscriptionChanges,
  };
  const guarded = outcome.events.filter((event) => outcome.unlessRecorded.has(event.row.id));
  // The keys' edge records carry the tenant's status, Connect account and tier (its rate limit).
  const keysOwed =
    statusChanged || "stripeConnectAccountId" in tenantChanges || "subscriptionTier" in tenantChanges
      ? newEdgeDebt(tenant.id)
      : null;
  const written = await db.batch([
    db
      .insert(tenantSubscriptions)
      .values(subscription)
      .onConflictDoUpdate({ target: tenantSubscriptions.tenantId, set: subscription }),
    // Before the mirror's writes, so that their queries see the rows as the run found them.
    ...guarded.map((event) => insertEventUnless(db, event, outcome.unlessRecorded.get(event.row.id) as SQL)),
    ...outcome.mirror,
    ...(Object.keys(tenantChanges).length
      ? [db.update(tenants).set(tenantChanges).where(eq(tenants.id, tenant.id))]
      : []),
    ...(keysOwed ? [oweEdgeRecords(db, keysOwed, now)] : []),
    ...outcome.events
      .filter((event) => !outcome.unlessRecorded.has(event.row.id))
      .map((event) => insertEvent(db, event)),
    ...outcome.audits
      .filter((effect): effect is Extract<Effect, { kind: "audit" }> => effect.kind === "audit")
      .map((effect) =>
        auditInsert(db, {
          tenantId: tenant.id,
          actorType: "system",
          action: effect.action,
          targetType: "tenant",
          targetId: tenant.id,
          reason: effect.reason ?? null,
          ...(effect.metadata ? { metadata: effect.metadata } : {}),
          at: now,
        }),
      ),
    ...[...outcome.notes].map(([id, note]) =>
      db
        .update(stripeEvents)
        .set({
          status: note.status,
          outcome: note.outcome,
          tenantId: tenant.id,
          processedAt: now,
          attempts: sql`${stripeEvents.attempts} + 1`,
        })
        .where(eq(stripeEvents.id, id)),
    ),
  ]);
  // An event its query found recorded was not written: it is not handed to delivery either.
  const skipped = new Set(
    guarded.filter((_, i) => !(written[i + 1] as unknown[]).length).map((e) => e.row.id),
  );
  if (skipped.size) outcome.events = outcome.events.filter((event) => !skipped.has(event.row.id));
  return { keysOwed };
}

/** What a run leaves to the queue: the events that failed on their own and deserve a retry. */
export interface ProcessResult {
  retry: string[];
  /** Set when the run committed but the API keys' edge records could not be republished. */
  keysUnpublished?: true;
}

const published = (result: { keysUnpublished: boolean }) =>
  result.keysUnpublished ? { keysUnpublished: true as const } : {};

/** Where a run stood before an event, so an event that throws halfway leaves no trace in it. */
function checkpoint(outcome: Outcome) {
  return {
    state: outcome.state,
    planId: outcome.planId,
    tenantChanges: { ...outcome.tenantChanges },
    subscriptionChanges: { ...outcome.subscriptionChanges },
    events: outcome.events.length,
    audits: outcome.audits.length,
  };
}

function restore(outcome: Outcome, mark: ReturnType<typeof checkpoint>) {
  outcome.state = mark.state;
  outcome.planId = mark.planId;
  outcome.tenantChanges = mark.tenantChanges;
  outcome.subscriptionChanges = mark.subscriptionChanges;
  outcome.events.length = mark.events;
  outcome.audits.length = mark.audits;
}

/**
 * Processes recorded Stripe events of one tenant, oldest first by Stripe's `created`, skipping
 * any already processed (duplicates and retries change nothing). Runs inside the tenant's
 * coordinator, one run at a time. An event that throws fails alone: it is marked `failed` and
 * handed back for a retry with backoff (a Connect event too large to forward can never succeed,
 * so it is marked failed for the operator and not retried); the others are committed. A run
 * whose commit failed because an API create stored an object the run found absent runs once
 * more at once (`again`); any other failed commit throws, so the queue retries all of it. What
 * follows a commit (`publishCommittedRun`) never fails the run.
 */
export async function processStripeEvents(
  ctx: RequestContext,
  tenantId: string,
  eventIds: string[],
  again = false,
): Promise<ProcessResult> {
  const { db } = ctx;
  const rows = await db
    .select()
    .from(stripeEvents)
    .where(and(inArray(stripeEvents.id, eventIds), inArray(stripeEvents.status, ["received", "failed"])));
  if (!rows.length) return { retry: [] };
  rows.sort((a, b) => a.created - b.created || a.id.localeCompare(b.id));
  const { tenant, subscription } = await findTenantWithSubscription(db, tenantId);
  const now = ctx.clock.now();
  if (!tenant) {
    await db
      .update(stripeEvents)
      .set({ status: "ignored", outcome: "tenant not found", processedAt: now })
      .where(
        inArray(
          stripeEvents.id,
          rows.map((row) => row.id),
        ),
      );
    return { retry: [] };
  }
  const retry: string[] = [];
  const events = new Map(rows.map((row) => [row.id, JSON.parse(row.payload) as StripeEventLike]));
  const outcome = newOutcome(tenant, subscription, await plansByPrice(ctx, rows, events));
  const mirrored = rows.filter((row) => row.endpoint === "connect" && isMirrorEvent(row.type));
  const mirror = mirrored.length
    ? new MirrorRun(
        ctx,
        tenant,
        await loadMirrorState(
          ctx,
          tenant.id,
          mirrored.flatMap((row) => events.get(row.id) ?? []),
        ),
        tenant.stripeConnectAccountId,
      )
    : null;
  for (const row of rows) {
    const mark = checkpoint(outcome);
    try {
      const event = events.get(row.id) as StripeEventLike;
      const note =
        mirror && row.endpoint === "connect" && isMirrorEvent(row.type)
          ? await applyMirrorEvent(mirror, event)
          : row.endpoint === "connect"
            ? await applyConnectEvent(ctx, outcome, tenant, event, now)
            : applyPlatformEvent(outcome, tenant, event, now);
      outcome.notes.set(row.id, { status: "processed", outcome: note });
    } catch (error) {
      restore(outcome, mark);
      const permanent = error instanceof ApiError && error.code === "payload_too_large";
      if (!permanent) retry.push(row.id);
      // As logged: a failed query's bound values stay out of the event's stored outcome.
      const reason = errorMessage(error);
      outcome.notes.set(row.id, {
        status: "failed",
        outcome: `${permanent ? "failed for good" : "error, will retry"}: ${reason.slice(0, 480)}`,
      });
      ctx.log.error("stripe event failed", {
        tenant_id: tenantId,
        outcome: permanent ? "failed for good" : "will retry",
        event_id: row.id,
        type: row.type,
        ...errorFields(error),
      });
    }
  }
  if (mirror) {
    outcome.mirror.push(...mirrorStatements(mirror), ...(await mirror.analytics.statements()));
    outcome.events.push(...mirror.events);
    for (const [id, query] of mirror.unlessRecorded) outcome.unlessRecorded.set(id, query);
  }
  let committed: { keysOwed: EdgeDebt | null };
  try {
    committed = await commit(ctx, tenant, subscription, outcome);
  } catch (error) {
    // The API stored an object the run found absent (see `mirrorStatements`): nothing of the run
    // was written; once more, from the rows as they are now.
    if (!again && MIRROR_CONFLICTS.has(uniqueViolation(error) ?? "")) {
      ctx.log.info("mirror run read before an API create; running it again", {
        tenant_id: tenantId,
        ...errorFields(error),
      });
      return processStripeEvents(ctx, tenantId, eventIds, true);
    }
    await db
      .update(stripeEvents)
      .set({
        status: "failed",
        outcome: `error: ${errorMessage(error).slice(0, 500)}`,
        attempts: sql`${stripeEvents.attempts} + 1`,
      })
      .where(
        inArray(
          stripeEvents.id,
          rows.map((row) => row.id),
        ),
      );
    throw error;
  }
  const publication = await publishCommittedRun(ctx, outcome.events, committed.keysOwed);
  return { retry, ...published(publication) };
}

/**
 * Applies billing events that did not come through a webhook (the API's own subscription
 * calls), through the same state machine, so every transition of a tenant happens here.
 */
export async function applyBillingEvents(
  ctx: RequestContext,
  tenantId: string,
  events: BillingEvent[],
  changes: Partial<TenantSubscriptionRow> = {},
): Promise<Omit<ProcessResult, "retry">> {
  const { tenant, subscription } = await findTenantWithSubscription(ctx.db, tenantId);
  if (!tenant) return {};
  const outcome = newOutcome(tenant, subscription);
  outcome.subscriptionChanges = { ...changes };
  // The API's own subscription calls use the platform's Stripe key: its mode is theirs.
  const livemode = ctx.config.stripe.livemode;
  for (const event of events) applyBilling(outcome, tenant, event, livemode, ctx.clock.now());
  const { keysOwed } = await commit(ctx, tenant, subscription, outcome);
  return published(await publishCommittedRun(ctx, outcome.events, keysOwed));
}
