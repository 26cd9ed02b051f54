import { and, eq } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { type InvoiceRow, invoices, type RefundRow, refunds } from "../../db/schema";
import { newId } from "../../lib/crypto";
import { applyMirrorEvent } from "../billing-mirror/mirror.service";
import type { MirrorRun } from "../billing-mirror/mirror-run";
import { loadMirrorState } from "../billing-mirror/mirror-state";
import { freshness } from "../billing-mirror/rules";
import type { StripeEventLike } from "../platform-billing/stripe-mapping";
import {
  COUNTED_REFUND_STATUSES,
  ownRefundId,
  refreshAmountRefunded,
  refundFields,
  upsertRefund,
} from "./refund-rows";
import { serializeRefund } from "./refunds.schemas";

/**
 * The refunds of the tenant's invoices, kept from Stripe's Connect events in any order:
 * `refund.created`, `refund.updated`, `refund.failed` (and `charge.refund.updated`) carry the
 * refund; `charge.refunded` carries the charge, whose `amount_refunded` is checked against the
 * refunds we know, and any we miss are read from Stripe. A new refund becomes `refund.created`
 * for the tenant, a change of its status `refund.updated`; each invoice's `amount_refunded` is
 * recomputed from its refunds in the run's batch.
 */
type Obj = Record<string, unknown>;
const obj = (value: unknown): Obj => (value && typeof value === "object" ? (value as Obj) : {});
const str = (value: unknown): string | null => (typeof value === "string" ? value : null);

export const isRefundEvent = (type: string) =>
  type === "refund.created" ||
  type === "refund.updated" ||
  type === "refund.failed" ||
  type === "charge.refund.updated" ||
  type === "charge.refunded";

/** What one run decided about refunds, for its single batch. */
interface RefundRun {
  rows: Map<string, RefundRow | null>;
  dirty: Map<string, RefundRow>;
  invoices: Set<string>;
}

const runs = new WeakMap<MirrorRun, RefundRun>();

function refundRun(run: MirrorRun): RefundRun {
  let state = runs.get(run);
  if (!state) {
    state = { rows: new Map(), dirty: new Map(), invoices: new Set() };
    runs.set(run, state);
  }
  return state;
}

async function knownRefund(run: MirrorRun, state: RefundRun, stripeId: string) {
  if (!state.rows.has(stripeId)) {
    const row = await run.ctx.db
      .select()
      .from(refunds)
      .where(and(eq(refunds.tenantId, run.tenant.id), eq(refunds.stripeRefundId, stripeId)))
      .get();
    state.rows.set(stripeId, row ?? null);
  }
  return state.rows.get(stripeId) ?? null;
}

/**
 * Our refund id a refund's metadata carries, signed for the tenant's invoice, if no other refund
 * holds it: a tenant's refund made at Stripe may carry a copy of the metadata of one made through
 * us (or any other value).
 */
async function freeOwnRefundId(
  run: MirrorRun,
  state: RefundRun,
  refund: Obj,
  stripeId: string,
  invoiceId: string,
) {
  const id = await ownRefundId(refund, run.ctx.config.auth.JWT_SECRET, run.tenant.id, invoiceId);
  if (!id) return null;
  for (const row of state.dirty.values()) if (row.id === id && row.stripeRefundId !== stripeId) return null;
  const holder = await run.ctx.db
    .select({ stripeRefundId: refunds.stripeRefundId })
    .from(refunds)
    .where(eq(refunds.id, id))
    .get();
  return !holder || holder.stripeRefundId === stripeId ? id : null;
}

/** The run's invoice `matches` picks: a row the run read or changed is held in its state. */
function heldInvoice(run: MirrorRun, matches: (row: InvoiceRow) => boolean): InvoiceRow | null {
  for (const row of run.state.invoices.values()) if (matches(row)) return row;
  return null;
}

/**
 * The tenant's invoice a payment paid, whatever the order its events and the refund's arrive in
 * or the runs they fall in: the run's (an invoice whose first events are in this run is not in
 * D1 yet), else D1's, else the invoice of the tenant's account that Stripe says the payment paid,
 * mirrored in this run now (`mirrorInvoiceNow`).
 */
