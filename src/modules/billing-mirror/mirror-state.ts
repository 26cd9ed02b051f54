import { and, eq, inArray, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { RequestContext } from "../../context";
import {
  type CheckoutSessionRow,
  type CustomerRow,
  type CustomerSubscriptionRow,
  checkoutSessions,
  customerSubscriptions,
  customers,
  type InvoiceRow,
  invoices,
  plans,
} from "../../db/schema";
import { invoiceSubscriptionId } from "../invoices/stripe-invoice";
import type { StripeEventLike } from "../platform-billing/stripe-mapping";

type Obj = Record<string, unknown>;
const obj = (value: unknown): Obj => (value && typeof value === "object" ? (value as Obj) : {});
const str = (value: unknown): string | null => (typeof value === "string" ? value : null);
export const idOf = (value: unknown): string | null => str(value) ?? str(obj(value).id);

export type MirrorTable = "customer" | "subscription" | "invoice" | "checkout";

/** A row the run changed, to write at its end. */
export interface Dirty<T> {
  row: T;
  isNew: boolean;
}

/**
 * What one run knows: the tenant's rows the run's events name (read once, up front), the
 * changes decided so far (applied on top, so a later event of the run sees an earlier one's
 * result), and the tenant's plans by Stripe price.
 */
export class MirrorState {
  readonly customers = new Map<string, CustomerRow>();
  readonly subscriptions = new Map<string, CustomerSubscriptionRow>();
  readonly invoices = new Map<string, InvoiceRow>();
  readonly checkouts = new Map<string, CheckoutSessionRow>();
  readonly planByPrice = new Map<string, string>();
  readonly dirty = {
    customer: new Map<string, Dirty<CustomerRow>>(),
    subscription: new Map<string, Dirty<CustomerSubscriptionRow>>(),
    invoice: new Map<string, Dirty<InvoiceRow>>(),
    checkout: new Map<string, Dirty<CheckoutSessionRow>>(),
  };

  /**
   * Which Stripe object holds each of our ids the run's events carry in metadata (any tenant's:
   * ids are unique across tenants), and each external id the tenant's customers hold, by mode;
   * null for a value the run looked up and nobody holds. A tenant's own Stripe objects carry
   * whatever metadata they were given, copies of ours included: a value another object holds,
   * or one the run did not look up (a snapshot read back from Stripe may carry another), is not
   * taken (`isFree`). An external id a customer gives up within the run stays held for the run
   * (its row is written after the others' may be): the next run can give it to another.
   */
  readonly owners = {
    customer: new Map<string, string | null>(),
    subscription: new Map<string, string | null>(),
    invoice: new Map<string, string | null>(),
    externalId: new Map<string, string | null>(),
  };

  constructor(readonly tenantId: string) {}

  putCustomer(row: CustomerRow, isNew: boolean) {
    this.customers.set(row.stripeCustomerId, row);
    mark(this.dirty.customer, row.stripeCustomerId, row, isNew);
    this.owners.customer.set(row.id, row.stripeCustomerId);
    if (row.externalId) this.owners.externalId.set(externalKey(row), row.stripeCustomerId);
  }

  putSubscription(row: CustomerSubscriptionRow, isNew: boolean) {
    this.subscriptions.set(row.stripeSubscriptionId, row);
    mark(this.dirty.subscription, row.stripeSubscriptionId, row, isNew);
    this.owners.subscription.set(row.id, row.stripeSubscriptionId);
  }

  putInvoice(row: InvoiceRow, isNew: boolean) {
    this.invoices.set(row.stripeInvoiceId, row);
    mark(this.dirty.invoice, row.stripeInvoiceId, row, isNew);
    this.owners.invoice.set(row.id, row.stripeInvoiceId);
  }

  /** Whether the run looked `value` up and no other Stripe object than `stripeId` holds it. */
  isFree(kind: keyof MirrorState["owners"], value: string, stripeId: string): boolean {
    const owner = this.owners[kind].get(value);
    return owner === null || owner === stripeId;
  }

  putCheckout(row: CheckoutSessionRow) {
    this.checkouts.set(row.stripeSessionId, row);
    mark(this.dirty.checkout, row.stripeSessionId, row, false);
  }

  /**
   * Takes in rows read after the run started (`loadMirrorState` for an object a snapshot names
   * mid-run), each only where the run holds none: the run's own rows, read or changed, win.
   */
  adoptMissing(read: MirrorState) {
    const pairs: [Map<string, unknown>, Map<string, unknown>][] = [
      [this.customers, read.customers],
      [this.subscriptions, read.subscriptions],
      [this.invoices, read.invoices],
      [this.checkouts, read.checkouts],
      [this.planByPrice, read.planByPrice],
      [this.owners.customer, read.owners.customer],
      [this.owners.subscription, read.owners.subscription],
      [this.owners.invoice, read.owners.invoice],
      [this.owners.externalId, read.owners.externalId],
    ];
    for (const [into, from] of pairs)
      for (const [key, value] of from) if (!into.has(key)) into.set(key, value);
  }
}

/** The key of a customer's external id in `owners.externalId` (unique per tenant and mode). */
export const externalKey = (row: { livemode: boolean; externalId: string | null }) =>
  `${row.livemode ? "live" : "test"}:${row.externalId}`;

function mark<T>(map: Map<string, Dirty<T>>, key: string, row: T, isNew: boolean) {
  map.set(key, { row, isNew: map.get(key)?.isNew ?? isNew });
}

/** The Stripe ids a batch of events names, by kind. */
function namedIds(events: StripeEventLike[]) {
  const ids = {
    customers: new Set<string>(),
    subscriptions: new Set<string>(),
    invoices: new Set<string>(),
    checkouts: new Set<string>(),
    prices: new Set<string>(),
    /** Our ids and external ids in the objects' metadata (see `MirrorState.owners`). */
    ourCustomerIds: new Set<string>(),
    ourSubscriptionIds: new Set<string>(),
    ourInvoiceIds: new Set<string>(),
    externalIds: new Set<string>(),
  };
  const add = (set: Set<string>, value: unknown) => {
    const id = idOf(value);
    if (id) set.add(id);
  };
  for (const event of events) {
    const object = obj(event.data?.object);
    const metadata = obj(object.metadata);
    if (event.type.startsWith("customer.subscription.")) {
      add(ids.subscriptions, object.id);
      add(ids.customers, object.customer);
      add(ids.ourSubscriptionIds, metadata.subscription_id);
      for (const item of (obj(object.items).data as unknown[] | undefined) ?? [])
        add(ids.prices, obj(item).price);
    } else if (event.type.startsWith("customer.")) {
      add(ids.customers, object.id);
      add(ids.ourCustomerIds, metadata.customer_id);
      add(ids.externalIds, metadata.external_id);
    } else if (event.type.startsWith("invoice.")) {
      add(ids.invoices, object.id);
      add(ids.customers, object.customer);
      add(ids.ourInvoiceIds, metadata.invoice_id);
      add(ids.subscriptions, invoiceSubscriptionId(object));
    } else if (event.type.startsWith("checkout.session.")) {
      add(ids.checkouts, object.id);
      add(ids.customers, object.customer);
      add(ids.subscriptions, object.subscription);
    }
  }
  return ids;
}

/** `column IN (...)` with one bound parameter (D1 binds at most 100 per statement). */
const within = (column: SQLiteColumn, values: Set<string>) =>
  sql`${column} IN (SELECT value FROM json_each(${JSON.stringify([...values])}))`;

/** Reads the tenant's rows the events name, in one round trip. */
export async function loadMirrorState(ctx: RequestContext, tenantId: string, events: StripeEventLike[]) {
  const ids = namedIds(events);
  const { db } = ctx;
  const [customerRows, subscriptionRows, invoiceRows, checkoutRows, planRows, ...owned] = await db.batch([
    db
      .select()
      .from(customers)
      .where(and(eq(customers.tenantId, tenantId), within(customers.stripeCustomerId, ids.customers))),
    db
      .select()
      .from(customerSubscriptions)
      .where(
        and(
          eq(customerSubscriptions.tenantId, tenantId),
          within(customerSubscriptions.stripeSubscriptionId, ids.subscriptions),
        ),
      ),
    db
      .select()
      .from(invoices)
      .where(and(eq(invoices.tenantId, tenantId), within(invoices.stripeInvoiceId, ids.invoices))),
    db
      .select()
      .from(checkoutSessions)
      .where(
        and(eq(checkoutSessions.tenantId, tenantId), within(checkoutSessions.stripeSessionId, ids.checkouts)),
      ),
    db
      .select({ id: plans.id, price: plans.stripePriceId })
      .from(plans)
      .where(
        and(
          eq(plans.tenantId, tenantId),
          inArray(plans.stripePriceId, ids.prices.size ? [...ids.prices].slice(0, 90) : [""]),
        ),
      ),
    db
      .select({ value: customers.id, owner: customers.stripeCustomerId })
      .from(customers)
      .where(within(customers.id, ids.ourCustomerIds)),
    db
      .select({ value: customerSubscriptions.id, owner: customerSubscriptions.stripeSubscriptionId })
      .from(customerSubscriptions)
      .where(within(customerSubscriptions.id, ids.ourSubscriptionIds)),
    db
      .select({ value: invoices.id, owner: invoices.stripeInvoiceId })
      .from(invoices)
      .where(within(invoices.id, ids.ourInvoiceIds)),
    db
      .select({
        value: sql<string>`CASE WHEN ${customers.livemode} THEN 'live:' ELSE 'test:' END || ${customers.externalId}`,
        owner: customers.stripeCustomerId,
      })
      .from(customers)
      .where(and(eq(customers.tenantId, tenantId), within(customers.externalId, ids.externalIds))),
  ]);
  const state = new MirrorState(tenantId);
  const [customerIds, subscriptionIds, invoiceIds, externalIds] = owned;
  const externalKeys = [...ids.externalIds].flatMap((externalId) =>
    [true, false].map((livemode) => externalKey({ livemode, externalId })),
  );
  for (const [owners, looked, rows] of [
    [state.owners.customer, ids.ourCustomerIds, customerIds],
    [state.owners.subscription, ids.ourSubscriptionIds, subscriptionIds],
    [state.owners.invoice, ids.ourInvoiceIds, invoiceIds],
    [state.owners.externalId, externalKeys, externalIds],
  ] as const) {
    for (const value of looked) owners.set(value, null);
    for (const { value, owner } of rows ?? []) owners.set(value, owner);
  }
  for (const row of customerRows) state.customers.set(row.stripeCustomerId, row);
  for (const row of subscriptionRows) state.subscriptions.set(row.stripeSubscriptionId, row);
  for (const row of invoiceRows) state.invoices.set(row.stripeInvoiceId, row);
  for (const row of checkoutRows) state.checkouts.set(row.stripeSessionId, row);
  for (const row of planRows) state.planByPrice.set(row.price, row.id);
  return state;
}
