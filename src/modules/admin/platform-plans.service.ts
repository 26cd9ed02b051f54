import { asc, eq, inArray, type SQL, sql } from "drizzle-orm";
import type { RequestContext } from "../../context";
import {
  type BillingInterval,
  type PlanLimits,
  type PlatformPlanRow,
  platformPlans,
  tenantSubscriptions,
  tenants,
} from "../../db/schema";
import { auditInsert } from "../../lib/audit";
import { newId } from "../../lib/crypto";
import { uniqueViolation } from "../../lib/db-errors";
import { ApiError, notFound } from "../../lib/errors";
import { publishOrOwe } from "../api-keys/api-keys.service";
import { oweEdgeRecordsOfSubscribers } from "../api-keys/edge-debts";

/** Audit records of platform-level changes have no tenant; they are filed under this id. */
export const PLATFORM_AUDIT_TENANT = "platform";

export async function listPlatformPlans(ctx: RequestContext, filters: { is_active?: boolean | undefined }) {
  return ctx.db
    .select()
    .from(platformPlans)
    .where(filters.is_active === undefined ? undefined : eq(platformPlans.isActive, filters.is_active))
    .orderBy(asc(platformPlans.id));
}

export async function getPlatformPlan(ctx: RequestContext, id: string): Promise<PlatformPlanRow> {
  const plan = await ctx.db.select().from(platformPlans).where(eq(platformPlans.id, id)).get();
  if (!plan) throw notFound("Platform plan");
  return plan;
}

export interface NewPlatformPlan {
  id: string;
  name: string;
  description?: string | null | undefined;
  tier: string;
  price_cents: number;
  currency: string;
  billing_interval: BillingInterval;
  trial_days: number;
  limits: PlanLimits;
  is_active: boolean;
}

const idTaken = (id: string) => new ApiError("conflict", `A platform plan with id "${id}" already exists`);

/** Stored in D1 only (plan + audit in one batch); Stripe's Product and Price are made by the sync. */
export async function createPlatformPlan(ctx: RequestContext, input: NewPlatformPlan) {
  const { db, clock } = ctx;
  const now = clock.now();
  const row: PlatformPlanRow = {
    id: input.id,
    name: input.name,
    description: input.description || null,
    tier: input.tier,
    priceCents: input.price_cents,
    currency: input.currency,
    billingInterval: input.billing_interval,
    trialDays: input.trial_days,
    limits: input.limits,
    isActive: input.is_active,
    stripeProductId: null,
    stripePriceId: null,
    createdAt: now,
    updatedAt: now,
  };
  try {
    await db.batch([
      db.insert(platformPlans).values(row),
      auditInsert(db, {
        tenantId: PLATFORM_AUDIT_TENANT,
        actorType: "platform_admin",
        action: "platform_plan.created",
        targetType: "platform_plan",
        targetId: row.id,
        metadata: {
          tier: row.tier,
          price_cents: row.priceCents,
          currency: row.currency,
          billing_interval: row.billingInterval,
        },
        requestId: ctx.requestId,
        at: now,
      }),
    ]);
  } catch (error) {
    if (uniqueViolation(error)) throw idTaken(row.id);
    throw error;
  }
  return row;
}

export interface PlatformPlanChanges {
  name?: string | undefined;
  description?: string | null | undefined;
  limits?: Partial<PlanLimits> | undefined;
  is_active?: boolean | undefined;
  price_cents?: number | undefined;
  currency?: string | undefined;
  billing_interval?: BillingInterval | undefined;
  trial_days?: number | undefined;
}

/**
 * Changes the plan in D1 only. Stripe follows at the next sync: a new price, currency or interval
 * becomes a new Stripe Price (prices are immutable) and the old one is archived; a deactivated
 * plan's product is archived. Limits are the platform's own and never go to Stripe.
 */
