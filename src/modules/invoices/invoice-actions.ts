import { and, eq } from "drizzle-orm";
import Stripe from "stripe";
import type { RequestContext } from "../../context";
import { type InvoiceRow, type InvoiceStatus, invoices } from "../../db/schema";
import { ApiError, notFound } from "../../lib/errors";
import { writeScope } from "../../lib/scope";
import { cardDeclined, missingAtStripe } from "../../stripe/errors";
import { invoiceEventTypes } from "../billing-mirror/rules";
import { type ConnectedTenant, connectedTenant } from "../stripe-connect/connected-account";
import {
  commitInvoiceChange,
  invoiceMayBecome,
  invoiceRowFrom,
  invoiceShows,
  platformFee,
} from "./invoice-commit";
import { findInvoice } from "./invoices.queries";

/**
 * The verbs of Stripe's invoice state machine on a one-off or subscription invoice of the
 * tenant's customer: draft → open (finalize) → paid | void | uncollectible. Each checks the state
 * first (409 `invalid_state_transition` naming it); if Stripe's state had moved on and Stripe
 * refuses, the mirror is refreshed and the caller gets the same 409 with the fresh state.
 */
export type InvoiceVerb = "finalize" | "pay" | "send" | "void" | "mark_uncollectible";

const ALLOWED: Record<InvoiceVerb, readonly InvoiceStatus[]> = {
  finalize: ["draft"],
  pay: ["draft", "open", "uncollectible"],
  send: ["draft", "open"],
  void: ["open", "uncollectible"],
  mark_uncollectible: ["open"],
};

const EXPAND = ["payments"];

const DONE: Record<InvoiceVerb, string> = {
  finalize: "finalized",
  pay: "paid",
  send: "sent",
  void: "voided",
  mark_uncollectible: "marked uncollectible",
};

function refuse(row: InvoiceRow, verb: InvoiceVerb): never {
  const article = /^[aeiou]/.test(row.status) ? "An" : "A";
  throw new ApiError("invalid_state_transition", `${article} ${row.status} invoice cannot be ${DONE[verb]}`, {
    extra: { status: row.status },
  });
}

/** The invoice, writable by the caller (its mode), on the tenant's connected account. */
async function writable(ctx: RequestContext, id: string, verb: InvoiceVerb) {
  const row = await findInvoice(ctx, id);
  const scope = writeScope(ctx);
  if (row.livemode !== scope.livemode) throw notFound("Invoice");
  const tenant = await connectedTenant(ctx, scope.tenantId, "changing invoices");
  if (!ALLOWED[verb].includes(row.status)) refuse(row, verb);
  return { row, tenant, stripeAccount: tenant.stripeConnectAccountId };
}

/**
 * Writes Stripe's answer to the mirror with the tenant events of the change. The state's event is
 * written only if the row does not show that state yet: a concurrent request (whose Stripe call
 * won) or the mirror (from Stripe's event) has reported it otherwise.
 */
async function record(
  ctx: RequestContext,
  tenant: ConnectedTenant,
  before: InvoiceRow,
  invoice: Stripe.Invoice,
  action: string,
) {
  const row = invoiceRowFrom(before, invoice, before, ctx.clock.now());
  // `amount_refunded` is the refunds' sum, kept by their writes: this request's read of it may be
  // old, so it is not written, and the answer and events carry the stored one.
  const { id, tenantId, createdAt, amountRefunded: _amountRefunded, ...fields } = row;
  return commitInvoiceChange(ctx, {
    tenant,
    statements: [
      ctx.db
        .update(invoices)
        .set(fields)
        .where(and(eq(invoices.id, id), invoiceMayBecome(row.status))),
    ],
    row,
    types: invoiceEventTypes(before, row),
    audit: { action: `invoice.${action}`, metadata: { previous_status: before.status } },
    unlessRecorded: invoiceShows(id, row.status),
  });
}

/**
 * Runs a verb at Stripe; when Stripe refuses it for the invoice's state (ours was behind), the
 * mirror takes Stripe's current invoice and the caller gets 409 with that state.
 */
async function atStripe(
  ctx: RequestContext,
  target: Awaited<ReturnType<typeof writable>>,
  verb: InvoiceVerb,
  call: () => Promise<Stripe.Invoice>,
) {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof Stripe.errors.StripeInvalidRequestError) || error.code) throw error;
    const current = await ctx.stripe.invoices.retrieve(
      target.row.stripeInvoiceId,
      { expand: EXPAND },
      { stripeAccount: target.stripeAccount },
    );
    if (current.status === target.row.status) throw error;
    const row = await record(ctx, target.tenant, target.row, current, "refreshed");
    refuse(row, verb);
  }
}

/**
 * The platform's fee on a one-off invoice, set on the draft just before it is finalized:
 * `round(total × PLATFORM_FEE_PERCENT / 100)` of the total Stripe computed (discounts applied,
 * tax included). Subscription invoices get theirs from the subscription's `application_fee_percent`.
 */
