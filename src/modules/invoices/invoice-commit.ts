import { eq, inArray, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type Stripe from "stripe";
import { auditActor, type RequestContext } from "../../context";
import { type InvoiceRow, type InvoiceStatus, invoices, type TenantRow } from "../../db/schema";
import { stripeSeconds } from "../../stripe/client";
import { INVOICE_MAY_FOLLOW } from "../billing-mirror/rules";
import { prepareEvent } from "../webhooks/events.service";
import { commitWithEvents } from "../webhooks/outbox";
import { serializeInvoice } from "./invoices.schemas";
import { invoiceFields } from "./stripe-invoice";

/** What an invoice row keeps of its own, whatever Stripe says. */
export type InvoiceBase = Pick<
  InvoiceRow,
  "id" | "tenantId" | "customerId" | "subscriptionId" | "amountRefunded" | "createdAt"
>;

/**
 * The mirror row of an invoice from Stripe's answer to our own call, ordered on Stripe's clock
 * (`stripeSeconds`) so the Connect events of the same change find it current. A payment Stripe
 * did not repeat in this answer (no `payments` expanded) is kept from the row before.
 */
export function invoiceRowFrom(
  base: InvoiceBase,
  invoice: Stripe.Invoice,
  previous: InvoiceRow | null,
  now: Date,
  created = false,
): InvoiceRow {
  const fields = invoiceFields(invoice as unknown as Record<string, unknown>);
  const stamp = stripeSeconds(invoice, created);
  return {
    ...base,
    ...fields,
    paymentIntentId: fields.paymentIntentId ?? previous?.paymentIntentId ?? null,
    chargeId: fields.chargeId ?? previous?.chargeId ?? null,
    deletedAt: previous?.deletedAt ?? null,
    lastEventCreated:
      stamp === null
        ? (previous?.lastEventCreated ?? null)
        : Math.max(stamp, previous?.lastEventCreated ?? 0),
    updatedAt: now,
  };
}

/** `round(total × percent / 100)`: the platform's fee on an invoice (tax-inclusive total, as Stripe's `application_fee_percent`). */
export function platformFee(total: number, percent: number): number {
  return Math.round((Math.max(0, total) * percent) / 100);
}

/**
 * Finds the invoice row already showing `status`: its change to that state has been reported (by
 * the API's verb or by the mirror, whichever committed first), so the other writes no second event.
 */
export const invoiceShows = (id: string, status: InvoiceStatus): SQL =>
  sql`SELECT 1 FROM ${invoices} WHERE ${invoices.id} = ${id} AND ${invoices.status} = ${status}`;

/**
 * The guard of a write of an invoice in `status` over its stored row: an answer or a snapshot read
 * before the row moved on (a pay committed meanwhile, in the same second on Stripe's clock or not)
 * leaves the newer state alone.
 */
export const invoiceMayBecome = (status: InvoiceStatus): SQL =>
  inArray(invoices.status, [...INVOICE_MAY_FOLLOW[status]]);

export interface InvoiceChange {
  tenant: Pick<TenantRow, "id" | "companyName">;
  statements: BatchItem<"sqlite">[];
  row: InvoiceRow;
  /** Tenant events reporting the change, in order (each carries the invoice). */
  types: string[];
  audit: { action: string; metadata?: Record<string, unknown> };
  /** As in `commitChange`: the query that finds a row the mirror stored first; then no events. */
  unlessRecorded?: SQL;
}

/**
 * Commits an invoice change in one D1 batch with its tenant events (outbox) and its audit record,
 * then hands the events to delivery: the change, its events and its audit exist together or not at
 * all (the webhooks module's outbox, `commitWithEvents`, for a change several events report).
 * Answers the row with `amount_refunded` as the batch found it, and the events carry the same:
 * the refunds' sum, which a refund committing while the request ran has changed since its read.
 */
export async function commitInvoiceChange(ctx: RequestContext, change: InvoiceChange): Promise<InvoiceRow> {
  const now = ctx.clock.now();
  const object = serializeInvoice(change.row);
  const { id } = change.row;
  // The stored row's (a new invoice's events are written before its insert: then the row's own).
  const amountRefunded = sql`coalesce((SELECT ${invoices.amountRefunded} FROM ${invoices} WHERE ${invoices.id} = ${id}), ${change.row.amountRefunded})`;
  const events = change.types.map((type) => ({
    ...prepareEvent(
      {
        tenantId: change.tenant.id,
        companyName: change.tenant.companyName,
        type,
        object,
        livemode: change.row.livemode,
      },
      now,
    ),
    settledInSql: { amount_refunded: amountRefunded },
  }));
  const { results } = await commitWithEvents(ctx, {
    // The change, then a read of what it left, in the same transaction.
    statements: [
      ...change.statements,
      ctx.db.select({ amountRefunded: invoices.amountRefunded }).from(invoices).where(eq(invoices.id, id)),
    ],
    events,
    audit: {
      tenantId: change.tenant.id,
      ...auditActor(ctx),
      action: change.audit.action,
      targetType: "invoice",
      targetId: id,
      metadata: { status: change.row.status, total: change.row.total, ...change.audit.metadata },
      requestId: ctx.requestId,
      at: now,
    },
    ...(change.unlessRecorded ? { unlessRecorded: change.unlessRecorded } : {}),
  });
  const [stored] = results.at(-1) as { amountRefunded: number }[];
  return { ...change.row, amountRefunded: stored?.amountRefunded ?? change.row.amountRefunded };
}
