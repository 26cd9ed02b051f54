// Where a mirror run's write of a customer or subscription lands, and when its tenant event is not
// written: the run read its rows before it waited on Stripe, and the API may have written since.
import { inArray, type SQL, sql } from "drizzle-orm";
import {
  type CustomerRow,
  type CustomerSubscriptionRow,
  customerSubscriptions,
  customers,
} from "../../db/schema";
import { notNewerThan } from "./api-created";
import { CUSTOMER_MAY_FOLLOW, SUBSCRIPTION_MAY_FOLLOW } from "./rules";

/**
 * The guard of a run's write of a customer over its stored row: not over one newer on Stripe's
 * clock (an API change committed after the run read it), nor over a state the row's cannot follow.
 */
export const customerLands = (row: Pick<CustomerRow, "status" | "lastEventCreated">): SQL =>
  sql`(${notNewerThan(customers.lastEventCreated, row.lastEventCreated)} AND ${inArray(customers.status, [...CUSTOMER_MAY_FOLLOW[row.status]])})`;

/** The same guard for a subscription. */
export const subscriptionLands = (row: Pick<CustomerSubscriptionRow, "status" | "lastEventCreated">): SQL =>
  sql`(${notNewerThan(customerSubscriptions.lastEventCreated, row.lastEventCreated)} AND ${inArray(customerSubscriptions.status, [...SUBSCRIPTION_MAY_FOLLOW[row.status]])})`;

/**
 * Finds the stored customer a run's snapshot `row` would not land on: the API changed it after the
 * run read it and told that change itself, so the run's event of this snapshot is not written.
 */
export const customerPassed = (row: CustomerRow): SQL =>
  sql`SELECT 1 FROM ${customers} WHERE ${customers.id} = ${row.id} AND NOT ${customerLands(row)}`;

/** The same for a subscription. */
export const subscriptionPassed = (row: CustomerSubscriptionRow): SQL =>
  sql`SELECT 1 FROM ${customerSubscriptions} WHERE ${customerSubscriptions.id} = ${row.id} AND NOT ${subscriptionLands(row)}`;
