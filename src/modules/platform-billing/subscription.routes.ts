import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../../lib/create-app";
import { BEARER_AUTH, errorResponses, jsonBody, jsonResponse, stripeErrorResponses } from "../../lib/openapi";
import { effectiveLimits } from "../../lib/tiers";
import { UsageLimitsSchema } from "../auth/auth.schemas";
import { requireRole, requireUser } from "../auth/middleware";
import { payOpenInvoices } from "./invoice-payment";
import { changePlan } from "./plan-change";
import { PlatformPlanSchema, serializePlatformPlan } from "./platform-plan";
import * as billing from "./subscription.service";

const tags = ["Platform subscription"];
const BASE = "/api/v1/auth/tenants/subscription";
const owner = [requireUser, requireRole("owner")];

const SubscriptionView = z
  .object({
    tenant_status: z.enum(["active", "suspended"]),
    suspended_reason: z.string().nullable(),
    tier: z.string(),
    limits: UsageLimitsSchema,
    plan: PlatformPlanSchema.nullable(),
    status: z.string().openapi({ example: "active" }),
    stripe_customer_id: z.string().nullable(),
    stripe_subscription_id: z.string().nullable(),
    current_period_start: z.iso.datetime().nullable(),
    current_period_end: z.iso.datetime().nullable(),
    trial_end: z.iso.datetime().nullable(),
    cancel_at_period_end: z.boolean(),
  })
  .openapi("PlatformSubscription");

const PaymentMethodId = z.string().regex(/^pm_\w+$/, "A payment method id from Stripe.js (pm_...)");

const SubscribeBody = z
  .object({
    plan_id: z.string().min(1).max(40).openapi({ example: "starter" }),
    payment_method_id: PaymentMethodId.openapi({ example: "pm_card_visa" }),
    trial_days: z.unknown().optional().openapi({
      description:
        "Not accepted: the trial comes from the platform plan (`trial_days`), once per tenant. Sending it is a 400.",
    }),
  })
  .superRefine((body, ctx) => {
    if (body.trial_days !== undefined)
      ctx.addIssue({
        code: "custom",
        path: ["trial_days"],
        message: "The trial is set by the platform plan (one per tenant), not by the request",
      });
  })
  .openapi("SubscribeRequest");

const ChangeBody = z.object({ plan_id: z.string().min(1).max(40) }).openapi("ChangePlanRequest");
const CancelBody = z
  .object({
    at_period_end: z
      .boolean()
      .optional()
      .default(true)
      .openapi({ description: "Default true; false cancels now (the tenant is suspended at once)" }),
  })
  .openapi("CancelSubscriptionRequest");

const PayBody = z
  .object({
    payment_method_id: PaymentMethodId.optional().openapi({
      description:
        "A new card from Stripe.js: attached to the tenant's Stripe customer and made its default and the subscription's. Without it, the card on file is charged.",
      example: "pm_card_visa",
    }),
  })
  .openapi("PayOpenInvoicesRequest");

const iso = (date: Date | null | undefined) => date?.toISOString() ?? null;

const view = ({ tenant, subscription, plan }: Awaited<ReturnType<typeof billing.loadSubscription>>) => ({
  tenant_status: tenant.status,
  suspended_reason: tenant.suspendedReason,
  tier: tenant.subscriptionTier,
  limits: effectiveLimits(tenant),
  plan: plan ? serializePlatformPlan(plan) : null,
  status: subscription?.status ?? "none",
  stripe_customer_id: subscription?.stripeCustomerId ?? null,
  stripe_subscription_id: subscription?.stripeSubscriptionId ?? null,
  current_period_start: iso(subscription?.currentPeriodStart),
  current_period_end: iso(subscription?.currentPeriodEnd),
  trial_end: iso(subscription?.trialEnd),
  cancel_at_period_end: subscription?.cancelAtPeriodEnd ?? false,
});

const plansRoute = createRoute({
  method: "get",
  path: `${BASE}/plans`,
  tags,
  summary: "The platform plans a tenant can subscribe to (any role)",
  security: BEARER_AUTH,
  middleware: [requireUser],
  responses: {
    200: jsonResponse(z.object({ data: z.array(PlatformPlanSchema) }), "Active platform plans"),
    ...errorResponses,
  },
});