async function invoiceOfPayment(
  run: MirrorRun,
  paymentIntent: string | null,
  charge: string | null,
  created: number,
): Promise<InvoiceRow | null> {
  const { db } = run.ctx;
  const [byPayment, held] = paymentIntent
    ? [
        eq(invoices.paymentIntentId, paymentIntent),
        (row: InvoiceRow) => row.paymentIntentId === paymentIntent,
      ]
    : charge
      ? [eq(invoices.chargeId, charge), (row: InvoiceRow) => row.chargeId === charge]
      : [undefined, () => false];
  if (!byPayment) return null;
  const found =
    heldInvoice(run, held) ??
    (await db
      .select()
      .from(invoices)
      .where(and(eq(invoices.tenantId, run.tenant.id), byPayment))
      .get());
  if (found || !paymentIntent || !run.stripeAccount) return found ?? null;
  const payments = await run.ctx.stripe.invoicePayments.list(
    { payment: { type: "payment_intent", payment_intent: paymentIntent }, limit: 1 },
    { stripeAccount: run.stripeAccount },
  );
  const stripeInvoice = str(obj(payments.data[0]).invoice) ?? str(obj(obj(payments.data[0]).invoice).id);
  if (!stripeInvoice) return null;
  const row =
    run.state.invoices.get(stripeInvoice) ??
    (await db
      .select()
      .from(invoices)
      .where(and(eq(invoices.tenantId, run.tenant.id), eq(invoices.stripeInvoiceId, stripeInvoice)))
      .get());
  return row ?? mirrorInvoiceNow(run, stripeInvoice, created);
}

/**
 * An invoice of the tenant's account the mirror does not hold yet (its own events come later in
 * this run, or in a later one): its current Stripe snapshot is applied to the run as one of its
 * events would be, stamped with the refund event's time, after the rows it names are read into
 * the run's state as the run's own events' are (the run's rows win). Its later events apply
 * over it by the mirror's watermark rule; if the API stores the invoice meanwhile, the run's
 * insert conflicts and the run goes again (`MIRROR_CONFLICTS`).
 */
async function mirrorInvoiceNow(run: MirrorRun, stripeInvoice: string, created: number) {
  const event: StripeEventLike = {
    id: `refund-of:${stripeInvoice}`,
    type: "invoice.updated",
    created,
    data: { object: await run.current("invoices", stripeInvoice) },
  };
  run.state.adoptMissing(await loadMirrorState(run.ctx, run.tenant.id, [event]));
  await applyMirrorEvent(run, event);
  return run.state.invoices.get(stripeInvoice) ?? null;
}

/** Applies one refund snapshot of Stripe's time `created`; answers the note recorded on the event. */
async function applyRefund(run: MirrorRun, snapshot: Obj, created: number): Promise<string> {
  const state = refundRun(run);
  let refund = snapshot;
  let fields = refundFields(refund);
  if (!fields.stripeRefundId) return "ignored: no refund id";
  const current =
    state.dirty.get(fields.stripeRefundId) ?? (await knownRefund(run, state, fields.stripeRefundId));
  const fresh = current ? freshness(current.lastEventCreated, created) : "newer";
  if (fresh === "stale") return "stale: a newer snapshot was applied";
  if (fresh === "tie" && current && current.status !== fields.status) {
    // Two snapshots of the same second disagree: Stripe's current refund settles it.
    refund = obj(
      await run.ctx.stripe.refunds.retrieve(
        fields.stripeRefundId,
        {},
        run.stripeAccount ? { stripeAccount: run.stripeAccount } : {},
      ),
    );
    fields = refundFields(refund);
  }
  let invoice: Pick<InvoiceRow, "id" | "customerId" | "livemode"> | null = current?.invoiceId
    ? { id: current.invoiceId, customerId: current.customerId, livemode: current.livemode }
    : null;
  invoice ??= await invoiceOfPayment(run, fields.stripePaymentIntentId, fields.stripeChargeId, created);
  if (!invoice) return "ignored: not the payment of an invoice of the tenant";
  // A refund that carries our own id, signed, was made through our API, which refunds the
  // platform's fee with it: known so even when its events come before the API's commit.
  const ownId = current ? null : await freeOwnRefundId(run, state, refund, fields.stripeRefundId, invoice.id);
  const now = run.ctx.clock.now();
  const next: RefundRow = {
    ...fields,
    id: current?.id ?? ownId ?? newId("rfnd"),
    tenantId: run.tenant.id,
    livemode: invoice.livemode,
    invoiceId: invoice.id,
    customerId: invoice.customerId,
    refundApplicationFee: current?.refundApplicationFee ?? ownId !== null,
    lastEventCreated: Math.max(created, current?.lastEventCreated ?? 0),
    createdAt: current?.createdAt ?? now,
    updatedAt: now,
  };
  state.dirty.set(next.stripeRefundId, next);
  state.rows.set(next.stripeRefundId, next);
  state.invoices.add(invoice.id);
  const type = !current ? "refund.created" : current.status !== next.status ? "refund.updated" : null;
  if (type) run.emit(type, serializeRefund(next), next.livemode);
  if (next.status === "succeeded") await countRefund(run, next, created);
  return type ? `mirrored: ${type}` : "no change";
}

