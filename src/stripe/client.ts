import Stripe from "stripe";
import type { StripeConfig } from "../config";
import { stripeStyleHmacHex } from "../modules/webhooks/signing";

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
  return clientFor(config.secretKey, config.apiBase);
}

/**
 * The client for Connect OAuth (`oauth.token`, `oauth.deauthorize`). The SDK sends OAuth calls to
 * the host of its instance when one is set, so a host override for the API would take them along;
 * this client's host is `STRIPE_CONNECT_BASE` instead (Stripe's own connect.stripe.com by default).
 */
export function stripeOAuthClient(config: StripeConfig): Stripe {
  const stripeOwn = config.connectBase.hostname === "connect.stripe.com" && config.apiBase === null;
  return clientFor(config.secretKey, stripeOwn ? null : config.connectBase);
}

function clientFor(secretKey: string, base: URL | null): Stripe {
  const cacheKey = `${secretKey}|${base?.href ?? ""}`;
  let client = clients.get(cacheKey);
  if (!client) {
    client = new Stripe(secretKey, {
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

/**
 * Stripe's SubtleCrypto provider for `constructEventAsync`, but with each webhook secret's HMAC
 * key imported once per isolate (the same cache that signs our own deliveries) instead of on
 * every incoming event.
 */
export const webCryptoProvider: Stripe.CryptoProvider = Object.assign(
  Object.create(Stripe.createSubtleCryptoProvider()) as Stripe.CryptoProvider,
  {
    computeHMACSignatureAsync: (payload: string, secret: string) => stripeStyleHmacHex(secret, payload),
  },
);

export type { Stripe };

/** A response header, from the fetch client's `Headers` or the Node client's plain object. */
function responseHeader(
  response: { lastResponse?: { headers: Record<string, string> | Headers } },
  name: string,
): string | null {
  const headers = response.lastResponse?.headers;
  return (headers instanceof Headers ? headers.get(name) : headers?.[name]) ?? null;
}

/**
 * Whether Stripe answered with the stored first answer of this idempotency key
 * (`Idempotent-Replayed: true`): the object as it was then, which may have changed since.
 */
export function replayedByStripe(response: { lastResponse?: { headers: Record<string, string> | Headers } }) {
  return responseHeader(response, "idempotent-replayed") === "true";
}

/**
 * When Stripe made an object or answered a call, in unix seconds on Stripe's clock: the object's
 * own `created` when asked for (a new object), else the `Date` header of the response. Changes we
 * make through the API are ordered against Stripe's events with this, never with our own clock,
 * whose skew would make Stripe's events of the same second look older (or newer) than ours.
 */
export function stripeSeconds(
  response: { created?: number; lastResponse?: { headers: Record<string, string> | Headers } },
  useCreated = false,
): number | null {
  if (useCreated && typeof response.created === "number") return response.created;
  const date = responseHeader(response, "date");
  const ms = date ? Date.parse(date) : Number.NaN;
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : null;
}
