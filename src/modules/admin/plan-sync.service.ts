import { asc, eq } from "drizzle-orm";
import Stripe from "stripe";
import type { RequestContext } from "../../context";
import { type PlatformPlanRow, platformPlans } from "../../db/schema";
import { auditInsert } from "../../lib/audit";
import { errorFields } from "../../lib/logger";
import { priceDisplay } from "../../lib/money";
import { fromStripeError } from "../../stripe/errors";
import type { SyncAction, SyncActionKind, SyncResult } from "./platform-plans.schemas";
import { PLATFORM_AUDIT_TENANT } from "./platform-plans.service";

/**
 * `POST /admin/plans/sync`: makes the platform account's Stripe catalog match `platform_plans`,
 * as the old platform's `sync_stripe_plans` command did. Plans are handled one at a time in id
 * order; each Stripe id is stored in D1 as soon as its object exists, so a failure part-way
 * (502) keeps what was done and a rerun carries on from there. Every create has an idempotency
 * key derived from what it creates, so a rerun after a lost answer gets the same object back.
 */

type Push = (action: SyncActionKind, detail: string, ids?: { product?: string; price?: string }) => void;

const productKey = (plan: PlatformPlanRow, replaces: string | null) =>
  `platform-plan:${plan.id}:product${replaces ? `:replaces:${replaces}` : ""}`;

/** `platform-plan:starter:price:2900:usd:month:<product>[:replaces:<old price>]`. */
const priceKey = (plan: PlatformPlanRow, productId: string, replaces: string | null) =>
  `platform-plan:${plan.id}:price:${plan.priceCents}:${plan.currency}:${plan.billingInterval}:${productId}${
    replaces ? `:replaces:${replaces}` : ""
  }`;

const planPrice = (plan: PlatformPlanRow) =>
  priceDisplay(plan.priceCents, plan.currency, plan.billingInterval);

const stripePrice = (price: Stripe.Price) =>
  price.unit_amount === null
    ? `${price.id} (no fixed amount)`
    : priceDisplay(price.unit_amount, price.currency, price.recurring?.interval ?? "one-time");

const idOf = (value: string | { id: string } | null) =>
  typeof value === "string" ? value : (value?.id ?? null);

/** A read that answers null for an object Stripe does not know (deleted, or made with another key or mode). */
async function findAtStripe<T>(read: () => Promise<T>): Promise<T | null> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof Stripe.errors.StripeError && error.statusCode === 404) return null;
    throw error;
  }
}

async function store(
  ctx: RequestContext,
  planId: string,
  ids: { stripeProductId?: string; stripePriceId?: string | null },
) {
  await ctx.db.update(platformPlans).set(ids).where(eq(platformPlans.id, planId));
}

/** What differs between the plan and its Stripe product: the update to send, and why. */
function productChanges(plan: PlatformPlanRow, product: Stripe.Product) {
  const params: Stripe.ProductUpdateParams = {};
  const reasons: string[] = [];
  if (!product.active) {
    params.active = true;
    reasons.push("reactivated (the plan is active again)");
  }
  if (product.name !== plan.name) {
    params.name = plan.name;
    reasons.push(`name "${product.name}" → "${plan.name}"`);
  }
  if ((product.description || null) !== (plan.description || null)) {
    params.description = plan.description ?? "";
    reasons.push("description updated");
  }
  if (product.metadata.platform_plan_id !== plan.id || product.metadata.tier !== plan.tier) {
    params.metadata = { platform_plan_id: plan.id, tier: plan.tier };
    reasons.push("metadata updated");
  }
  return reasons.length ? { params, detail: reasons.join("; ") } : null;
}

/** Why a stored price no longer sells this plan, or null when it still does. */
function priceMismatch(plan: PlatformPlanRow, productId: string, price: Stripe.Price): string | null {
  const reasons: string[] = [];
  if (
    price.unit_amount !== plan.priceCents ||
    price.currency !== plan.currency ||
    price.recurring?.interval !== plan.billingInterval ||
    (price.recurring?.interval_count ?? 1) !== 1
  )
    reasons.push(`${stripePrice(price)} → ${planPrice(plan)}`);
  if (idOf(price.product) !== productId) reasons.push("the stored price belongs to another product");
  if (!price.active) reasons.push("the stored price is archived at Stripe");
  return reasons.length ? reasons.join("; ") : null;
}

