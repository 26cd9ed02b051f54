import { and, eq, ne } from "drizzle-orm";
import type Stripe from "stripe";
import type { StripeConfig } from "../../config";
import { withLimitSlot } from "../../coordinator/tenant-coordinator";
import { type BillingInterval, type PlanRow, plans, type TenantRow, tenants } from "../../db/schema";
import { loadTenant } from "../../db/tenants";
import type { Database, Services } from "../../env";
import { auditInsert } from "../../lib/audit";
import { newId } from "../../lib/crypto";
import { uniqueViolation } from "../../lib/db-errors";
import { ApiError } from "../../lib/errors";
import { effectiveLimits } from "../../lib/tiers";
import { callStripe } from "../../stripe/errors";
import { dispatchEvents, insertEvent, prepareEvent } from "../webhooks/events.service";
import { getPlan, type PlanViewer } from "./plans.queries";
import { serializePlan } from "./plans.schemas";

export { getPlan, listPlans } from "./plans.queries";
export type { PlanViewer };

export interface PlanContext {
  services: Services;
  stripe: Stripe;
  config: StripeConfig;
  requestId: string;
}

const nameTaken = () => new ApiError("conflict", "A plan with this name already exists");

async function connectedTenant(
  db: Database,
  tenantId: string,
): Promise<TenantRow & { stripeConnectAccountId: string }> {
  const tenant = await loadTenant(db, tenantId);
  if (!tenant.stripeConnectAccountId) {
    throw new ApiError("stripe_not_connected", "Connect a Stripe account before creating plans");
  }
  return tenant as TenantRow & { stripeConnectAccountId: string };
}

async function assertNameFree(db: Database, tenantId: string, name: string, exceptId?: string) {
  const clash = await db
    .select({ id: plans.id })
    .from(plans)
    .where(
      and(eq(plans.tenantId, tenantId), eq(plans.name, name), exceptId ? ne(plans.id, exceptId) : undefined),
    )
    .get();
  if (clash) throw nameTaken();
}

const stripeMetadata = (tenantId: string, planId: string, metadata: Record<string, string>) => ({
  ...metadata,
  tenant_id: tenantId,
  plan_id: planId,
});

/** The tenant event that reports a plan change, built for the change's own D1 batch. */
async function planEvent(db: Database, type: "plan.updated" | "plan.deactivated", plan: PlanRow, now: Date) {
  const tenant = await db
    .select({ name: tenants.companyName })
    .from(tenants)
    .where(eq(tenants.id, plan.tenantId))
    .get();
  return prepareEvent(
    {
      tenantId: plan.tenantId,
      companyName: tenant?.name ?? "",
      type,
      object: serializePlan(plan),
      livemode: plan.livemode,
    },
    now,
  );
}

export interface NewPlan {
  name: string;
  description?: string | null | undefined;
  price_cents: number;
  currency: string;
  billing_interval: BillingInterval;
  trial_days: number;
  features: string[];
  metadata: Record<string, string>;
  is_visible: boolean;
}

/** Best-effort undo of Stripe objects whose plan could not be stored; the error that caused it wins. */
async function archiveQuietly(ctx: PlanContext, account: string, productId: string, priceId?: string) {
  const options = { stripeAccount: account };
  await Promise.allSettled([
    ctx.stripe.products.update(productId, { active: false }, options),
    ...(priceId ? [ctx.stripe.prices.update(priceId, { active: false }, options)] : []),
  ]);
}

/**
 * Creates the plan all-or-nothing: Product and Price on the tenant's connected account (each
 * with an idempotency key derived from the new plan id, so the SDK's retries never duplicate),
 * then one D1 batch (plan + audit). If Stripe fails nothing is stored; if D1 fails after
 * Stripe succeeded, the Stripe objects are archived again and the caller gets the error.
 */
export async function createPlan(ctx: PlanContext, viewer: PlanViewer, input: NewPlan, origin?: PlanRow) {
  const tenant = await connectedTenant(ctx.services.db, viewer.tenantId);
  await assertNameFree(ctx.services.db, tenant.id, input.name);
  const planId = newId("plan");
  // The slot is held from before the Stripe calls until the plan is stored or undone.
  return withLimitSlot(
    ctx.services.coordinators,
    tenant.id,
    { kind: "plans", limit: effectiveLimits(tenant).plans, rowId: planId, what: "active plans" },
    () => createPlanWithinLimit(ctx, viewer, tenant, planId, { input, origin }),
  );
}

