import type { RequestContext } from "./context";

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

/** The Hono env of the app, every middleware and every handler. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    /** The request's one context (`contextMiddleware`); its `caller` is set by the auth middleware. */
    ctx: RequestContext;
  };
}
