import { and, eq, gt, isNotNull, lte, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { RequestContext } from "../../context";
import { type MrrStateRow, mrrMovements, mrrStates, revenueEntries } from "../../db/schema";
import { newId } from "../../lib/crypto";
import { errorFields } from "../../lib/logger";
import { DISCOUNT_END_PREFIX, deriveLedger, dueDiscountEnds, type MrrState } from "./ledger";
import { mrrStateOf, type PriceTerms } from "./mrr";
import { moneyStatements, planStatements, rollupStatements } from "./rollup-writes";
import { ledgerDeltas, planDeltas } from "./rollups";

export interface SubscriptionSnapshot {
  subscriptionId: string;
  customerId: string;
  planId: string | null;
  livemode: boolean;
  sourceEventId: string;
  /** Unix seconds (Stripe's `created` of the event). */
  created: number;
  /**
   * The subscription as read at Stripe to settle two differing snapshots of the same second: it
   * stands at the end of that second (`SETTLED_AT_MS`), after every snapshot of it.
   */
  settledAtStripe?: boolean;
  terms: PriceTerms;
}

/** Where in its second a state read at Stripe stands: after the event snapshots of that second. */
export const SETTLED_AT_MS = 999;

export interface Payment {
  /** `invoice:<stripe id>` or `refund:<stripe id>`: each counted once. */
  id: string;
  kind: "payment" | "refund";
  customerId: string | null;
  livemode: boolean;
  currency: string;
  amount: number;
  fee: number;
  /** Unix ms. */
  occurredAt: number;
}

/**
 * The statements that add `added` to one customer's stored MRR states (`stored`, all of them),
 * record its discount ends that have come by `now`, and move its movements, rollups and plan
 * figures from the ledger of the stored states to the ledger of them all. The batch fails
 * (and nothing of it is written) if another writer added a state of the customer after
 * `stored` was read: the event path runs in the tenant's coordinator, the cron's discount ends
 * outside it, and whichever commits second starts again from the rows as they are.
 */
export function ledgerRewrite(
  ctx: RequestContext,
  tenantId: string,
  customerId: string,
  stored: MrrStateRow[],
  added: MrrStateRow[],
  now: number,
): BatchItem<"sqlite">[] {
  const { db } = ctx;
  const ended = dueDiscountEnds([...stored, ...added], now);
  const inserted = [...added, ...ended];
  if (!inserted.length) return [];
  const after = [...stored, ...inserted];
  const livemode = after[0]?.livemode ?? false;
  const statements: BatchItem<"sqlite">[] = [
    unchangedSince(ctx, tenantId, customerId, stored.length),
    ...inserted.map((row) => db.insert(mrrStates).values(row).onConflictDoNothing()),
  ];
  const oldLedger = deriveLedger(stored.map(toState));
  const newLedger = deriveLedger(after.map(toState));
  if (JSON.stringify(oldLedger) === JSON.stringify(newLedger)) return statements;
  statements.push(
    db
      .delete(mrrMovements)
      .where(and(eq(mrrMovements.tenantId, tenantId), eq(mrrMovements.customerId, customerId))),
    ...newLedger.movements.map((movement) =>
      db.insert(mrrMovements).values({ ...movement, id: newId("mov"), tenantId, livemode }),
    ),
    ...rollupStatements(db, tenantId, livemode, ledgerDeltas(oldLedger, newLedger)),
    ...planStatements(db, tenantId, livemode, planDeltas(oldLedger, newLedger)),
  );
  return statements;
}

/**
 * Fails the batch it is in unless the customer still has `count` MRR states (states are only
 * ever added): an insert of a row without its NOT NULL key, made only when the count differs.
 * Optimistic concurrency without a version column.
 */
function unchangedSince(
  ctx: RequestContext,
  tenantId: string,
  customerId: string,
  count: number,
): BatchItem<"sqlite"> {
  return ctx.db.insert(mrrStates).select(
    sql`SELECT NULL, 'changed meanwhile', ${tenantId}, 0, ${customerId}, NULL, '', 0, 'active', 0, NULL, NULL
        WHERE (SELECT count(*) FROM ${mrrStates} WHERE tenant_id = ${tenantId} AND customer_id = ${customerId}) <> ${count}`,
  );
}

/** How far back the cron looks for discount ends not recorded yet (its runs may fail for a while). */
const DISCOUNT_END_LOOKBACK_MS = 7 * 86_400_000;
/** Customers whose discount ends one cron run records. */
const DISCOUNT_ENDS_PER_RUN = 200;

/**
 * Cron (every run): records the repeating discounts' ends that have come, customer by customer
 * (the same rewrite as an event's), so the ledger and rollups hold each end from its time on,
 * never before. A customer's next event would record it too; this does not wait for one. Found
 * by the `discount_ends_at` index: O(ends due), not O(states).
 */
export async function recordDueDiscountEnds(ctx: RequestContext): Promise<number> {
  const now = ctx.clock.now().getTime();
  const due = await ctx.db
    .selectDistinct({ tenantId: mrrStates.tenantId, customerId: mrrStates.customerId })
    .from(mrrStates)
    .where(
      and(
        gt(mrrStates.discountEndsAt, now - DISCOUNT_END_LOOKBACK_MS),
        lte(mrrStates.discountEndsAt, now),
        gt(mrrStates.discountEndsAt, mrrStates.effectiveAt),
        isNotNull(mrrStates.mrrAfterDiscount),
        sql`NOT EXISTS (SELECT 1 FROM ${mrrStates} r WHERE r.subscription_id = ${mrrStates.subscriptionId}
          AND r.source_event_id = ${DISCOUNT_END_PREFIX} || ${mrrStates.subscriptionId} || ':' || ${mrrStates.discountEndsAt})`,
      ),
    )
    .limit(DISCOUNT_ENDS_PER_RUN);
  for (const { tenantId, customerId } of due) {
    try {
      const stored = await ctx.db
        .select()
        .from(mrrStates)
        .where(and(eq(mrrStates.tenantId, tenantId), eq(mrrStates.customerId, customerId)));
      const statements = ledgerRewrite(ctx, tenantId, customerId, stored, [], now);
      const [first, ...rest] = statements;
      if (first) await ctx.db.batch([first, ...rest]);
    } catch (error) {
      // One customer's failure does not hold up the others; its end stays due for the next run.
      ctx.log.error("analytics discount end failed", {
        tenant_id: tenantId,
        customer_id: customerId,
        ...errorFields(error),
      });
    }
  }
  return due.length;
}

const toState = (row: MrrStateRow): MrrState => ({
  subscriptionId: row.subscriptionId,
  sourceEventId: row.sourceEventId,
  customerId: row.customerId,
  planId: row.planId,
  currency: row.currency,
  effectiveAt: row.effectiveAt,
  status: row.status,
  mrr: row.mrr,
  discountEndsAt: row.discountEndsAt,
  mrrAfterDiscount: row.mrrAfterDiscount,
});

/**
 * What a run of a tenant's Stripe events adds to its analytics: each subscription snapshot as an
 * MRR state (whatever order it came in: the state keeps Stripe's time), each payment and refund
 * once. At the end, every customer with a new state has its ledger re-derived from all its
 * states (with its discount ends that have come by now), and the rollups move by the difference
 * between the old ledger and the new one.
 */
export class AnalyticsRun {
  readonly #states = new Map<string, MrrStateRow>();
  readonly #payments = new Map<string, Payment>();

  constructor(
    readonly ctx: RequestContext,
    readonly tenantId: string,
  ) {}

  addSnapshot(snapshot: SubscriptionSnapshot) {
    const { mrr, discountEndsAt, mrrAfterDiscount } = mrrStateOf(snapshot.terms);
    const row: MrrStateRow = {
      subscriptionId: snapshot.subscriptionId,
      sourceEventId: snapshot.sourceEventId,
      tenantId: this.tenantId,
      livemode: snapshot.livemode,
      customerId: snapshot.customerId,
      planId: snapshot.planId,
      currency: snapshot.terms.currency,
      effectiveAt: snapshot.created * 1000 + (snapshot.settledAtStripe ? SETTLED_AT_MS : 0),
      status: snapshot.terms.status,
      mrr,
      discountEndsAt,
      mrrAfterDiscount,
    };
    this.#states.set(`${row.subscriptionId}|${row.sourceEventId}`, row);
  }

  addPayment(payment: Payment) {
    this.#payments.set(payment.id, payment);
  }

  /** The run's analytics writes, for the run's one D1 batch. */
  async statements(): Promise<BatchItem<"sqlite">[]> {
    const statements: BatchItem<"sqlite">[] = [];
    if (this.#states.size) statements.push(...(await this.#ledgerStatements()));
    for (const payment of this.#payments.values()) statements.push(...this.#paymentStatements(payment));
    return statements;
  }

  async #ledgerStatements(): Promise<BatchItem<"sqlite">[]> {
    const { db } = this.ctx;
    const fresh = [...this.#states.values()];
    const customers = [...new Set(fresh.map((row) => row.customerId))];
    const stored = await db
      .select()
      .from(mrrStates)
      .where(
        and(
          eq(mrrStates.tenantId, this.tenantId),
          sql`${mrrStates.customerId} IN (SELECT value FROM json_each(${JSON.stringify(customers)}))`,
        ),
      );
    const known = new Set(stored.map((row) => `${row.subscriptionId}|${row.sourceEventId}`));
    const added = fresh.filter((row) => !known.has(`${row.subscriptionId}|${row.sourceEventId}`));
    const now = this.ctx.clock.now().getTime();
    return [...new Set(added.map((row) => row.customerId))].flatMap((customerId) =>
      ledgerRewrite(
        this.ctx,
        this.tenantId,
        customerId,
        stored.filter((row) => row.customerId === customerId),
        added.filter((row) => row.customerId === customerId),
        now,
      ),
    );
  }

  #paymentStatements(payment: Payment): BatchItem<"sqlite">[] {
    const { db } = this.ctx;
    const key = { tenantId: this.tenantId, livemode: payment.livemode, currency: payment.currency };
    const insert = db
      .insert(revenueEntries)
      .values({ ...payment, tenantId: this.tenantId })
      .onConflictDoNothing();
    const flows =
      payment.kind === "payment"
        ? { revenue: payment.amount, fees: payment.fee }
        : { refunds: payment.amount, fees: -payment.fee };
    return moneyStatements(db, insert, key, payment.occurredAt, flows);
  }
}
