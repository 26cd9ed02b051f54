import { z } from "zod";
import { ApiError, type ErrorCode } from "./lib/errors";

/**
 * Settings are read from the Worker's env, validated with zod once per env object (an isolate
 * keeps the same one), and grouped by the request paths that need them: a route that needs no
 * Stripe never fails because Stripe is not configured. A missing or invalid setting fails closed
 * with an error that names it and never echoes its value.
 */

const minutes = (fallback: number) =>
  z.coerce.number().int().positive().max(525_600).optional().default(fallback);

const flag = z
  .enum(["true", "false", "1", "0", ""])
  .optional()
  .transform((value) => value === "true" || value === "1");

const AppConfigSchema = z.object({
  PUBLIC_BASE_URL: z.url().optional().default("http://localhost:8787"),
  CORS_ALLOWED_ORIGINS: z.string().optional().default("http://localhost:3000"),
  PLATFORM_FEE_PERCENT: z.coerce.number().min(0).max(100).optional().default(15),
  WEBHOOK_ALLOW_INSECURE_URLS: flag,
  /** How long an Idempotency-Key's first request holds the key unless it renews it (a crashed one). */
  IDEMPOTENCY_LOCK_SECONDS: z.coerce.number().int().min(1).max(3600).optional().default(60),
});

const AuthConfigSchema = z.object({
  JWT_SECRET: z.string({ error: "is not set" }).min(32, "must be at least 32 characters"),
  JWT_ACCESS_TOKEN_LIFETIME: minutes(60),
  JWT_REFRESH_TOKEN_LIFETIME: minutes(1440),
});

const StripeConfigSchema = z.object({
  STRIPE_SECRET_KEY: z
    .string()
    .regex(/^(sk|rk)_(test|live)_\w+$/, "must be a secret key (sk_test_..., sk_live_...)")
    .optional(),
  STRIPE_PUBLISHABLE_KEY: z.string().optional(),
  STRIPE_API_BASE: z.url().optional(),
  STRIPE_CONNECT_BASE: z.url().optional(),
  STRIPE_CONNECT_CLIENT_ID: z.string().optional(),
  PUBLIC_BASE_URL: z.url().optional().default("http://localhost:8787"),
  PLATFORM_FEE_PERCENT: z.coerce.number().min(0).max(100).optional().default(15),
});

export interface StripeConfig {
  /** The platform key; a placeholder when the API host is a local Stripe double. */
  secretKey: string;
  /** The platform's publishable key, for Stripe.js on tenants' pages (null if unset). */
  publishableKey: string | null;
  livemode: boolean;
  apiBase: URL | null;
  connectBase: URL;
  connectClientId: string | null;
  publicBaseUrl: string;
  platformFeePercent: number;
}

const secret = () => z.string({ error: "is not set" }).min(1, "is not set");
const PlatformWebhookSecretSchema = z.object({ STRIPE_WEBHOOK_SECRET: secret() });
const ConnectWebhookSecretSchema = z.object({ STRIPE_CONNECT_WEBHOOK_SECRET: secret() });

const AdminConfigSchema = z.object({
  PLATFORM_ADMIN_TOKEN: z
    .string({ error: "is not set" })
    .transform((token) => token.trim())
    .pipe(z.string().min(1, "is not set")),
});

export type AppConfig = z.infer<typeof AppConfigSchema> & { corsOrigins: string[] };
export type StripeEndpoint = "platform" | "connect";
export type AuthConfig = z.infer<typeof AuthConfigSchema>;

type Parser<T> = (env: Env) => T;

function cachedSection<T>(schema: z.ZodType, code: ErrorCode, shape: (parsed: never) => T): Parser<T> {
  const cache = new WeakMap<object, T>();
  return (env) => {
    const hit = cache.get(env);
    if (hit) return hit;
    const result = schema.safeParse(env);
    if (!result.success) {
      const names = result.error.issues.map((issue) => `${issue.path.join(".")} ${issue.message}`);
      throw new ApiError(code, `Server configuration error: ${names.join("; ")}`);
    }
    const value = shape(result.data as never);
    cache.set(env, value);
    return value;
  };
}