async function createPlanWithinLimit(
  ctx: PlanContext,
  viewer: PlanViewer,
  tenant: TenantRow & { stripeConnectAccountId: string },
  planId: string,
  { input, origin }: { input: NewPlan; origin?: PlanRow | undefined },
) {
  const { db, clock } = ctx.services;
  const account = tenant.stripeConnectAccountId;
  const metadata = origin ? { ...input.metadata, duplicated_from: origin.id } : input.metadata;
  const options = (step: string) => ({ stripeAccount: account, idempotencyKey: `plan:${planId}:${step}` });

  const product = await callStripe(() =>
    ctx.stripe.products.create(
      {
        name: input.name,
        ...(input.description ? { description: input.description } : {}),
        metadata: stripeMetadata(tenant.id, planId, metadata),
      },
      options("product"),
    ),
  );
  let price: Stripe.Price;
  try {
    price = await callStripe(() =>
      ctx.stripe.prices.create(
        {
          product: product.id,
          unit_amount: input.price_cents,
          currency: input.currency,
          recurring: { interval: input.billing_interval },
          metadata: { tenant_id: tenant.id, plan_id: planId },
        },
        options("price"),
      ),
    );
  } catch (error) {
    await archiveQuietly(ctx, account, product.id);
    throw error;
  }

  const now = clock.now();
  const row: PlanRow = {
    id: planId,
    tenantId: tenant.id,
    name: input.name,
    description: input.description ?? null,
    priceCents: input.price_cents,
    currency: input.currency,
    billingInterval: input.billing_interval,
    trialDays: input.trial_days,
    features: input.features,
    metadata,
    isActive: true,
    isVisible: input.is_visible,
    livemode: ctx.config.livemode,
    stripeProductId: product.id,
    stripePriceId: price.id,
    createdAt: now,
    updatedAt: now,
  };
  const event = prepareEvent(
    {
      tenantId: tenant.id,
      companyName: tenant.companyName,
      type: "plan.created",
      object: serializePlan(row),
      livemode: row.livemode,
    },
    now,
  );
  try {
    await db.batch([
      db.insert(plans).values(row),
      insertEvent(db, event),
      auditInsert(db, {
        tenantId: tenant.id,
        actorType: "user",
        actorId: viewer.actorId,
        action: origin ? "plan.duplicated" : "plan.created",
        targetType: "plan",
        targetId: planId,
        metadata: origin
          ? { origin_plan_id: origin.id }
          : { price_cents: row.priceCents, currency: row.currency },
        requestId: ctx.requestId,
        at: now,
      }),
    ]);
  } catch (error) {
    await archiveQuietly(ctx, account, product.id, price.id);
    if (uniqueViolation(error)) throw nameTaken();
    throw error;
  }
  await dispatchEvents(ctx.services.queue, [event], ctx.requestId);
  return row;
}

export interface PlanChanges {
  name?: string | undefined;
  description?: string | null | undefined;
  trial_days?: number | undefined;
  features?: string[] | undefined;
  metadata?: Record<string, string> | undefined;
  is_visible?: boolean | undefined;
}

/**
 * Updates what may change. Name, description and metadata are Stripe's too: Stripe is updated
 * first, so a change Stripe rejects leaves the plan as it was (502 saying so); if D1 then fails,
 * the Stripe product is put back.
 */
