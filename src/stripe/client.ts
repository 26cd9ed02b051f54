import Stripe from "stripe";
import type { StripeConfig } from "../config";

/** The API version every call is pinned to (the SDK's own), so Stripe upgrades never surprise us. */
export const STRIPE_API_VERSION = "2026-10-28.endive" as const;

const clients = new Map<string, Stripe>();

/**
 * The one place a Stripe client is built: fetch HTTP client (Workers have no Node http),
 * SubtleCrypto for webhook signatures, pinned API version, and the API host overridable by
 * `STRIPE_API_BASE` (a local Stripe double in development and tests). The SDK retries network
 * failures and 409/429/5xx twice, with the same idempotency key. Clients are reused per isolate.
 */
export function stripeClient(config: StripeConfig): Stripe {
  const cacheKey = `${config.secretKey}|${config.apiBase?.href ?? ""}`;
  let client = clients.get(cacheKey);
  if (!client) {
    const base = config.apiBase;
    client = new Stripe(config.secretKey, {
      apiVersion: STRIPE_API_VERSION,
      httpClient: Stripe.createFetchHttpClient(),
      maxNetworkRetries: 2,
      timeout: 10_000,
      appInfo: { name: "edge-billing", version: "1.0.0" },
      ...(base
        ? {
            host: base.hostname,
            port: base.port || (base.protocol === "https:" ? 443 : 80),
            protocol: base.protocol === "https:" ? "https" : "http",
          }
        : {}),
    } as Stripe.StripeConfig);
    clients.set(cacheKey, client);
  }
  return client;
}

export const webCryptoProvider = Stripe.createSubtleCryptoProvider();

export type { Stripe };
