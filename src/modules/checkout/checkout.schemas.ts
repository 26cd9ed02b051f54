import { z } from "@hono/zod-openapi";
import type { CheckoutSessionRow } from "../../db/schema";
import { STRIPE_METADATA_KEYS, stripeMetadata } from "../../lib/metadata";
import { OWN_METADATA_KEYS } from "../subscriptions/stripe-subscription";

const RedirectUrl = z
  .url({ protocol: /^https?$/ })
  .max(2000)
  .openapi({ example: "https://tenant.example/thanks?session={CHECKOUT_SESSION_ID}" });

/**
 * Stripe keeps at most 50 metadata keys on the subscription. The session gives it 4 of ours, and
 * later writes add the rest of them (`subscription_id` with a plan change, `dunning_status` when
 * dunning marks it unpaid): the tenant has what all of ours leave, 44.
 */
export const MAX_CHECKOUT_METADATA_KEYS = STRIPE_METADATA_KEYS - OWN_METADATA_KEYS.length;

export const CreateCheckoutBody = z
  .object({
    plan: z.string().min(1).max(60),
    quantity: z.number().int().min(1).max(100_000).optional().default(1),
    customer: z
      .string()
      .min(1)
      .max(120)
      .optional()
      .openapi({ description: "Our customer id or `ext:<external_id>` (not with a publishable key)" }),
    customer_email: z
      .email()
      .max(254)
      .optional()
      .openapi({ description: "Prefills the email of a new customer" }),
    success_url: RedirectUrl,
    cancel_url: RedirectUrl,
    trial_days: z
      .number()
      .int()
      .min(0)
      .max(730)
      .optional()
      .openapi({ description: "Default: the plan's (not with a publishable key)" }),
    allow_promotion_codes: z.boolean().optional(),
    metadata: stripeMetadata(MAX_CHECKOUT_METADATA_KEYS, OWN_METADATA_KEYS)
      .optional()
      .openapi({
        description: `Given to the subscription (at most ${MAX_CHECKOUT_METADATA_KEYS} keys: Stripe's 50 less our own)`,
      }),
  })
  .openapi("CreateCheckoutSessionRequest");

export const CheckoutSchema = z
  .object({
    id: z.string(),
    object: z.literal("checkout_session"),
    url: z.string().nullable().openapi({ description: "Send the customer's browser here" }),
    status: z.enum(["open", "complete", "expired"]),
    plan: z.string(),
    quantity: z.number().int(),
    customer: z.string().nullable(),
    customer_email: z.string().nullable(),
    subscription: z.string().nullable(),
    success_url: z.string(),
    cancel_url: z.string(),
    expires_at: z.iso.datetime().nullable(),
    completed_at: z.iso.datetime().nullable(),
    livemode: z.boolean(),
    stripe_checkout_session_id: z.string(),
    created_at: z.iso.datetime(),
  })
  .openapi("CheckoutSession");

export const serializeCheckout = (row: CheckoutSessionRow): z.infer<typeof CheckoutSchema> => ({
  id: row.id,
  object: "checkout_session",
  url: row.status === "open" ? row.url : null,
  status: row.status,
  plan: row.planId,
  quantity: row.quantity,
  customer: row.customerId,
  customer_email: row.customerEmail,
  subscription: row.subscriptionId,
  success_url: row.successUrl,
  cancel_url: row.cancelUrl,
  expires_at: row.expiresAt?.toISOString() ?? null,
  completed_at: row.completedAt?.toISOString() ?? null,
  livemode: row.livemode,
  stripe_checkout_session_id: row.stripeSessionId,
  created_at: row.createdAt.toISOString(),
});