export async function updatePlan(ctx: PlanContext, viewer: PlanViewer, planId: string, changes: PlanChanges) {
  const { db, clock } = ctx.services;
  const plan = await getPlan(ctx.services, viewer, planId);
  if (changes.name !== undefined && changes.name !== plan.name)
    await assertNameFree(db, plan.tenantId, changes.name, plan.id);

  const touchesStripe =
    changes.name !== undefined || changes.description !== undefined || changes.metadata !== undefined;
  const tenant = touchesStripe ? await connectedTenant(db, plan.tenantId) : null;
  const stripeProduct = (
    name: string,
    description: string | null,
    metadata: Record<string, string>,
    previous: Record<string, string>,
  ) => {
    // Stripe merges metadata: keys that disappeared are removed by setting them to "".
    const removed = Object.fromEntries(
      Object.keys(previous)
        .filter((key) => !(key in metadata))
        .map((key) => [key, ""]),
    );
    return {
      name,
      description: description ?? "",
      metadata: { ...removed, ...stripeMetadata(plan.tenantId, plan.id, metadata) },
    };
  };
  const next = {
    name: changes.name ?? plan.name,
    description: changes.description !== undefined ? changes.description : plan.description,
    metadata: changes.metadata ?? plan.metadata,
  };
  if (tenant) {
    await callStripe(() =>
      ctx.stripe.products.update(
        plan.stripeProductId,
        stripeProduct(next.name, next.description, next.metadata, plan.metadata),
        {
          stripeAccount: tenant.stripeConnectAccountId,
        },
      ),
    );
  }
  const now = clock.now();
  const updatedRow: PlanRow = {
    ...plan,
    name: next.name,
    description: next.description,
    metadata: next.metadata,
    trialDays: changes.trial_days ?? plan.trialDays,
    features: changes.features ?? plan.features,
    isVisible: changes.is_visible ?? plan.isVisible,
    updatedAt: now,
  };
  const event = await planEvent(db, "plan.updated", updatedRow, now);
  try {
    await db.batch([
      db
        .update(plans)
        .set({
          name: updatedRow.name,
          description: updatedRow.description,
          metadata: updatedRow.metadata,
          trialDays: updatedRow.trialDays,
          features: updatedRow.features,
          isVisible: updatedRow.isVisible,
          updatedAt: now,
        })
        .where(and(eq(plans.id, plan.id), eq(plans.tenantId, plan.tenantId))),
      insertEvent(db, event),
      auditInsert(db, {
        tenantId: plan.tenantId,
        actorType: "user",
        actorId: viewer.actorId,
        action: "plan.updated",
        targetType: "plan",
        targetId: plan.id,
        metadata: { fields: Object.keys(changes) },
        requestId: ctx.requestId,
        at: now,
      }),
    ]);
    await dispatchEvents(ctx.services.queue, [event], ctx.requestId);
    return updatedRow;
  } catch (error) {
    if (tenant) {
      await Promise.allSettled([
        ctx.stripe.products.update(
          plan.stripeProductId,
          stripeProduct(plan.name, plan.description, plan.metadata, next.metadata),
          {
            stripeAccount: tenant.stripeConnectAccountId,
          },
        ),
      ]);
    }
    if (uniqueViolation(error)) throw nameTaken();
    throw error;
  }
}

/** Soft delete: the Stripe product is archived (existing subscriptions go on), then the plan is inactive. */
export async function deactivatePlan(ctx: PlanContext, viewer: PlanViewer, planId: string): Promise<PlanRow> {
  const { db, clock } = ctx.services;
  const plan = await getPlan(ctx.services, viewer, planId);
  if (!plan.isActive) return plan;
  const tenant = await connectedTenant(db, plan.tenantId);
  await callStripe(() =>
    ctx.stripe.products.update(
      plan.stripeProductId,
      { active: false },
      { stripeAccount: tenant.stripeConnectAccountId },
    ),
  );
  const now = clock.now();
  const deactivated: PlanRow = { ...plan, isActive: false, updatedAt: now };
  const event = await planEvent(db, "plan.deactivated", deactivated, now);
  await db.batch([
    db.update(plans).set({ isActive: false, updatedAt: now }).where(eq(plans.id, plan.id)),
    insertEvent(db, event),
    auditInsert(db, {
      tenantId: plan.tenantId,
      actorType: "user",
      actorId: viewer.actorId,
      action: "plan.deactivated",
      targetType: "plan",
      targetId: plan.id,
      requestId: ctx.requestId,
      at: now,
    }),
  ]);
  await dispatchEvents(ctx.services.queue, [event], ctx.requestId);
  return deactivated;
}

/** A new plan with a new name and price; features, metadata, trial and visibility are copied. */
export async function duplicatePlan(
  ctx: PlanContext,
  viewer: PlanViewer,
  planId: string,
  input: {
    name: string;
    price_cents: number;
    currency?: string | undefined;
    billing_interval?: BillingInterval | undefined;
  },
) {
  const origin = await getPlan(ctx.services, viewer, planId);
  return createPlan(
    ctx,
    viewer,
    {
      name: input.name,
      description: origin.description,
      price_cents: input.price_cents,
      currency: input.currency ?? origin.currency,
      billing_interval: input.billing_interval ?? origin.billingInterval,
      trial_days: origin.trialDays,
      features: origin.features,
      metadata: origin.metadata,
      is_visible: origin.isVisible,
    },
    origin,
  );
}