/**
 * Money given back, for analytics, once per refund (whenever an event first shows it succeeded):
 * its amount, and the platform fee returned with it, in proportion to the invoice's fee.
 */
async function countRefund(run: MirrorRun, refund: RefundRow, created: number) {
  const { invoiceId } = refund;
  const invoice = invoiceId
    ? (heldInvoice(run, (row) => row.id === invoiceId) ??
      (await run.ctx.db
        .select({ applicationFeeAmount: invoices.applicationFeeAmount, amountPaid: invoices.amountPaid })
        .from(invoices)
        .where(eq(invoices.id, invoiceId))
        .get()))
    : undefined;
  const fee =
    refund.refundApplicationFee && invoice?.applicationFeeAmount && invoice.amountPaid
      ? Math.round((refund.amount * invoice.applicationFeeAmount) / invoice.amountPaid)
      : 0;
  run.analytics.addPayment({
    id: `refund:${refund.stripeRefundId}`,
    kind: "refund",
    customerId: refund.customerId,
    livemode: refund.livemode,
    currency: refund.currency,
    amount: refund.amount,
    fee,
    occurredAt: created * 1000,
  });
}

/**
 * `charge.refunded`: forwarded to the tenant as before, and checked against the refunds we know of
 * the charge's invoice; when Stripe counts more (a refund event not here yet, or lost), the
 * charge's refunds are read from Stripe and mirrored.
 */
async function applyChargeRefunded(run: MirrorRun, event: StripeEventLike, charge: Obj): Promise<string> {
  run.emit("charge.refunded", charge, event.livemode === true);
  const invoice = await invoiceOfPayment(run, str(charge.payment_intent), str(charge.id), event.created);
  if (!invoice) return "forwarded as charge.refunded";
  const known = await run.ctx.db
    .select({ stripeRefundId: refunds.stripeRefundId, amount: refunds.amount, status: refunds.status })
    .from(refunds)
    .where(eq(refunds.invoiceId, invoice.id));
  const state = refundRun(run);
  const counted = new Map(known.map((row) => [row.stripeRefundId, row]));
  for (const row of state.dirty.values())
    if (row.invoiceId === invoice.id) counted.set(row.stripeRefundId, row);
  const total = [...counted.values()]
    .filter((row) => COUNTED_REFUND_STATUSES.includes(row.status))
    .reduce((sum, row) => sum + row.amount, 0);
  if (total === Number(charge.amount_refunded)) return "forwarded as charge.refunded; refunds in step";
  const listed = await run.ctx.stripe.refunds.list(
    { charge: str(charge.id) ?? "", limit: 100 },
    run.stripeAccount ? { stripeAccount: run.stripeAccount } : {},
  );
  const notes = [];
  for (const refund of listed.data) notes.push(await applyRefund(run, obj(refund), event.created));
  return `forwarded as charge.refunded; refunds read from Stripe: ${notes.join(", ")}`;
}

export async function applyRefundEvent(run: MirrorRun, event: StripeEventLike): Promise<string> {
  const object = obj(event.data.object);
  if (event.type === "charge.refunded") return applyChargeRefunded(run, event, object);
  return applyRefund(run, object, event.created);
}

/** The run's refund writes, then every touched invoice's `amount_refunded` recomputed (last in the batch). */
export function refundStatements(run: MirrorRun, invoiceIds: string[]): BatchItem<"sqlite">[] {
  const state = runs.get(run);
  const ids = [...new Set([...invoiceIds, ...(state?.invoices ?? [])])];
  return [
    ...[...(state?.dirty.values() ?? [])].map((row) => upsertRefund(run.ctx.db, row)),
    ...(ids.length ? [refreshAmountRefunded(run.ctx.db, ids)] : []),
  ];
}
