import { fromBase64, randomBytes, timingSafeEqualStrings, toBase64, toHex } from "../../lib/crypto";

/**
 * Both signature schemes every webhook delivery carries, so a tenant can verify with either Stripe-style
 * code or any Standard Webhooks library:
 *
 * - `X-Webhook-Signature: t=<unix>,v1=<hex>`: HMAC-SHA256 keyed by the whole `whsec_...` string over
 *   `<t>.<raw body>` (Stripe's scheme).
 * - `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>`: HMAC-SHA256 keyed by the
 *   base64-decoded part after `whsec_` over `<id>.<timestamp>.<raw body>` (Standard Webhooks).
 *
 * During a secret rotation the previous secret stays valid for 24 h, so both signatures are sent:
 * two `v1=` entries in `X-Webhook-Signature`, two space-separated entries in `webhook-signature`.
 */

export const WEBHOOK_SECRET_PREFIX = "whsec_";
/** Default accepted clock skew between the signing and the verifying side (both schemes use 5 min). */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

export interface SignatureInput {
  /** Message id, stable across retries so receivers can deduplicate. */
  id: string;
  /** Unix seconds of this attempt. */
  timestamp: number;
  /** The exact bytes sent as the request body. */
  body: string;
  /** Current secret first, then the previous one while it is still valid. */
  secrets: string[];
}

export interface SignatureHeaders extends Record<string, string> {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
  "X-Webhook-Signature": string;
}

/** `whsec_` + base64 of 32 CSPRNG bytes: the Standard Webhooks secret format. */
export function generateWebhookSecret(): string {
  return WEBHOOK_SECRET_PREFIX + toBase64(randomBytes(32));
}

/** `whsec_****...AbC=`: what the API shows of a secret after creation. */
export function maskWebhookSecret(secret: string): string {
  return `${WEBHOOK_SECRET_PREFIX}****...${secret.slice(-4)}`;
}

/** The four signature headers of one delivery attempt. */
export async function signatureHeaders(input: SignatureInput): Promise<SignatureHeaders> {
  if (input.secrets.length === 0) throw new Error("signatureHeaders needs at least one secret");
  if (!Number.isSafeInteger(input.timestamp) || input.timestamp < 0) {
    throw new Error("signatureHeaders needs a timestamp in whole unix seconds");
  }
  const stripeStyle = await Promise.all(
    input.secrets.map((secret) => stripeSignature(secret, input.timestamp, input.body)),
  );
  const standard = await Promise.all(
    input.secrets.map((secret) => standardSignature(secret, input.id, input.timestamp, input.body)),
  );
  return {
    "webhook-id": input.id,
    "webhook-timestamp": String(input.timestamp),
    "webhook-signature": standard.map((signature) => `v1,${signature}`).join(" "),
    "X-Webhook-Signature": [
      `t=${input.timestamp}`,
      ...stripeStyle.map((signature) => `v1=${signature}`),
    ].join(","),
  };
}

/**
 * Verifies `X-Webhook-Signature` the way a tenant would: any `v1=` entry matching, and `t` within
 * `toleranceSeconds` of now in either direction (a replayed or far-future delivery is refused).
 */
export async function verifyStripeStyle(
  header: string,
  body: string,
  secret: string,
  nowSeconds: number,
  toleranceSeconds = SIGNATURE_TOLERANCE_SECONDS,
): Promise<boolean> {
  let timestamp: number | null = null;
  const candidates: string[] = [];
  for (const item of header.split(",")) {
    const separator = item.indexOf("=");
    if (separator < 0) continue;
    const key = item.slice(0, separator).trim();
    const value = item.slice(separator + 1).trim();
    if (key === "t") timestamp = parseUnixSeconds(value);
    else if (key === "v1") candidates.push(value);
  }
  if (timestamp === null || candidates.length === 0) return false;
  if (!withinTolerance(timestamp, nowSeconds, toleranceSeconds)) return false;
  const expected = await stripeSignature(secret, timestamp, body);
  return anyMatches(candidates, expected);
}