const getRoute = createRoute({
  method: "get",
  path: BASE,
  tags,
  summary: "The tenant's platform subscription, tier and limits (any role)",
  security: BEARER_AUTH,
  middleware: [requireUser],
  responses: { 200: jsonResponse(SubscriptionView, "Subscription"), ...errorResponses },
});

const postRoute = createRoute({
  method: "post",
  path: BASE,
  tags,
  summary: "Subscribe to a platform plan (owner)",
  description:
    "Creates the Stripe customer (`metadata.tenant_id`) with the payment method from Stripe.js, then the subscription (optional trial). Works for a suspended tenant too: this is how it fixes billing. One subscribe of a tenant at a time: a second one meanwhile is 409 `conflict`.",
  security: BEARER_AUTH,
  middleware: owner,
  request: { body: jsonBody(SubscribeBody) },
  responses: { 201: jsonResponse(SubscriptionView, "Subscribed"), ...stripeErrorResponses },
});

const patchRoute = createRoute({
  method: "patch",
  path: BASE,
  tags,
  summary: "Change plan, with proration (owner)",
  description:
    "An upgrade (a higher price a month) of a paying subscription is invoiced at once and applies only once that invoice is paid: a declined card is 402 `payment_failed` with the `invoice` and `pending_update_expires_at`, and plan, tier and limits stay as they were (pay the invoice with `POST .../subscription/pay/` before then). A downgrade, or any change during a trial, applies at once; Stripe credits or charges the difference on the next invoice.",
  security: BEARER_AUTH,
  middleware: owner,
  request: { body: jsonBody(ChangeBody) },
  responses: { 200: jsonResponse(SubscriptionView, "Plan changed"), ...stripeErrorResponses },
});

const deleteRoute = createRoute({
  method: "delete",
  path: BASE,
  tags,
  summary: "Cancel, at period end (default) or now (owner)",
  security: BEARER_AUTH,
  middleware: owner,
  request: { body: { required: false, content: { "application/json": { schema: CancelBody } } } },
  responses: { 200: jsonResponse(SubscriptionView, "Cancelled or scheduled"), ...stripeErrorResponses },
});

const payRoute = createRoute({
  method: "post",
  path: `${BASE}/pay`,
  tags,
  summary: "Pay the subscription's open invoices (owner)",
  description:
    "Charges every open invoice of the platform subscription at Stripe, oldest first (renewals that failed), with the card given or the one on file. Works for a suspended tenant: paying is how a tenant suspended for failed payments fixes billing and keeps its subscription, and the answer shows it active again. A decline is 402 `payment_failed` with Stripe's reason; invoices paid before it stay paid. Requests sent at once charge once. 409 `conflict` when nothing is open.",
  security: BEARER_AUTH,
  middleware: owner,
  request: { body: { required: false, content: { "application/json": { schema: PayBody } } } },
  responses: { 200: jsonResponse(SubscriptionView, "Paid"), ...stripeErrorResponses },
});

export const subscriptionRoutes = createRouter()
  .openapi(plansRoute, async (c) => {
    const plans = await billing.listPlatformPlans(c.var.ctx);
    return c.json({ data: plans.map(serializePlatformPlan) }, 200);
  })
  .openapi(getRoute, async (c) => c.json(view(await billing.mySubscription(c.var.ctx)), 200))
  .openapi(postRoute, async (c) => c.json(view(await billing.subscribe(c.var.ctx, c.req.valid("json"))), 201))
  .openapi(patchRoute, async (c) => c.json(view(await changePlan(c.var.ctx, c.req.valid("json"))), 200))
  .openapi(payRoute, async (c) => {
    const body = c.req.header("Content-Type")?.includes("json") ? c.req.valid("json") : {};
    return c.json(view(await payOpenInvoices(c.var.ctx, body)), 200);
  })
  .openapi(deleteRoute, async (c) => {
    const body = c.req.header("Content-Type")?.includes("json")
      ? c.req.valid("json")
      : { at_period_end: true };
    return c.json(
      view(
        await billing.cancel(c.var.ctx, {
          at_period_end: body.at_period_end ?? true,
        }),
      ),
      200,
    );
  });
