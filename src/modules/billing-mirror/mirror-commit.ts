import { eq } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { checkoutSessions, customerSubscriptions, customers, invoices } from "../../db/schema";
import { dunningStatements } from "../dunning/dunning-run";
import { refundStatements } from "../refunds/refund-mirror";
import { storedOlderThan, upsertedFields } from "./api-created";
import type { MirrorRun } from "./mirror.service";

/**
 * The writes a mirror run decided: one statement per changed row. A row new to the run is an
 * insert that, if the API's create stored the object meanwhile, replaces it only when older on
 * Stripe's clock (`storedOlderThan`).
 */
export function mirrorStatements(run: MirrorRun): BatchItem<"sqlite">[] {
  const { db } = run.ctx;
  const { dirty } = run.state;
  const statements: BatchItem<"sqlite">[] = [];
  for (const { row, isNew } of dirty.customer.values()) {
    const fields = upsertedFields(row);
    statements.push(
      isNew
        ? db
            .insert(customers)
            .values(row)
            .onConflictDoUpdate({
              target: customers.stripeCustomerId,
              set: fields,
              setWhere: storedOlderThan(customers.lastEventCreated, row.lastEventCreated),
            })
        : db.update(customers).set(fields).where(eq(customers.id, row.id)),
    );
  }
  for (const { row, isNew } of dirty.subscription.values()) {
    const fields = upsertedFields(row);
    statements.push(
      isNew
        ? db
            .insert(customerSubscriptions)
            .values(row)
            .onConflictDoUpdate({
              target: customerSubscriptions.stripeSubscriptionId,
              set: fields,
              setWhere: storedOlderThan(customerSubscriptions.lastEventCreated, row.lastEventCreated),
            })
        : db.update(customerSubscriptions).set(fields).where(eq(customerSubscriptions.id, row.id)),
    );
  }
  for (const { row, isNew } of dirty.invoice.values()) {
    const fields = upsertedFields(row);
    statements.push(
      isNew
        ? db
            .insert(invoices)
            .values(row)
            .onConflictDoUpdate({
              target: invoices.stripeInvoiceId,
              set: fields,
              setWhere: storedOlderThan(invoices.lastEventCreated, row.lastEventCreated),
            })
        : db.update(invoices).set(fields).where(eq(invoices.id, row.id)),
    );
  }
  for (const { row } of dirty.checkout.values()) {
    const { status, customerId, subscriptionId, completedAt } = row;
    statements.push(
      db
        .update(checkoutSessions)
        .set({ status, customerId, subscriptionId, completedAt })
        .where(eq(checkoutSessions.id, row.id)),
    );
  }
  // Refunds and dunning steps of the run; every invoice's amount_refunded recomputed last.
  statements.push(
    ...refundStatements(
      run,
      [...dirty.invoice.values()].map(({ row }) => row.id),
    ),
    ...dunningStatements(run),
  );
  return statements;
}
