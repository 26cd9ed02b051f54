import { and, desc, eq, gte, lte, sql } from "drizzle-orm";
import Stripe from "stripe";
import type { RequestContext } from "../../context";
import { type InvoiceRow, type RefundRow, refunds } from "../../db/schema";
import { ApiError, notFound, validationError } from "../../lib/errors";
import { moneyDisplay } from "../../lib/money";
import { afterCursor, decodeCursor, toPage } from "../../lib/pagination";
import { inMode, readScope, visibleIn, writeScope } from "../../lib/scope";
import { stripeSeconds } from "../../stripe/client";
import { findCustomer } from "../customers/customers.queries";
import { requestObjectId } from "../idempotency/idempotency";
import { findInvoice } from "../invoices/invoices.queries";
import { invoiceFields } from "../invoices/stripe-invoice";
import { connectedTenant } from "../stripe-connect/connected-account";
import { commitChange } from "../webhooks/outbox";
import { refreshAmountRefunded, refundFields, refundSignature, upsertRefund } from "./refund-rows";
import { serializeRefund } from "./refunds.schemas";

/** A refund of the caller's tenant (and, for a key, its mode); another tenant's is 404. */
export async function findRefund(ctx: RequestContext, id: string) {
  const scope = readScope(ctx);
  const row = await ctx.db
    .select()
    .from(refunds)
    .where(and(eq(refunds.id, id), eq(refunds.tenantId, scope.tenantId)))
    .get();
  if (!row || !visibleIn(row, scope)) throw notFound("Refund");
  return row;
}

export interface NewRefund {
  invoice: string;
  amount?: number | undefined;
  reason?: RefundRow["reason"] | undefined;
  metadata?: Record<string, string> | undefined;
}

/** The payment a paid invoice was paid with, from the mirror or (not mirrored yet) from Stripe. */
async function paymentOf(ctx: RequestContext, invoice: InvoiceRow, stripeAccount: string) {
  if (invoice.paymentIntentId || invoice.chargeId)
    return { paymentIntentId: invoice.paymentIntentId, chargeId: invoice.chargeId };
  const current = await ctx.stripe.invoices.retrieve(
    invoice.stripeInvoiceId,
    { expand: ["payments"] },
    { stripeAccount },
  );
  const { paymentIntentId, chargeId } = invoiceFields(current as unknown as Record<string, unknown>);
  if (!paymentIntentId && !chargeId)
    throw new ApiError(
      "invalid_state_transition",
      "This invoice was not paid through Stripe: nothing to refund",
      {
        extra: { status: invoice.status },
      },
    );
  return { paymentIntentId, chargeId };
}

/** Stripe's refusal because the payment is refunded already (a concurrent refund won) is 409. */
async function refusedAsConflict<T>(invoice: InvoiceRow, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (
      error instanceof Stripe.errors.StripeInvalidRequestError &&
      (error.code === "amount_too_large" || error.code === "charge_already_refunded")
    ) {
      throw new ApiError("invalid_state_transition", `Stripe refused the refund: ${error.message}`, {
        extra: { status: invoice.status },
        cause: error,
      });
    }
    throw error;
  }
}

/**
 * Refunds a paid invoice's payment, whole (default: what is not refunded yet) or in part, with the
 * platform's application fee refunded in the same proportion (`refund_application_fee`, which
 * Stripe computes). Idempotency key from our new id (seeded by the request's Idempotency-Key when
 * it has one), which the metadata carries signed (the mirror trusts only a signed one:
 * `ownRefundId`); then one D1 batch: the refund, the invoice's
 * `amount_refunded`, `refund.created` and the audit record.
 */