async function setFee(ctx: RequestContext, target: Awaited<ReturnType<typeof writable>>) {
  const { row, stripeAccount } = target;
  if (row.status !== "draft" || row.stripeSubscriptionId) return;
  const percent = ctx.config.stripe.platformFeePercent;
  let expected = platformFee(row.total, percent);
  for (let round = 0; round < 2; round++) {
    let updated: Stripe.Invoice;
    try {
      updated = await ctx.stripe.invoices.update(
        row.stripeInvoiceId,
        { application_fee_amount: expected },
        { stripeAccount },
      );
    } catch (error) {
      // Finalized meanwhile by a concurrent request, which set our fee: the verb itself meets
      // Stripe's state (a pay still pays; a second finalize is 409 with the fresh state). One
      // finalized elsewhere (the tenant's dashboard) without our fee is not collected through us.
      if (!(error instanceof Stripe.errors.StripeInvalidRequestError) || error.code) throw error;
      const current = await ctx.stripe.invoices.retrieve(row.stripeInvoiceId, {}, { stripeAccount });
      if (current.status === "draft") throw error;
      // The SDK's Invoice type no longer names the field; Stripe still answers it (as the mirror reads it).
      const fee = (current as { application_fee_amount?: number | null }).application_fee_amount;
      if (fee === platformFee(current.total, percent)) return;
      throw new ApiError(
        "invalid_state_transition",
        "This invoice was finalized outside the API without the platform's fee: collect it in Stripe",
        { extra: { status: current.status } },
      );
    }
    const fee = platformFee(updated.total, percent);
    if (fee === expected) return;
    expected = fee;
  }
}

export interface PayInput {
  payment_method?: string | undefined;
  paid_out_of_band?: boolean | undefined;
}

/**
 * Applies a verb; answers the invoice as Stripe left it. A draft deleted at Stripe whose
 * `invoice.deleted` the mirror has not seen yet is 404, as Stripe answers (the event marks the
 * mirror's row when it comes).
 */
export async function invoiceAction(ctx: RequestContext, id: string, verb: InvoiceVerb, pay: PayInput = {}) {
  const target = await writable(ctx, id, verb);
  try {
    return await applyVerb(ctx, target, verb, pay);
  } catch (error) {
    throw missingAtStripe(error) ? notFound("Invoice") : error;
  }
}

async function applyVerb(
  ctx: RequestContext,
  target: Awaited<ReturnType<typeof writable>>,
  verb: InvoiceVerb,
  pay: PayInput,
) {
  const { row, tenant, stripeAccount } = target;
  const stripeId = row.stripeInvoiceId;
  const api = ctx.stripe.invoices;
  if (verb === "send" && row.collectionMethod !== "send_invoice") {
    throw new ApiError("invalid_state_transition", "Only invoices collected by sending them can be sent", {
      extra: { status: row.status, collection_method: row.collectionMethod },
    });
  }
  if (verb === "finalize" || verb === "pay" || verb === "send") await setFee(ctx, target);
  if (verb === "pay") return payInvoice(ctx, target, pay);
  const invoice = await atStripe(ctx, target, verb, () => {
    const options = { stripeAccount };
    switch (verb) {
      case "finalize":
        // Stripe collects from here on: a charge an hour later and its Smart Retries, or the email.
        return api.finalizeInvoice(stripeId, { auto_advance: true, expand: EXPAND }, options);
      case "send":
        return api.sendInvoice(stripeId, { expand: EXPAND }, options);
      case "void":
        return api.voidInvoice(stripeId, { expand: EXPAND }, options);
      default:
        return api.markUncollectible(stripeId, { expand: EXPAND }, options);
    }
  });
  return record(ctx, tenant, row, invoice, verb === "mark_uncollectible" ? "marked_uncollectible" : verb);
}

/**
 * Pays now with the given payment method, the invoice's, or the customer's default (a draft is
 * finalized first), or records a payment made outside Stripe. A decline still counts: the mirror
 * takes the finalized invoice with its attempt, and the caller gets 402 `payment_failed` with
 * Stripe's reason.
 */
async function payInvoice(
  ctx: RequestContext,
  target: Awaited<ReturnType<typeof writable>>,
  input: PayInput,
) {
  const { row, tenant, stripeAccount } = target;
  try {
    const invoice = await atStripe(ctx, target, "pay", () =>
      ctx.stripe.invoices.pay(
        row.stripeInvoiceId,
        {
          ...(input.payment_method ? { payment_method: input.payment_method } : {}),
          ...(input.paid_out_of_band ? { paid_out_of_band: true } : {}),
          expand: EXPAND,
        },
        { stripeAccount },
      ),
    );
    return await record(ctx, tenant, row, invoice, "paid");
  } catch (error) {
    if (!(error instanceof Stripe.errors.StripeCardError)) throw error;
    const current = await ctx.stripe.invoices.retrieve(
      row.stripeInvoiceId,
      { expand: EXPAND },
      { stripeAccount },
    );
    const failed = await record(ctx, tenant, row, current, "payment_failed");
    throw cardDeclined(error, {
      invoice: { id: failed.id, status: failed.status, attempt_count: failed.attemptCount },
    });
  }
}
