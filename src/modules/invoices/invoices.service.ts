import Stripe from "stripe";
import type { RequestContext } from "../../context";
import { type CustomerRow, invoices, type PlanRow } from "../../db/schema";
import { newId } from "../../lib/crypto";
import { ApiError, notFound, validationError } from "../../lib/errors";
import { writeScope } from "../../lib/scope";
import { withStripeUndo } from "../../stripe/undo";
import { createdByApi } from "../billing-mirror/api-created";
import { assertDiscountCurrency } from "../coupons/discount-currency";
import { discountsFor } from "../coupons/discounts";
import { activeCustomer } from "../customers/customers.queries";
import { getPlan } from "../plans/plans.queries";
import { connectedTenant } from "../stripe-connect/connected-account";
import { commitInvoiceChange, invoiceRowFrom } from "./invoice-commit";
import { MAX_ITEM_AMOUNT } from "./invoice-requests";

export interface NewInvoiceItem {
  plan?: string | undefined;
  unit_amount?: number | undefined;
  quantity: number;
  description?: string | undefined;
}

export interface NewInvoice {
  customer: string;
  items: NewInvoiceItem[];
  currency?: string | undefined;
  collection_method: "charge_automatically" | "send_invoice";
  days_until_due?: number | undefined;
  coupon?: string | undefined;
  promotion_code?: string | undefined;
  description?: string | undefined;
  metadata?: Record<string, string> | undefined;
}

/** Our metadata on the Stripe invoice and its items: what finds them again, over the tenant's keys. */
const ownMetadata = (tenantId: string, invoiceId: string, customer: CustomerRow) => ({
  tenant_id: tenantId,
  invoice_id: invoiceId,
  customer_id: customer.id,
});

/** The plans the items name (active, of the tenant, in the customer's mode), by id. */
async function itemPlans(ctx: RequestContext, items: NewInvoiceItem[], livemode: boolean) {
  const plans = new Map<string, PlanRow>();
  for (const [index, item] of items.entries()) {
    if (!item.plan || plans.has(item.plan)) continue;
    const plan = await getPlan(ctx, item.plan).catch((error: unknown) => {
      throw error instanceof ApiError && error.code === "not_found"
        ? new ApiError("not_found", `Plan not found (items.${index}.plan)`)
        : error;
    });
    if (plan.livemode !== livemode) throw notFound("Plan");
    if (!plan.isActive)
      throw new ApiError("invalid_state_transition", `Plan ${plan.id} is not active`, {
        extra: { status: "inactive" },
      });
    plans.set(plan.id, plan);
  }
  return plans;
}

/**
 * The invoice's currency: the one given, else the plans'; every plan item must be in it, and its
 * amount, as the sum of all the items, within what Stripe takes for one amount. Stripe would
 * refuse a larger total only at finalize. Our drafts take no items after they are created, so
 * this one request's items are the whole draft.
 */
function invoiceCurrency(input: NewInvoice, plans: Map<string, PlanRow>): string {
  const currency = input.currency ?? [...plans.values()][0]?.currency;
  if (!currency) throw validationError("currency", "currency is required when no item names a plan");
  for (const [index, item] of input.items.entries()) {
    const plan = item.plan ? plans.get(item.plan) : undefined;
    if (plan && plan.currency !== currency)
      throw validationError(
        `items.${index}.plan`,
        `This plan is billed in ${plan.currency}, not ${currency}`,
      );
    if (plan && plan.priceCents * item.quantity > MAX_ITEM_AMOUNT)
      throw validationError(
        `items.${index}.quantity`,
        `An item's amount (the plan's price × quantity) is at most ${MAX_ITEM_AMOUNT} minor units`,
      );
  }
  const total = input.items.reduce(
    (sum, item) =>
      sum + (item.plan ? (plans.get(item.plan)?.priceCents ?? 0) : (item.unit_amount ?? 0)) * item.quantity,
    0,
  );
  if (total > MAX_ITEM_AMOUNT)
    throw validationError(
      "items",
      `The items sum to ${total} minor units: Stripe takes an invoice of at most ${MAX_ITEM_AMOUNT}`,
    );
  return currency;
}

