import { and, eq, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { RequestContext } from "../../context";
import { type MrrStateRow, mrrMovements, mrrStates, revenueEntries } from "../../db/schema";
import { newId } from "../../lib/crypto";
import { deriveLedger, type MrrState } from "./ledger";
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
  terms: PriceTerms;
}

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
 * states, and the rollups move by the difference between the old ledger and the new one.
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
      effectiveAt: snapshot.created * 1000,
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
    if (!added.length) return [];
    const statements: BatchItem<"sqlite">[] = added.map((row) =>
      db.insert(mrrStates).values(row).onConflictDoNothing(),
    );
    for (const customerId of new Set(added.map((row) => row.customerId))) {
      const before = stored.filter((row) => row.customerId === customerId);
      const after = [...before, ...added.filter((row) => row.customerId === customerId)];
      const livemode = after[0]?.livemode ?? false;
      const oldLedger = deriveLedger(before.map(toState));
      const newLedger = deriveLedger(after.map(toState));
      if (JSON.stringify(oldLedger) === JSON.stringify(newLedger)) continue;
      statements.push(
        db
          .delete(mrrMovements)
          .where(and(eq(mrrMovements.tenantId, this.tenantId), eq(mrrMovements.customerId, customerId))),
        ...newLedger.movements.map((movement) =>
          db
            .insert(mrrMovements)
            .values({ ...movement, id: newId("mov"), tenantId: this.tenantId, livemode }),
        ),
        ...rollupStatements(db, this.tenantId, livemode, ledgerDeltas(oldLedger, newLedger)),
        ...planStatements(db, this.tenantId, livemode, planDeltas(oldLedger, newLedger)),
      );
    }
    return statements;
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
