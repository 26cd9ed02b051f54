import { sql } from "drizzle-orm";
import type { Database } from "../../db/client";
import { invoices, REFUND_STATUSES, type RefundRow, type RefundStatus, refunds } from "../../db/schema";
import { hmacSha256, isIdOf, timingSafeEqualStrings, toBase64Url } from "../../lib/crypto";
import { tenantMetadataOf } from "../../lib/metadata";

/** Reading a Stripe refund (an API answer or an event's snapshot) into the mirror's fields, and writing them. */
type Obj = Record<string, unknown>;
const obj = (value: unknown): Obj => (value && typeof value === "object" ? (value as Obj) : {});
const str = (value: unknown): string | null => (typeof value === "string" ? value : null);
const idOf = (value: unknown): string | null => str(value) ?? str(obj(value).id);

/** Refunds that take money back from the customer's payment (a failed or canceled one gave it back). */
export const COUNTED_REFUND_STATUSES: readonly RefundStatus[] = ["pending", "requires_action", "succeeded"];

export type StripeRefundFields = Pick<
  RefundRow,
  | "stripeRefundId"
  | "stripeChargeId"
  | "stripePaymentIntentId"
  | "amount"
  | "currency"
  | "reason"
  | "status"
  | "failureReason"
  | "metadata"
>;

/** Our own keys in a refund's Stripe metadata; the rest is the tenant's. */
export const REFUND_OWN_KEYS = ["tenant_id", "refund_id", "invoice_id", "customer_id", "refund_signature"];

export function refundFields(refund: Obj): StripeRefundFields {
  const status = str(refund.status) as RefundStatus | null;
  return {
    stripeRefundId: str(refund.id) ?? "",
    stripeChargeId: idOf(refund.charge),
    stripePaymentIntentId: idOf(refund.payment_intent),
    amount: typeof refund.amount === "number" ? refund.amount : 0,
    currency: str(refund.currency) ?? "usd",
    reason: str(refund.reason),
    status: status && REFUND_STATUSES.includes(status) ? status : "pending",
    failureReason: str(refund.failure_reason),
    metadata: tenantMetadataOf(refund.metadata, REFUND_OWN_KEYS),
  };
}

/**
 * The `refund_signature` our API writes in a refund's metadata: an HMAC of the tenant, our refund id
 * and the invoice under the platform's secret (`JWT_SECRET`, for this purpose only through the
 * message's prefix), which a tenant writing metadata at Stripe by hand cannot make.
 */
export async function refundSignature(secret: string, tenantId: string, refundId: string, invoiceId: string) {
  return toBase64Url(await hmacSha256(secret, `refund metadata\n${tenantId}\n${refundId}\n${invoiceId}`));
}

/**
 * Our refund id carried in Stripe's metadata, if the refund was made through our API for this
 * tenant's invoice (its signature says so), else null: a well-formed id alone may be the tenant's.
 */
export async function ownRefundId(
  refund: Obj,
  secret: string,
  tenantId: string,
  invoiceId: string,
): Promise<string | null> {
  const metadata = obj(refund.metadata);
  const id = str(metadata.refund_id);
  const signature = str(metadata.refund_signature);
  if (!isIdOf("rfnd", id) || !signature) return null;
  const expected = await refundSignature(secret, tenantId, id, invoiceId);
  return timingSafeEqualStrings(signature, expected) ? id : null;
}

/**
 * Writes a refund row; a row already there changes only if this snapshot is not older than the
 * one it shows (Stripe's `created` of the event, or of our call's answer), so the API's write and
 * the Connect events land in any order.
 */
export function upsertRefund(db: Database, row: RefundRow) {
  const { id, tenantId, createdAt, invoiceId, customerId, ...fields } = row;
  return db
    .insert(refunds)
    .values(row)
    .onConflictDoUpdate({
      target: refunds.stripeRefundId,
      set: {
        ...fields,
        invoiceId: sql`coalesce(${refunds.invoiceId}, excluded.invoice_id)`,
        customerId: sql`coalesce(${refunds.customerId}, excluded.customer_id)`,
      },
      setWhere: sql`${refunds.lastEventCreated} IS NULL OR excluded.last_event_created >= ${refunds.lastEventCreated}`,
    });
}

/**
 * Sets `amount_refunded` of these invoices to the sum of their counted refunds, from the refunds
 * table as it stands when the statement runs: put last in the batch, it is right whatever order
 * the refunds and invoice snapshots arrived in.
 */
export function refreshAmountRefunded(db: Database, invoiceIds: string[]) {
  const statuses = JSON.stringify(COUNTED_REFUND_STATUSES);
  return db
    .update(invoices)
    .set({
      amountRefunded: sql`(SELECT coalesce(sum(${refunds.amount}), 0) FROM ${refunds} WHERE ${refunds.invoiceId} = ${invoices.id} AND ${refunds.status} IN (SELECT value FROM json_each(${statuses})))`,
    })
    .where(sql`${invoices.id} IN (SELECT value FROM json_each(${JSON.stringify(invoiceIds)}))`);
}
