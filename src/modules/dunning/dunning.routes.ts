import { createRoute, z } from "@hono/zod-openapi";
import { DUNNING_ACTIONS, DUNNING_STEP_KINDS, type DunningStepRow } from "../../db/schema";
import { createRouter } from "../../lib/create-app";
import { BEARER_AUTH, errorResponses, jsonBody, jsonResponse, USER_OR_KEY_AUTH } from "../../lib/openapi";
import { PageQuery, pageBody, pageShape } from "../../lib/pagination";
import { billingReaders } from "../api-keys/middleware";
import { requireRole, requireUser } from "../auth/middleware";
import { type DunningPolicy, MAX_DUNNING_ATTEMPTS } from "./dunning.rules";
import { getDunningSettings, listDunningSteps, putDunningSettings } from "./dunning.service";

const tags = ["Dunning"];
const BASE = "/api/v1/auth/tenants/dunning";
/** Dunning settings: owner, admin and billing users; not API keys (the contract's table). */
const settingsGuard = [requireUser, requireRole("owner", "admin", "billing")];

export const DunningSettingsBody = z
  .object({
    after_attempts: z.number().int().min(1).max(MAX_DUNNING_ATTEMPTS).openapi({
      description: "Failed payment attempts of one invoice after which `action` is taken",
      example: 3,
    }),
    action: z.enum(DUNNING_ACTIONS).openapi({
      description:
        "`cancel`: the subscription is canceled at Stripe. `mark_unpaid`: collection stops (Stripe's `pause_collection` keeping new invoices as drafts, the failing invoice no longer retried but still payable) and the subscription reads `unpaid` until that invoice is paid. `leave_past_due`: nothing changes, Stripe keeps retrying.",
    }),
    notify_each_failure: z.boolean().optional().default(true).openapi({
      description:
        "Send `invoice.payment_failed` for every failed attempt (else only the action is reported)",
    }),
  })
  .openapi("DunningSettingsRequest");

const DunningSettingsSchema = z
  .object({
    object: z.literal("dunning_settings"),
    after_attempts: z.number().int(),
    action: z.enum(DUNNING_ACTIONS),
    notify_each_failure: z.boolean(),
    updated_at: z.iso.datetime().nullable().openapi({ description: "null: the defaults, never set" }),
  })
  .openapi("DunningSettings");

const DunningStepSchema = z
  .object({
    id: z.string(),
    object: z.literal("dunning_step"),
    kind: z.enum(DUNNING_STEP_KINDS),
    attempt: z
      .number()
      .int()
      .openapi({ description: "The failed attempt; for an action, the threshold reached" }),
    action: z.string().nullable(),
    note: z.string(),
    invoice: z.string().nullable(),
    subscription: z.string().nullable(),
    customer: z.string().nullable(),
    stripe_invoice_id: z.string(),
    livemode: z.boolean(),
    created_at: z.iso.datetime(),
  })
  .openapi("DunningStep");

const ListStepsQuery = PageQuery.extend({
  subscription: z.string().max(60).optional(),
  invoice: z.string().max(60).optional(),
});

const serializeSettings = (policy: DunningPolicy & { updatedAt: Date | null }) => ({
  object: "dunning_settings" as const,
  after_attempts: policy.afterAttempts,
  action: policy.action,
  notify_each_failure: policy.notifyEachFailure,
  updated_at: policy.updatedAt?.toISOString() ?? null,
});

export const serializeDunningStep = (row: DunningStepRow): z.infer<typeof DunningStepSchema> => ({
  id: row.id,
  object: "dunning_step",
  kind: row.kind,
  attempt: row.attempt,
  action: row.action,
  note: row.note,
  invoice: row.invoiceId,
  subscription: row.subscriptionId,
  customer: row.customerId,
  stripe_invoice_id: row.stripeInvoiceId,
  livemode: row.livemode,
  created_at: row.createdAt.toISOString(),
});

const getRoute = createRoute({
  method: "get",
  path: BASE,
  tags,
  summary: "The tenant's dunning policy",
  description:
    "Owner, admin and billing users (not API keys). Until set: `leave_past_due` after 4 attempts, each failure reported.",
  security: BEARER_AUTH,
  middleware: settingsGuard,
  responses: { 200: jsonResponse(DunningSettingsSchema, "The dunning policy"), ...errorResponses },
});

const putRoute = createRoute({
  method: "put",
  path: BASE,
  tags,
  summary: "Set what happens to a subscription when its payment keeps failing",
  description:
    "Stripe's retries (Smart Retries) decide when to retry; after `after_attempts` failures of one invoice the action is taken once, in the tenant's Durable Object, and recorded (see `steps`). Set your Stripe account's own \"if all retries fail\" setting to leave subscriptions past due, so this policy decides. Owner, admin and billing users (not API keys).",
  security: BEARER_AUTH,
  middleware: settingsGuard,
  request: { body: jsonBody(DunningSettingsBody) },
  responses: { 200: jsonResponse(DunningSettingsSchema, "The dunning policy"), ...errorResponses },
});

const stepsRoute = createRoute({
  method: "get",
  path: `${BASE}/steps`,
  tags,
  summary: "What dunning did: each failed attempt, each action and recovery, newest first",
  description: "Filters: `subscription`, `invoice`. Every role and secret keys (billing records, read only).",
  security: USER_OR_KEY_AUTH,
  middleware: billingReaders,
  request: { query: ListStepsQuery },
  responses: {
    200: jsonResponse(pageShape(DunningStepSchema).openapi("DunningStepList"), "A page of steps"),
    ...errorResponses,
  },
});

export const dunningRoutes = createRouter()
  .openapi(getRoute, async (c) => c.json(serializeSettings(await getDunningSettings(c.var.ctx)), 200))
  .openapi(putRoute, async (c) =>
    c.json(serializeSettings(await putDunningSettings(c.var.ctx, c.req.valid("json"))), 200),
  )
  .openapi(stepsRoute, async (c) => {
    const page = await listDunningSteps(c.var.ctx, c.req.valid("query"));
    return c.json(pageBody(page, serializeDunningStep), 200);
  });
