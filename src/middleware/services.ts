import { drizzle } from "drizzle-orm/d1";
import { createMiddleware } from "hono/factory";
import * as schema from "../db/schema";
import { type AppEnv, type Database, type Services, systemClock } from "../env";

// drizzle's client is stateless over the binding; building it once per binding keeps its
// schema bookkeeping off the per-request path.
const databases = new WeakMap<D1Database, Database>();

export function database(binding: D1Database): Database {
  let db = databases.get(binding);
  if (!db) {
    db = drizzle(binding, { schema, casing: "snake_case" });
    databases.set(binding, db);
  }
  return db;
}

export function buildServices(env: Env): Services {
  return {
    db: database(env.DB),
    kv: env.KV,
    queue: env.EVENTS_QUEUE,
    clock: systemClock,
    coordinators: env.TENANT_COORDINATOR,
  };
}

/** Puts the per-request services (db, kv, clock) on the context for handlers to pass on. */
export const servicesMiddleware = createMiddleware<AppEnv>(async (c, next) => {
  c.set("services", buildServices(c.env));
  await next();
});