/**
 * A one-off invoice for a customer, as a draft on the tenant's connected account: the invoice
 * (idempotency key from our new id, `auto_advance` off until we finalize it with the platform's
 * fee), then one invoice item per line (a plan's amount × quantity, or an amount × quantity), then
 * one D1 batch with `invoice.created`. The discount is the one named, else the customer's. If
 * anything fails after Stripe made the draft, its items and the draft are deleted again.
 */
export async function createInvoice(ctx: RequestContext, input: NewInvoice) {
  const scope = writeScope(ctx);
  const customer = await activeCustomer(ctx, input.customer);
  if (customer.livemode !== scope.livemode) throw notFound("Customer");
  const plans = await itemPlans(ctx, input.items, scope.livemode);
  const currency = invoiceCurrency(input, plans);
  const discount = await discountsFor(ctx, customer, input, currency);
  assertDiscountCurrency(discount, currency);
  const tenant = await connectedTenant(ctx, scope.tenantId, "creating invoices");
  const stripeAccount = tenant.stripeConnectAccountId;
  const id = newId("inv");
  const metadata = ownMetadata(tenant.id, id, customer);
  return withStripeUndo(ctx, async (undo) => {
    const draft = await ctx.stripe.invoices.create(
      {
        customer: customer.stripeCustomerId,
        currency,
        collection_method: input.collection_method,
        ...(input.days_until_due ? { days_until_due: input.days_until_due } : {}),
        auto_advance: false,
        pending_invoice_items_behavior: "exclude",
        ...(input.description ? { description: input.description } : {}),
        ...(discount ? { discounts: [discount.stripe] } : {}),
        metadata: { ...input.metadata, ...metadata },
      },
      { stripeAccount, idempotencyKey: `invoice:${id}` },
    );
    undo.push(`delete draft invoice ${draft.id}`, () =>
      ctx.stripe.invoices.del(draft.id, {}, { stripeAccount }),
    );
    for (const [index, item] of input.items.entries()) {
      const plan = item.plan ? plans.get(item.plan) : undefined;
      const created = await ctx.stripe.invoiceItems.create(
        {
          customer: customer.stripeCustomerId,
          invoice: draft.id,
          currency,
          quantity: item.quantity,
          ...(plan
            ? {
                // The plan's price is recurring, which Stripe refuses on an invoice item: its amount
                // is billed once, as a one-time price of the plan's product.
                price_data: { currency, product: plan.stripeProductId, unit_amount: plan.priceCents },
                description: item.description ?? plan.name,
              }
            : {
                unit_amount_decimal: Stripe.Decimal.from(String(item.unit_amount ?? 0)),
                description: item.description ?? "Item",
              }),
          metadata,
        },
        { stripeAccount, idempotencyKey: `invoice:${id}:item:${index}` },
      );
      undo.push(`delete invoice item ${created.id}`, () =>
        ctx.stripe.invoiceItems.del(created.id, {}, { stripeAccount }),
      );
    }
    const invoice = await ctx.stripe.invoices.retrieve(draft.id, {}, { stripeAccount });
    const now = ctx.clock.now();
    const row = invoiceRowFrom(
      {
        id,
        tenantId: tenant.id,
        customerId: customer.id,
        subscriptionId: null,
        amountRefunded: 0,
        createdAt: now,
      },
      invoice,
      null,
      now,
    );
    const created = createdByApi(
      ctx.db,
      invoices,
      { column: invoices.stripeInvoiceId, value: row.stripeInvoiceId },
      row,
    );
    return commitInvoiceChange(ctx, {
      tenant,
      statements: [created.statement],
      unlessRecorded: created.unlessRecorded,
      row,
      types: ["invoice.created"],
      audit: {
        action: "invoice.created",
        metadata: {
          customer_id: customer.id,
          items: input.items.length,
          coupon: discount?.coupon.id ?? null,
        },
      },
    });
  });
}