/**
 * Verifies the Standard Webhooks headers: any `v1,` entry of `webhook-signature` matching, and
 * `webhook-timestamp` within `toleranceSeconds` of now in either direction.
 */
export async function verifyStandardWebhooks(
  headers: { id: string; timestamp: string; signature: string },
  body: string,
  secret: string,
  nowSeconds: number,
  toleranceSeconds = SIGNATURE_TOLERANCE_SECONDS,
): Promise<boolean> {
  const timestamp = parseUnixSeconds(headers.timestamp);
  if (timestamp === null || !withinTolerance(timestamp, nowSeconds, toleranceSeconds)) return false;
  const candidates = headers.signature
    .split(" ")
    .filter((entry) => entry.startsWith("v1,"))
    .map((entry) => entry.slice(3));
  if (candidates.length === 0) return false;
  const expected = await standardSignature(secret, headers.id, timestamp, body);
  return anyMatches(candidates, expected);
}

const encoder = new TextEncoder();
const MAX_CACHED_KEYS = 1_000;
const importedKeys = new Map<string, CryptoKey>();

/**
 * The HMAC key of a secret in one scheme, imported once per isolate: every delivery of a tenant
 * signs with the same two keys, so only the signing itself is paid per attempt. The key is kept
 * once imported, not the import's promise: requests (and the coordinator's alarm runs) share
 * this map, and one must not await a promise another one's work settles.
 */
async function hmacKey(scheme: "stripe" | "standard", secret: string): Promise<CryptoKey> {
  const cacheKey = `${scheme}:${secret}`;
  const known = importedKeys.get(cacheKey);
  if (known) return known;
  const raw = scheme === "stripe" ? encoder.encode(secret) : standardWebhooksKey(secret);
  const key = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  if (importedKeys.size >= MAX_CACHED_KEYS) importedKeys.clear();
  importedKeys.set(cacheKey, key);
  return key;
}

async function hmac(scheme: "stripe" | "standard", secret: string, message: string): Promise<ArrayBuffer> {
  return crypto.subtle.sign("HMAC", await hmacKey(scheme, secret), encoder.encode(message));
}

/** HMAC-SHA256 of `message` under a `whsec_` secret used as raw bytes (Stripe's scheme), as hex. */
export async function stripeStyleHmacHex(secret: string, message: string): Promise<string> {
  return toHex(await hmac("stripe", secret, message));
}

function stripeSignature(secret: string, timestamp: number, body: string): Promise<string> {
  return stripeStyleHmacHex(secret, `${timestamp}.${body}`);
}

async function standardSignature(
  secret: string,
  id: string,
  timestamp: number,
  body: string,
): Promise<string> {
  return toBase64(await hmac("standard", secret, `${id}.${timestamp}.${body}`));
}

/** Standard Webhooks keys HMAC with the decoded bytes after `whsec_`, not with the string itself. */
function standardWebhooksKey(secret: string): Uint8Array {
  const encoded = secret.startsWith(WEBHOOK_SECRET_PREFIX)
    ? secret.slice(WEBHOOK_SECRET_PREFIX.length)
    : secret;
  return fromBase64(encoded);
}

function parseUnixSeconds(value: string): number | null {
  if (!/^\d{1,12}$/.test(value)) return null;
  return Number(value);
}

function withinTolerance(timestamp: number, nowSeconds: number, toleranceSeconds: number): boolean {
  return Math.abs(nowSeconds - timestamp) <= toleranceSeconds;
}

/** Compares every candidate in constant time, so timing does not reveal which entry matched. */
function anyMatches(candidates: string[], expected: string): boolean {
  let matched = false;
  for (const candidate of candidates) {
    if (timingSafeEqualStrings(candidate, expected)) matched = true;
  }
  return matched;
}
