import { createMiddleware } from "hono/factory";
import type Stripe from "stripe";
import { type Config, configOf } from "./config";
import type { CoordinatorStub } from "./coordinator/client";
import { type Database, database } from "./db/client";
import type { KeyKind, KeyMode, Role, TenantStatus } from "./db/schema";
import type { AppEnv } from "./env";
import { unauthenticated } from "./lib/errors";
import { createLogger, errorFields, type Logger } from "./lib/logger";
import type { QueueMessage } from "./queue/messages";
import { stripeClient, stripeOAuthClient } from "./stripe/client";

/** A clock services read instead of `Date.now()`, so tests can move time. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A tenant user, authenticated by an access token of a live session. */
export interface UserCaller {
  kind: "user";
  userId: string;
  tenantId: string;
  /** The current role, read from D1 on every request (not the token's). */
  role: Role;
  /** Refresh-token family of the session that minted the access token. */
  sessionId: string;
  tenantStatus: TenantStatus;
}

/** A tenant server calling with an API key. */
export interface ApiKeyCaller {
  kind: "api_key";
  keyId: string;
  tenantId: string;
  companyName: string;
  keyKind: KeyKind;
  /** Test keys see test data, live keys live data. */
  mode: KeyMode;
  tier: string;
}

/** The platform operator (`PLATFORM_ADMIN_TOKEN`). */
export interface OperatorCaller {
  kind: "operator";
}

export type Caller = UserCaller | ApiKeyCaller | OperatorCaller;

/**
 * The one context every service takes: built once per request by `contextMiddleware`, and with
 * the same factory by the queue consumer, the cron and the tenant's Durable Object. Outside
 * dependencies are here (D1, KV, queue, Stripe, the tenants' coordinators, the clock, settings),
 * so a service needs nothing else, and tests can replace the clock.
 */
export interface RequestContext {
  readonly db: Database;
  readonly kv: KVNamespace;
  readonly queue: Queue<QueueMessage>;
  readonly clock: Clock;
  /** Settings, each section parsed (and failing with its own clear error) on first read. */
  readonly config: Config;
  /** The Stripe client, built on first use (503 `stripe_not_configured` without settings). */
  readonly stripe: Stripe;
  /** The client whose OAuth calls go to `STRIPE_CONNECT_BASE`. */
  readonly stripeOAuth: Stripe;
  readonly rateLimiter: RateLimit;
  readonly requestId: string;
  /** The client's IP as Cloudflare reports it (`CF-Connecting-IP`), the key of per-IP throttles. */
  readonly clientIp: string;
  /** Who is calling, set by the authentication middleware; none on public routes and in jobs. */
  caller: Caller | undefined;
  /**
   * The request's `Idempotency-Key`, for its tenant and request (a hash of them), set by the
   * idempotency middleware when the request runs: the same for the same request sent again. A
   * Stripe create that cannot be undone (a refund) seeds its idempotency key with it, so a retry
   * after a failure on our side gets the object the first attempt made.
   */
  idempotencyKey: string | undefined;
  /** The tenant's coordinator (one Durable Object per tenant), reached by typed RPC. */
  coordinator(tenantId: string): CoordinatorStub;
  readonly log: Logger;
  /** Work to finish after the answer is sent (the request's `waitUntil`; awaited elsewhere). */
  waitUntil(promise: Promise<unknown>): void;
}

export interface ContextOptions {
  requestId: string;
  clientIp?: string;
  clock?: Clock;
  caller?: Caller;
  /** For log lines: `GET /api/...`, `queue stripe.event`, `coordinator alarm`, `cron`. */
  route?: string;
  waitUntil?: (promise: Promise<unknown>) => void;
}

class Context implements RequestContext {
  readonly db: Database;
  readonly kv: KVNamespace;
  readonly queue: Queue<QueueMessage>;
  readonly clock: Clock;
  readonly config: Config;
  readonly requestId: string;
  readonly clientIp: string;
  caller: Caller | undefined;
  idempotencyKey: string | undefined;
  readonly #env: Env;
  readonly #route: string | undefined;
  readonly #waitUntil: ((promise: Promise<unknown>) => void) | undefined;

  constructor(env: Env, options: ContextOptions) {
    this.#env = env;
    this.db = database(env.DB);
    this.kv = env.KV;
    this.queue = env.EVENTS_QUEUE;
    this.clock = options.clock ?? systemClock;
    this.config = configOf(env);
    this.requestId = options.requestId;
    this.clientIp = options.clientIp ?? "unknown";
    this.caller = options.caller;
    this.#route = options.route;
    this.#waitUntil = options.waitUntil;
  }

  get stripe(): Stripe {
    return stripeClient(this.config.stripe);
  }

  get stripeOAuth(): Stripe {
    return stripeOAuthClient(this.config.stripe);
  }

  get rateLimiter(): RateLimit {
    return this.#env.API_RATE_LIMITER;
  }

  get log(): Logger {
    const caller = this.caller;
    return createLogger({
      request_id: this.requestId,
      tenant_id: caller && caller.kind !== "operator" ? caller.tenantId : null,
      ...(this.#route ? { route: this.#route } : {}),
    });
  }

  coordinator(tenantId: string): CoordinatorStub {
    return this.#env.TENANT_COORDINATOR.getByName(tenantId);
  }

  waitUntil(promise: Promise<unknown>): void {
    if (this.#waitUntil) this.#waitUntil(promise);
    else promise.catch((error: unknown) => this.log.error("background work failed", errorFields(error)));
  }
}

/** The context of a request, a queue batch, a cron run or a coordinator call. */
export function createContext(env: Env, options: ContextOptions): RequestContext {
  return new Context(env, options);
}

/** Builds the request's context once, for every middleware and handler after it. */
export const contextMiddleware = createMiddleware<AppEnv>(async (c, next) => {
  c.set(
    "ctx",
    createContext(c.env, {
      requestId: c.var.requestId,
      clientIp: c.req.header("CF-Connecting-IP") ?? "unknown",
      route: `${c.req.method} ${c.req.path}`,
      waitUntil: (promise) => c.executionCtx.waitUntil(promise),
    }),
  );
  await next();
});

/** The calling user; services behind `requireUser` use it (401 if the route forgot the guard). */
export function userCaller(ctx: RequestContext): UserCaller {
  if (ctx.caller?.kind !== "user") throw unauthenticated();
  return ctx.caller;
}

/** The calling API key; handlers behind `requireApiKey` use it. */
export function apiKeyCaller(ctx: RequestContext): ApiKeyCaller {
  if (ctx.caller?.kind !== "api_key") throw unauthenticated();
  return ctx.caller;
}

/** The calling user or API key, whichever the route let in. */
export function tenantCaller(ctx: RequestContext): UserCaller | ApiKeyCaller {
  if (ctx.caller?.kind !== "user" && ctx.caller?.kind !== "api_key") throw unauthenticated();
  return ctx.caller;
}

/** Who to name in the audit log for the caller's change. */
export function auditActor(ctx: RequestContext): {
  actorType: "user" | "api_key" | "platform_admin";
  actorId: string | null;
} {
  const caller = ctx.caller;
  if (caller?.kind === "user") return { actorType: "user", actorId: caller.userId };
  if (caller?.kind === "api_key") return { actorType: "api_key", actorId: caller.keyId };
  return { actorType: "platform_admin", actorId: null };
}