async function syncActivePlan(ctx: RequestContext, plan: PlatformPlanRow, dryRun: boolean, push: Push) {
  let productId = plan.stripeProductId;
  let priceId = plan.stripePriceId;
  let touched = false;

  if (productId) {
    const storedId = productId;
    const product = await findAtStripe(() => ctx.stripe.products.retrieve(storedId));
    if (!product) {
      productId = null;
    } else {
      const changes = productChanges(plan, product);
      if (changes) {
        if (!dryRun) await ctx.stripe.products.update(storedId, changes.params);
        push("update_product", changes.detail, { product: storedId });
        touched = true;
      }
    }
  }

  if (!productId) {
    const missing = plan.stripeProductId;
    const detail = `Product "${plan.name}" (tier ${plan.tier})${missing ? `; ${missing} is not found at Stripe` : ""}`;
    // The old product's price cannot sell the new product.
    priceId = null;
    if (dryRun) {
      push("create_product", detail);
      push("create_price", planPrice(plan));
      return;
    }
    const product = await ctx.stripe.products.create(
      {
        name: plan.name,
        ...(plan.description ? { description: plan.description } : {}),
        metadata: { platform_plan_id: plan.id, tier: plan.tier },
      },
      { idempotencyKey: productKey(plan, missing) },
    );
    await store(ctx, plan.id, { stripeProductId: product.id, stripePriceId: null });
    productId = product.id;
    push("create_product", detail, { product: product.id });
    touched = true;
  }

  const current = priceId ? await findAtStripe(() => ctx.stripe.prices.retrieve(priceId as string)) : null;
  const mismatch = current ? priceMismatch(plan, productId, current) : null;
  if (current && !mismatch) {
    if (!touched) push("unchanged", `in sync: ${planPrice(plan)}`, { product: productId, price: current.id });
    return;
  }

  const action = current ? "replace_price" : "create_price";
  const detail = current
    ? `${mismatch}; ${current.id} ${current.active ? "archived" : "was already archived"}`
    : `${planPrice(plan)}${priceId ? `; ${priceId} is not found at Stripe` : ""}`;
  if (dryRun) {
    push(action, detail, { product: productId });
    return;
  }
  const product = productId;
  const price = await ctx.stripe.prices.create(
    {
      product,
      unit_amount: plan.priceCents,
      currency: plan.currency,
      recurring: { interval: plan.billingInterval },
      metadata: { platform_plan_id: plan.id },
    },
    { idempotencyKey: priceKey(plan, product, priceId) },
  );
  // Archive the old price before storing the new one: if archiving fails, the rerun finds the
  // old price still stored, gets the same new price back (same key) and archives again.
  if (current?.active) await ctx.stripe.prices.update(current.id, { active: false });
  await store(ctx, plan.id, { stripePriceId: price.id });
  push(action, detail, { product, price: price.id });
}

async function syncInactivePlan(ctx: RequestContext, plan: PlatformPlanRow, dryRun: boolean, push: Push) {
  const productId = plan.stripeProductId;
  if (!productId) {
    push("unchanged", "inactive; never synced to Stripe");
    return;
  }
  const product = await findAtStripe(() => ctx.stripe.products.retrieve(productId));
  if (!product) {
    push("unchanged", `inactive; ${productId} is not found at Stripe`);
    return;
  }
  if (!product.active) {
    push("unchanged", "inactive; product already archived", { product: productId });
    return;
  }
  if (!dryRun) await ctx.stripe.products.update(productId, { active: false });
  push("archive_product", "the plan is inactive; existing subscriptions go on", { product: productId });
}

function summarize(actions: SyncAction[]): SyncResult["summary"] {
  const count = (...kinds: SyncActionKind[]) => actions.filter((a) => kinds.includes(a.action)).length;
  return {
    created: count("create_product", "create_price"),
    updated: count("update_product", "replace_price"),
    archived: count("archive_product"),
    unchanged: count("unchanged"),
  };
}

/** Syncs every plan; with `dryRun` Stripe is only read and nothing is written anywhere. */
export async function syncPlatformPlans(ctx: RequestContext, dryRun: boolean): Promise<SyncResult> {
  const { db, clock } = ctx;
  const plans = await db.select().from(platformPlans).orderBy(asc(platformPlans.id));
  const actions: SyncAction[] = [];
  let failure: unknown = null;
  try {
    for (const plan of plans) {
      const push: Push = (action, detail, ids = {}) =>
        actions.push({
          plan_id: plan.id,
          action,
          detail,
          ...(ids.product ? { stripe_product_id: ids.product } : {}),
          ...(ids.price ? { stripe_price_id: ids.price } : {}),
        });
      if (plan.isActive) await syncActivePlan(ctx, plan, dryRun, push);
      else await syncInactivePlan(ctx, plan, dryRun, push);
    }
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    const changes = actions.filter((a) => a.action !== "unchanged");
    if (!dryRun && changes.length) {
      // One record of what reached Stripe, also when a failure stopped the sync part-way.
      await auditInsert(db, {
        tenantId: PLATFORM_AUDIT_TENANT,
        actorType: "platform_admin",
        action: "platform_plans.synced",
        targetType: "platform_plan",
        metadata: {
          actions: changes.map(({ plan_id, action, stripe_product_id, stripe_price_id }) => ({
            plan_id,
            action,
            stripe_product_id,
            stripe_price_id,
          })),
          ...(failure ? { stopped_by: stoppedBy(failure) } : {}),
        },
        requestId: ctx.requestId,
        at: clock.now(),
      }).catch((error: unknown) => ctx.log.error("sync audit failed", errorFields(error)));
    }
  }
  return { dry_run: dryRun, actions, summary: summarize(actions) };
}

/** What stopped a sync, in the words the caller got (Stripe's message with keys masked). */
function stoppedBy(failure: unknown): string {
  const mapped = fromStripeError(failure);
  return mapped instanceof Error ? mapped.message : String(mapped);
}
