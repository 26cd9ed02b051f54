import type { DrizzleD1Database } from "drizzle-orm/d1";
import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

/** The drizzle client, and (`$client`) the D1 binding under it for hand-written batches. */
export type Database = DrizzleD1Database<typeof schema> & { $client: D1Database };

// drizzle's client is stateless over the binding; building it once per binding keeps its
// schema bookkeeping off the per-request path.
const databases = new WeakMap<D1Database, Database>();

/** The drizzle client of a D1 binding (snake_case columns, the schema's row types). */
export function database(binding: D1Database): Database {
  let db = databases.get(binding);
  if (!db) {
    db = drizzle(binding, { schema, casing: "snake_case" });
    databases.set(binding, db);
  }
  return db;
}
