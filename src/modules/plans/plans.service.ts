import { and, eq, ne, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { auditActor, type RequestContext } from "../../context";
import { withLimitSlot } from "../../coordinator/client";
import type { Database } from "../../db/client";
import { type BillingInterval, type PlanRow, plans, type TenantRow } from "../../db/schema";
import { loadTenant } from "../../db/tenants";
import { newId } from "../../lib/crypto";
import { uniqueViolation } from "../../lib/db-errors";
import { ApiError } from "../../lib/errors";
import { effectiveLimits } from "../../lib/tiers";
import { withStripeUndo } from "../../stripe/undo";
import { type ConnectedTenant, connectedTenant } from "../stripe-connect/connected-account";
import { prepareEvent } from "../webhooks/events.service";
import { commitWithEvents } from "../webhooks/outbox";
import { getPlan, planViewer } from "./plans.queries";
import { serializePlan } from "./plans.schemas";

export { getPlan, listPlans } from "./plans.queries";

const nameTaken = () => new ApiError("conflict", "A plan with this name already exists");

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

/** The product fields Stripe keeps of a plan; metadata keys that disappeared are sent as "" (Stripe merges). */
function stripeProduct(plan: PlanRow, previousMetadata: Record<string, string>) {
  const removed = Object.fromEntries(
    Object.keys(previousMetadata)
      .filter((key) => !(key in plan.metadata))
      .map((key) => [key, ""]),
  );
  return {
    name: plan.name,
    description: plan.description ?? "",
    metadata: { ...removed, ...stripeMetadata(plan.tenantId, plan.id, plan.metadata) },
  };
}

/**
 * The change's D1 batch through the outbox: the plan statement, its tenant event and its audit
 * record. With `alreadyDone` (a query that finds the change made, seen before the batch's own
 * statement), the event and audit record are written only by the request whose statement made
 * it, so the same change sent several times at once is reported once. Answers whether this
 * request made it.
 */
async function commitPlanChange(
  ctx: RequestContext,
  tenant: TenantRow,
  change: {
    plan: PlanRow;
    statement: BatchItem<"sqlite">;
    event: string;
    audit: string;
    alreadyDone?: SQL;
  },
  metadata?: Record<string, unknown>,
): Promise<boolean> {
  const now = ctx.clock.now();
  const event = prepareEvent(
    {
      tenantId: tenant.id,
      companyName: tenant.companyName,
      type: change.event,
      object: serializePlan(change.plan),
      livemode: change.plan.livemode,
    },
    now,
  );
  const { written } = await commitWithEvents(ctx, {
    statements: [change.statement],
    events: [event],
    audit: {
      tenantId: tenant.id,
      ...auditActor(ctx),
      action: change.audit,
      targetType: "plan",
      targetId: change.plan.id,
      ...(metadata ? { metadata } : {}),
      requestId: ctx.requestId,
      at: now,
    },
    ...(change.alreadyDone ? { unlessRecorded: change.alreadyDone, auditOnlyIfChanged: true } : {}),
  });
  return written.length > 0;
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

/**
 * Creates the plan all-or-nothing: a slot under the tier's plan limit is reserved first; then the
 * Product and Price on the tenant's connected account (each with an idempotency key derived from
 * the new plan id, so the SDK's retries never duplicate); then one D1 batch (plan, event, audit).
 * If Stripe fails nothing is stored; if D1 fails after Stripe succeeded, the Stripe objects are
 * archived again and the caller gets the error.
 */
export async function createPlan(ctx: RequestContext, input: NewPlan, origin?: PlanRow) {
  const tenant = await connectedTenant(ctx, planViewer(ctx).tenantId, "creating plans");
  await assertNameFree(ctx.db, tenant.id, input.name);
  const planId = newId("plan");
  return withLimitSlot(
    ctx,
    tenant.id,
    { kind: "plans", limit: effectiveLimits(tenant).plans, rowId: planId, what: "active plans" },
    () => createWithinLimit(ctx, tenant, planId, { input, origin }),
  );
}

async function createWithinLimit(
  ctx: RequestContext,
  tenant: ConnectedTenant,
  planId: string,
  { input, origin }: { input: NewPlan; origin?: PlanRow | undefined },
) {
  const account = tenant.stripeConnectAccountId;
  const metadata = origin ? { ...input.metadata, duplicated_from: origin.id } : input.metadata;
  const options = (step: string) => ({ stripeAccount: account, idempotencyKey: `plan:${planId}:${step}` });
  return withStripeUndo(ctx, async (undo) => {
    const product = await ctx.stripe.products.create(
      {
        name: input.name,
        ...(input.description ? { description: input.description } : {}),
        metadata: stripeMetadata(tenant.id, planId, metadata),
      },
      options("product"),
    );
    undo.push(`archive product ${product.id}`, () =>
      ctx.stripe.products.update(product.id, { active: false }, { stripeAccount: account }),
    );
    const price = await ctx.stripe.prices.create(
      {
        product: product.id,
        unit_amount: input.price_cents,
        currency: input.currency,
        recurring: { interval: input.billing_interval },
        metadata: { tenant_id: tenant.id, plan_id: planId },
      },
      options("price"),
    );
    undo.push(`archive price ${price.id}`, () =>
      ctx.stripe.prices.update(price.id, { active: false }, { stripeAccount: account }),
    );
    const now = ctx.clock.now();
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
      livemode: ctx.config.stripe.livemode,
      stripeProductId: product.id,
      stripePriceId: price.id,
      createdAt: now,
      updatedAt: now,
    };
    await commitPlanChange(
      ctx,
      tenant,
      {
        plan: row,
        statement: ctx.db.insert(plans).values(row),
        event: "plan.created",
        audit: origin ? "plan.duplicated" : "plan.created",
      },
      origin ? { origin_plan_id: origin.id } : { price_cents: row.priceCents, currency: row.currency },
    ).catch((error: unknown) => {
      throw uniqueViolation(error) ? nameTaken() : error;
    });
    return row;
  });
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
export async function updatePlan(ctx: RequestContext, planId: string, changes: PlanChanges) {
  const plan = await getPlan(ctx, planId);
  if (changes.name !== undefined && changes.name !== plan.name)
    await assertNameFree(ctx.db, plan.tenantId, changes.name, plan.id);
  const touchesStripe =
    changes.name !== undefined || changes.description !== undefined || changes.metadata !== undefined;
  const tenant = touchesStripe
    ? await connectedTenant(ctx, plan.tenantId, "changing plans")
    : await loadTenant(ctx.db, plan.tenantId);
  const now = ctx.clock.now();
  const updated: PlanRow = {
    ...plan,
    name: changes.name ?? plan.name,
    description: changes.description !== undefined ? changes.description : plan.description,
    metadata: changes.metadata ?? plan.metadata,
    trialDays: changes.trial_days ?? plan.trialDays,
    features: changes.features ?? plan.features,
    isVisible: changes.is_visible ?? plan.isVisible,
    updatedAt: now,
  };
  const account = { stripeAccount: tenant.stripeConnectAccountId ?? undefined };
  return withStripeUndo(ctx, async (undo) => {
    if (touchesStripe) {
      await ctx.stripe.products.update(plan.stripeProductId, stripeProduct(updated, plan.metadata), account);
      undo.push(`restore product ${plan.stripeProductId}`, () =>
        ctx.stripe.products.update(plan.stripeProductId, stripeProduct(plan, updated.metadata), account),
      );
    }
    const { name, description, metadata, trialDays, features, isVisible } = updated;
    const fields = { name, description, metadata, trialDays, features, isVisible, updatedAt: now };
    await commitPlanChange(
      ctx,
      tenant,
      {
        plan: updated,
        statement: ctx.db
          .update(plans)
          .set(fields)
          .where(and(eq(plans.id, plan.id), eq(plans.tenantId, plan.tenantId))),
        event: "plan.updated",
        audit: "plan.updated",
      },
      { fields: Object.keys(changes) },
    ).catch((error: unknown) => {
      throw uniqueViolation(error) ? nameTaken() : error;
    });
    return updated;
  });
}

/** Soft delete: the Stripe product is archived (existing subscriptions go on), then the plan is inactive. */
export async function deactivatePlan(ctx: RequestContext, planId: string): Promise<PlanRow> {
  const plan = await getPlan(ctx, planId);
  if (!plan.isActive) return plan;
  const tenant = await connectedTenant(ctx, plan.tenantId, "changing plans");
  await ctx.stripe.products.update(
    plan.stripeProductId,
    { active: false },
    { stripeAccount: tenant.stripeConnectAccountId },
  );
  const now = ctx.clock.now();
  const deactivated: PlanRow = { ...plan, isActive: false, updatedAt: now };
  const made = await commitPlanChange(ctx, tenant, {
    plan: deactivated,
    statement: ctx.db
      .update(plans)
      .set({ isActive: false, updatedAt: now })
      .where(and(eq(plans.id, plan.id), eq(plans.isActive, true))),
    event: "plan.deactivated",
    audit: "plan.deactivated",
    alreadyDone: sql`SELECT 1 FROM ${plans} WHERE ${plans.id} = ${plan.id} AND ${plans.isActive} = 0`,
  });
  return made ? deactivated : getPlan(ctx, plan.id);
}

/** A new plan with a new name and price; features, metadata, trial and visibility are copied. */
export async function duplicatePlan(
  ctx: RequestContext,
  planId: string,
  input: {
    name: string;
    price_cents: number;
    currency?: string | undefined;
    billing_interval?: BillingInterval | undefined;
  },
) {
  const origin = await getPlan(ctx, planId);
  return createPlan(
    ctx,
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