export async function createRefund(ctx: RequestContext, input: NewRefund) {
  const invoice = await findInvoice(ctx, input.invoice);
  const scope = writeScope(ctx);
  if (invoice.livemode !== scope.livemode) throw notFound("Invoice");
  // A request sent again with its Idempotency-Key (our write failed after Stripe refunded) is the
  // same refund: the same id, so the same Stripe idempotency key and parameters, and Stripe answers
  // the refund it made. A refund cannot be undone; without the header, a retry is a new refund.
  const { id, seeded } = await requestObjectId(ctx, "rfnd", "refund");
  if (seeded) {
    // Once recorded, the key names that refund for good: sent again after its stored answer
    // expired (a day, when Stripe has pruned its key too), it answers the refund, not a second one.
    const made = await ctx.db
      .select()
      .from(refunds)
      .where(and(eq(refunds.id, id), eq(refunds.tenantId, scope.tenantId)))
      .get();
    if (made) return made;
  }
  if (invoice.status !== "paid" || invoice.amountPaid <= 0) {
    throw new ApiError("invalid_state_transition", `A ${invoice.status} invoice has no payment to refund`, {
      extra: { status: invoice.status },
    });
  }
  const refundable = invoice.amountPaid - invoice.amountRefunded;
  if (refundable <= 0) {
    throw new ApiError("invalid_state_transition", "This invoice's payment is already refunded in full", {
      extra: { status: invoice.status, amount_refunded: invoice.amountRefunded },
    });
  }
  const amount = input.amount ?? refundable;
  if (amount > refundable) {
    throw validationError(
      "amount",
      `At most ${moneyDisplay(refundable, invoice.currency)} of this invoice is left to refund`,
    );
  }
  const tenant = await connectedTenant(ctx, scope.tenantId, "refunding payments");
  const stripeAccount = tenant.stripeConnectAccountId;
  const payment = await paymentOf(ctx, invoice, stripeAccount);
  const signature = await refundSignature(ctx.config.auth.JWT_SECRET, tenant.id, id, invoice.id);
  const refund = await refusedAsConflict(invoice, () =>
    ctx.stripe.refunds.create(
      {
        ...(payment.paymentIntentId
          ? { payment_intent: payment.paymentIntentId }
          : { charge: payment.chargeId ?? "" }),
        amount,
        ...(input.reason ? { reason: input.reason } : {}),
        refund_application_fee: true,
        metadata: {
          ...input.metadata,
          tenant_id: tenant.id,
          refund_id: id,
          invoice_id: invoice.id,
          customer_id: invoice.customerId ?? "",
          refund_signature: signature,
        },
      },
      { stripeAccount, idempotencyKey: `refund:${id}` },
    ),
  );
  const now = ctx.clock.now();
  const row: RefundRow = {
    ...refundFields(refund as unknown as Record<string, unknown>),
    id,
    tenantId: tenant.id,
    livemode: invoice.livemode,
    invoiceId: invoice.id,
    customerId: invoice.customerId,
    refundApplicationFee: true,
    lastEventCreated: stripeSeconds(refund, true),
    createdAt: now,
    updatedAt: now,
  };
  await commitChange(ctx, {
    tenant,
    statements: [upsertRefund(ctx.db, row), refreshAmountRefunded(ctx.db, [invoice.id])],
    event: { type: "refund.created", object: serializeRefund(row), livemode: row.livemode },
    // Stripe's refund events may have reached the mirror first: it told the tenant already.
    unlessRecorded: sql`SELECT 1 FROM ${refunds} WHERE ${refunds.stripeRefundId} = ${row.stripeRefundId}`,
    audit: {
      action: "refund.created",
      targetType: "refund",
      targetId: id,
      metadata: { invoice_id: invoice.id, amount, currency: row.currency, status: row.status },
    },
  });
  return row;
}

export interface RefundFilters {
  limit: number;
  cursor?: string | undefined;
  invoice?: string | undefined;
  customer?: string | undefined;
  status?: RefundRow["status"] | undefined;
  "created[gte]"?: string | undefined;
  "created[lte]"?: string | undefined;
}

export async function listRefunds(ctx: RequestContext, filters: RefundFilters) {
  const scope = readScope(ctx);
  const invoiceId = filters.invoice ? (await findInvoice(ctx, filters.invoice)).id : undefined;
  const customerId = filters.customer ? (await findCustomer(ctx, filters.customer)).id : undefined;
  const rows = await ctx.db
    .select()
    .from(refunds)
    .where(
      and(
        eq(refunds.tenantId, scope.tenantId),
        inMode(refunds.livemode, scope),
        invoiceId ? eq(refunds.invoiceId, invoiceId) : undefined,
        customerId ? eq(refunds.customerId, customerId) : undefined,
        filters.status ? eq(refunds.status, filters.status) : undefined,
        filters["created[gte]"] ? gte(refunds.createdAt, new Date(filters["created[gte]"])) : undefined,
        filters["created[lte]"] ? lte(refunds.createdAt, new Date(filters["created[lte]"])) : undefined,
        afterCursor(refunds.createdAt, refunds.id, decodeCursor(filters.cursor)),
      ),
    )
    .orderBy(desc(refunds.createdAt), desc(refunds.id))
    .limit(filters.limit + 1);
  return toPage(rows, filters.limit);
}
