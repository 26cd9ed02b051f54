import type { DrizzleD1Database } from "drizzle-orm/d1";
import type * as schema from "./db/schema";
import type { KeyKind, KeyMode, Role } from "./db/schema";

/** Optional settings that `wrangler types` cannot see because they are unset by default. */
interface OptionalSettings {
  STRIPE_SECRET_KEY?: string;
  STRIPE_PUBLISHABLE_KEY?: string;
  STRIPE_API_BASE?: string;
  STRIPE_CONNECT_BASE?: string;
  /** Set only by the benchmark: enables the bare baseline route `/__bench/bare`. */
  BENCH_BARE_ROUTE?: string;
}

declare global {
  interface Env extends OptionalSettings {}
  namespace Cloudflare {
    interface Env extends OptionalSettings {}
  }
}

export type Database = DrizzleD1Database<typeof schema>;

/** A clock services read instead of `Date.now()`, so tests can move time. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** The per-request dependencies handlers pass to services. */
export interface Services {
  db: Database;
  kv: KVNamespace;
  queue: Queue;
  clock: Clock;
  /** The tenants' coordinators (one Durable Object per tenant). */
  coordinators: Env["TENANT_COORDINATOR"];
}

/** Who is calling, set by the authentication middleware. */
export interface UserPrincipal {
  kind: "user";
  userId: string;
  tenantId: string;
  role: Role;
  /** Refresh-token family of the session that minted this access token. */
  sessionId: string;
  tenantStatus: "active" | "suspended";
}

/** A tenant server calling with an API key. */
export interface ApiKeyPrincipal {
  kind: "api_key";
  keyId: string;
  tenantId: string;
  companyName: string;
  keyKind: KeyKind;
  /** Test keys see test data, live keys live data. */
  mode: KeyMode;
  tier: string;
}

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    services: Services;
    principal: UserPrincipal;
    apiKey: ApiKeyPrincipal;
  };
}