export async function updatePlatformPlan(ctx: RequestContext, id: string, changes: PlatformPlanChanges) {
  const { db, clock } = ctx;
  const plan = await getPlatformPlan(ctx, id);
  const now = clock.now();
  const next: PlatformPlanRow = {
    ...plan,
    name: changes.name ?? plan.name,
    description: changes.description !== undefined ? changes.description || null : plan.description,
    limits: changes.limits ? { ...plan.limits, ...changes.limits } : plan.limits,
    isActive: changes.is_active ?? plan.isActive,
    priceCents: changes.price_cents ?? plan.priceCents,
    currency: changes.currency ?? plan.currency,
    billingInterval: changes.billing_interval ?? plan.billingInterval,
    trialDays: changes.trial_days ?? plan.trialDays,
    updatedAt: now,
  };
  const changed = (
    [
      ["name", plan.name, next.name],
      ["description", plan.description, next.description],
      ["limits", JSON.stringify(plan.limits), JSON.stringify(next.limits)],
      ["is_active", plan.isActive, next.isActive],
      ["price_cents", plan.priceCents, next.priceCents],
      ["currency", plan.currency, next.currency],
      ["billing_interval", plan.billingInterval, next.billingInterval],
      ["trial_days", plan.trialDays, next.trialDays],
    ] as const
  )
    .filter(([, before, after]) => before !== after)
    .map(([field]) => field);
  if (!changed.length) return plan;

  const priceChanged = changed.some((field) =>
    ["price_cents", "currency", "billing_interval"].includes(field),
  );
  // Only what this request sends is written, and limits are merged in SQL into the row as it is
  // then: a write of every field from the row read above undid other changes made meanwhile.
  const limitsSet = Object.entries(changes.limits ?? {}).filter(([, value]) => value !== undefined);
  const set = {
    ...(changes.name !== undefined ? { name: next.name } : {}),
    ...(changes.description !== undefined ? { description: next.description } : {}),
    ...(changes.is_active !== undefined ? { isActive: next.isActive } : {}),
    ...(changes.price_cents !== undefined ? { priceCents: next.priceCents } : {}),
    ...(changes.currency !== undefined ? { currency: next.currency } : {}),
    ...(changes.billing_interval !== undefined ? { billingInterval: next.billingInterval } : {}),
    ...(changes.trial_days !== undefined ? { trialDays: next.trialDays } : {}),
    ...(limitsSet.length ? { limits: mergedLimits(limitsSet) } : {}),
    updatedAt: now,
  };
  const debtId = newId("debt");
  const [updated] = await db.batch([
    db.update(platformPlans).set(set).where(eq(platformPlans.id, plan.id)).returning(),
    auditInsert(db, {
      tenantId: PLATFORM_AUDIT_TENANT,
      actorType: "platform_admin",
      action: "platform_plan.updated",
      targetType: "platform_plan",
      targetId: plan.id,
      metadata: {
        fields: changed,
        ...(priceChanged
          ? {
              previous_price: {
                price_cents: plan.priceCents,
                currency: plan.currency,
                billing_interval: plan.billingInterval,
              },
            }
          : {}),
        ...(changed.includes("limits") ? { previous_limits: plan.limits } : {}),
      },
      requestId: ctx.requestId,
      at: now,
    }),
    // Subscribers carry a copy of their plan's limits: new limits apply to them at once.
    ...(changed.includes("limits")
      ? [
          db
            .update(tenants)
            .set({
              limits: sql`(SELECT ${platformPlans.limits} FROM ${platformPlans} WHERE ${platformPlans.id} = ${plan.id})`,
            })
            .where(
              inArray(
                tenants.id,
                db
                  .select({ id: tenantSubscriptions.tenantId })
                  .from(tenantSubscriptions)
                  .where(eq(tenantSubscriptions.planId, plan.id)),
              ),
            ),
          oweEdgeRecordsOfSubscribers(db, plan.id, debtId, now),
        ]
      : []),
  ]);
  if (changed.includes("limits")) await republishSubscribers(ctx, plan.id, debtId);
  const row = updated[0];
  if (!row) throw notFound("Platform plan");
  return row;
}

/** `limits` with each given key set (a null: unlimited), other keys as the row holds them. */
function mergedLimits(entries: [string, number | null][]): SQL {
  const pairs = entries.map(([key, value]) => sql`${`$.${key}`}, ${value}`);
  return sql`json_set(${platformPlans.limits}, ${sql.join(pairs, sql`, `)})`;
}

/** The API keys of the plan's subscribers see the new rate limit (KV, and this isolate at once). */
async function republishSubscribers(ctx: RequestContext, planId: string, debtId: string) {
  const subscribers = await ctx.db
    .select({ tenantId: tenantSubscriptions.tenantId })
    .from(tenantSubscriptions)
    .where(eq(tenantSubscriptions.planId, planId));
  for (const { tenantId } of subscribers)
    await publishOrOwe(ctx, { tenantId, debtId }, "a plan's limits changed");
}
