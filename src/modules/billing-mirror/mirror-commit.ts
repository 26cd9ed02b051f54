import { and, eq } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { checkoutSessions, customerSubscriptions, customers, invoices } from "../../db/schema";
import { dunningStatements } from "../dunning/dunning-run";
import { invoiceMayBecome } from "../invoices/invoice-commit";
import { refundStatements } from "../refunds/refund-mirror";
import { notNewerThan, upsertedFields } from "./api-created";
import type { MirrorRun } from "./mirror-run";
import { customerLands, subscriptionLands } from "./row-guards";

/**
 * What a mirror run's writes can collide on when the API wrote meanwhile: a new row's Stripe id
 * or our id (the API's create stored the object), a customer's external id (the API gave it to
 * another customer).
 */
export const MIRROR_CONFLICTS = new Set([
  "customers.stripe_customer_id",
  "customer_subscriptions.stripe_subscription_id",
  "invoices.stripe_invoice_id",
  "customers.id",
  "customer_subscriptions.id",
  "invoices.id",
  "customers.tenant_id, customers.livemode, customers.external_id",
]);

/**
 * The writes a mirror run decided: one statement per changed row. A row new to the run is a plain
 * insert: if the API's create stored the same Stripe object after the run read its rows, the
 * insert fails on the Stripe id (`MIRROR_CONFLICTS`), so does the run's batch, and the run starts
 * again from the rows as they are (`processStripeEvents`). An upsert here put the run's
 * snapshot, possibly older, over the create's row and sent a second `*.created`.
 */
export function mirrorStatements(run: MirrorRun): BatchItem<"sqlite">[] {
  const { db } = run.ctx;
  const { dirty } = run.state;
  const statements: BatchItem<"sqlite">[] = [];
  // A row the API changed after the run read it (a verb's answer, newer on Stripe's clock) keeps
  // the API's state: the run's snapshot is older. A row of the same second but in a state the
  // snapshot's cannot follow (the clock lets a tie through: a deleted customer, an ended
  // subscription, a paid invoice) keeps it too.
  for (const { row, isNew } of dirty.customer.values()) {
    const fields = upsertedFields(row);
    statements.push(
      isNew
        ? db.insert(customers).values(row)
        : db
            .update(customers)
            .set(fields)
            .where(and(eq(customers.id, row.id), customerLands(row))),
    );
  }
  for (const { row, isNew } of dirty.subscription.values()) {
    const fields = upsertedFields(row);
    statements.push(
      isNew
        ? db.insert(customerSubscriptions).values(row)
        : db
            .update(customerSubscriptions)
            .set(fields)
            .where(and(eq(customerSubscriptions.id, row.id), subscriptionLands(row))),
    );
  }
  for (const { row, isNew } of dirty.invoice.values()) {
    const fields = upsertedFields(row);
    statements.push(
      isNew
        ? db.insert(invoices).values(row)
        : db
            .update(invoices)
            .set(fields)
            .where(
              and(
                eq(invoices.id, row.id),
                notNewerThan(invoices.lastEventCreated, row.lastEventCreated),
                invoiceMayBecome(row.status),
              ),
            ),
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