export const appConfig: Parser<AppConfig> = cachedSection(
  AppConfigSchema,
  "not_configured",
  (parsed: z.infer<typeof AppConfigSchema>) => ({
    ...parsed,
    corsOrigins: parsed.CORS_ALLOWED_ORIGINS.split(",")
      .map((origin) => origin.trim())
      .filter(Boolean),
  }),
);

export const authConfig: Parser<AuthConfig> = cachedSection(
  AuthConfigSchema,
  "not_configured",
  (parsed: AuthConfig) => parsed,
);

/**
 * Stripe settings. Without `STRIPE_SECRET_KEY` the API host must be overridden (a local Stripe
 * double, as `npm run dev` and the tests do); otherwise Stripe routes answer 503
 * `stripe_not_configured` naming the missing setting.
 */
export const stripeConfig: Parser<StripeConfig> = cachedSection(
  StripeConfigSchema,
  "stripe_not_configured",
  (parsed: z.infer<typeof StripeConfigSchema>) => {
    const apiBase = parsed.STRIPE_API_BASE ? new URL(parsed.STRIPE_API_BASE) : null;
    if (!parsed.STRIPE_SECRET_KEY && !apiBase) {
      throw new ApiError(
        "stripe_not_configured",
        "Stripe is not configured: set STRIPE_SECRET_KEY (or STRIPE_API_BASE to a local Stripe double)",
      );
    }
    const secretKey = parsed.STRIPE_SECRET_KEY ?? "sk_test_local_stripe_double";
    return {
      secretKey,
      publishableKey: parsed.STRIPE_PUBLISHABLE_KEY || null,
      livemode: secretKey.includes("_live_"),
      apiBase,
      connectBase: new URL(
        parsed.STRIPE_CONNECT_BASE ?? parsed.STRIPE_API_BASE ?? "https://connect.stripe.com",
      ),
      connectClientId: parsed.STRIPE_CONNECT_CLIENT_ID || null,
      publicBaseUrl: parsed.PUBLIC_BASE_URL.replace(/\/+$/, ""),
      platformFeePercent: parsed.PLATFORM_FEE_PERCENT,
    };
  },
);

const webhookSecrets: Record<StripeEndpoint, Parser<string>> = {
  platform: cachedSection(
    PlatformWebhookSecretSchema,
    "stripe_not_configured",
    (parsed: z.infer<typeof PlatformWebhookSecretSchema>) => parsed.STRIPE_WEBHOOK_SECRET,
  ),
  connect: cachedSection(
    ConnectWebhookSecretSchema,
    "stripe_not_configured",
    (parsed: z.infer<typeof ConnectWebhookSecretSchema>) => parsed.STRIPE_CONNECT_WEBHOOK_SECRET,
  ),
};

/** The signing secret of a Stripe webhook endpoint; a missing one is 503 naming it. */
export const stripeWebhookSecret = (env: Env, endpoint: StripeEndpoint): string =>
  webhookSecrets[endpoint](env);

/** The platform operator's bearer token; without it every operator route is 503 `not_configured`. */
export const adminToken: Parser<string> = cachedSection(
  AdminConfigSchema,
  "not_configured",
  (parsed: z.infer<typeof AdminConfigSchema>) => parsed.PLATFORM_ADMIN_TOKEN,
);

/** Whether the benchmark's routes are on (`BENCH_BARE_ROUTE=1`, set only by `npm run bench`). */
export const benchRoutesEnabled = (env: Env): boolean => env.BENCH_BARE_ROUTE === "1";

/** Every section, each parsed (and failing with its own clear error) when first read. */
export interface Config {
  readonly app: AppConfig;
  readonly auth: AuthConfig;
  readonly stripe: StripeConfig;
  stripeWebhookSecret(endpoint: StripeEndpoint): string;
  readonly adminToken: string;
}

// Built once per env object (each section still reads the env when asked), not per request.
const configs = new WeakMap<Env, Config>();

export function configOf(env: Env): Config {
  let config = configs.get(env);
  if (!config) {
    config = sectionsOf(env);
    configs.set(env, config);
  }
  return config;
}

function sectionsOf(env: Env): Config {
  return {
    get app() {
      return appConfig(env);
    },
    get auth() {
      return authConfig(env);
    },
    get stripe() {
      return stripeConfig(env);
    },
    stripeWebhookSecret: (endpoint) => stripeWebhookSecret(env, endpoint),
    get adminToken() {
      return adminToken(env);
    },
  };
}
