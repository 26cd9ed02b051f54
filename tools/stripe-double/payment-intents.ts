// PaymentIntents: the ones invoices make at finalization, and standalone ones. A payment attempt
// (`runPayment`) makes a Charge and moves the intent to `succeeded`, back to
// `requires_payment_method` (decline, with `last_payment_error`) or to `requires_action` (3D Secure,
// completed on the /3ds page). Invoice-side consequences are in invoice-collect.ts.
import { createApplicationFee } from "./application-fees.ts";
import { createCharge, type Decline } from "./charges.ts";
import { intentSettled } from "./invoice-collect.ts";
import { authenticationAction } from "./pages.ts";
import { cardOf } from "./payments.ts";
import type { Ctx } from "./router.ts";
import { clone, find, type Json, newId, note, now, put, randomString } from "./state.ts";
import { emitFor } from "./webhooks.ts";

export type Outcome =
  | { status: "succeeded"; charge: Json }
  | { status: "failed"; decline: Decline; charge: Json | null }
  | { status: "requires_action" };

export interface IntentSpec {
  amount: number;
  currency: string;
  customer: string | null;
  description: string | null;
  applicationFeeAmount: number | null;
  metadata?: Json;
  paymentMethod?: string | null;
  /** The invoice this intent collects (its payments live in invoice-collect.ts). */
  invoice?: string | null;
}

export function createPaymentIntent(ctx: Ctx, spec: IntentSpec): Json {
  const id = newId("pi");
  const pi: Json = {
    id,
    object: "payment_intent",
    allowed_payment_method_types: null,
    amount: spec.amount,
    amount_capturable: 0,
    amount_details: { tip: {} },
    amount_received: 0,
    application: null,
    application_fee_amount: spec.applicationFeeAmount,
    automatic_payment_methods: null,
    canceled_at: null,
    cancellation_reason: null,
    capture_method: "automatic",
    client_secret: `${id}_secret_${randomString(25)}`,
    confirmation_method: "automatic",
    created: now(),
    currency: spec.currency,
    customer: spec.customer,
    customer_account: null,
    description: spec.description,
    excluded_payment_method_types: null,
    last_payment_error: null,
    latest_charge: null,
    livemode: ctx.livemode,
    managed_payments: null,
    metadata: spec.metadata ?? {},
    next_action: null,
    on_behalf_of: null,
    payment_method: spec.paymentMethod ?? null,
    payment_method_configuration_details: null,
    payment_method_options: {
      card: { installments: null, mandate_options: null, network: null, request_three_d_secure: "automatic" },
    },
    payment_method_types: ["card"],
    payment_record: null,
    processing: null,
    receipt_email: null,
    review: null,
    setup_future_usage: null,
    shipping: null,
    source: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: spec.paymentMethod ? "requires_confirmation" : "requires_payment_method",
    transfer_data: null,
    transfer_group: null,
  };
  put(ctx.state, "payment_intent", ctx.scope, pi);
  if (spec.invoice) note(ctx.state, id).invoice = spec.invoice;
  emitFor(ctx, "payment_intent.created", pi);
  return pi;
}

export function invoiceOfIntent(ctx: Ctx, piId: string): string | null {
  return (ctx.state.notes.get(piId)?.invoice as string | undefined) ?? null;
}

function decline(ctx: Ctx, pmId: string | null, force: boolean): Decline | null {
  const card = cardOf(ctx, pmId);
  if (force && !(card && card.declines !== "never")) {
    return { code: "card_declined", declineCode: "generic_decline", message: "Your card was declined." };
  }
  if (!card || card.declines === "never") return null;
  return {
    code: "card_declined",
    declineCode: card.declineCode ?? "generic_decline",
    message: card.message ?? "Your card was declined.",
  };
}

function succeed(ctx: Ctx, pi: Json, pmId: string | null): Outcome {
  const charge = createCharge(ctx, pi, pmId, null);
  createApplicationFee(ctx, charge);
  Object.assign(pi, {
    status: "succeeded",
    amount_received: pi.amount,
    latest_charge: charge.id,
    payment_method: pmId,
    last_payment_error: null,
    next_action: null,
  });
  emitFor(ctx, "payment_intent.succeeded", pi);
  return { status: "succeeded", charge };
}

function fail(ctx: Ctx, pi: Json, pmId: string | null, d: Decline, charge: Json | null): Outcome {
  const pm = pmId ? find(ctx.state, "payment_method", pmId, ctx.scope)?.obj : undefined;
  Object.assign(pi, {
    status: "requires_payment_method",
    latest_charge: charge ? charge.id : pi.latest_charge,
    payment_method: null,
    next_action: null,
    last_payment_error: {
      ...(charge ? { charge: charge.id } : {}),
      code: d.code,
      decline_code: d.declineCode,
      doc_url: `https://docs.stripe.com/error-codes/${d.code.replace(/_/g, "-")}`,
      message: d.message,
      ...(pm ? { payment_method: clone(pm) } : {}),
      type: d.code === "payment_intent_authentication_failure" ? "invalid_request_error" : "card_error",
    },
  });
  emitFor(ctx, "payment_intent.payment_failed", pi);
  return { status: "failed", decline: d, charge };
}

/**
 * One payment attempt. `offSession` payments cannot do 3D Secure: a card that needs it declines
 * with `authentication_required` (invoices instead wait in `requires_action`, as Billing does).
 */
export function runPayment(
  ctx: Ctx,
  pi: Json,
  pmId: string | null,
  opts: { forceDecline?: boolean; offSession?: boolean; returnUrl?: string | null } = {},
): Outcome {
  const d = decline(ctx, pmId, opts.forceDecline === true);
  if (d) return fail(ctx, pi, pmId, d, createCharge(ctx, { ...pi, payment_method: pmId }, pmId, d));
  if (cardOf(ctx, pmId)?.auth === "always") {
    if (opts.offSession) {
      const auth = {
        code: "authentication_required",
        declineCode: "authentication_required",
        message: "Your card was declined. This transaction requires authentication.",
      };
      return fail(ctx, pi, pmId, auth, createCharge(ctx, pi, pmId, auth));
    }
    Object.assign(pi, {
      status: "requires_action",
      payment_method: pmId,
      last_payment_error: null,
      next_action: authenticationAction(ctx, pi.id as string, opts.returnUrl ?? null),
    });
    emitFor(ctx, "payment_intent.requires_action", pi);
    return { status: "requires_action" };
  }
  return succeed(ctx, pi, pmId);
}

/** The /3ds page's verdict on a PaymentIntent waiting for authentication. */
export function authenticated(ctx: Ctx, pi: Json, ok: boolean): void {
  const pmId = (pi.payment_method as string | null) ?? null;
  const outcome = ok
    ? succeed(ctx, pi, pmId)
    : fail(
        ctx,
        pi,
        pmId,
        {
          code: "payment_intent_authentication_failure",
          declineCode: "authentication_failure",
          message:
            "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.",
        },
        null,
      );
  intentSettled(ctx, pi, outcome, false);
}
