const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const encoder = new TextEncoder();

// CSPRNG bytes are drawn 4 KiB at a time and each used once (nanoid's pool): one call into the
// runtime per ~150 ids instead of one per id, which showed in a delivered event's cost.
const POOL_BYTES = 4096;
let pool = new Uint8Array(0);
let poolOffset = 0;

function randomByte(): number {
  if (poolOffset === pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(POOL_BYTES));
    poolOffset = 0;
  }
  return pool[poolOffset++] as number;
}

/**
 * `length` characters drawn uniformly from base62 with the platform CSPRNG.
 * Rejection sampling (bytes >= 248 are redrawn) keeps every character equally likely.
 */
export function randomBase62(length: number): string {
  let out = "";
  while (out.length < length) {
    const byte = randomByte();
    if (byte < 248) out += BASE62[byte % 62];
  }
  return out;
}

const ID_BODY_LENGTH = 22;
const ID_BODY = new RegExp(`^[0-9A-Za-z]{${ID_BODY_LENGTH}}$`);

/** A prefixed, non-enumerable identifier such as `ten_4f9X...` (22 base62 chars ≈ 131 bits). */
export function newId(prefix: string): string {
  return `${prefix}_${randomBase62(ID_BODY_LENGTH)}`;
}

/**
 * An id of `newId(prefix)`'s shape drawn from `seed` instead of the CSPRNG (its SHA-256 written in
 * base62): the same seed, the same id. For a create sent again whose Stripe call must be the same
 * one (same idempotency key, same parameters), seeded with the request's `idempotencyKey`.
 */
export async function idFromSeed(prefix: string, seed: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(seed)));
  let value = digest.reduce((sum, byte) => (sum << 8n) | BigInt(byte), 0n);
  let body = "";
  for (let index = 0; index < ID_BODY_LENGTH; index++) {
    body += BASE62[Number(value % 62n)];
    value /= 62n;
  }
  return `${prefix}_${body}`;
}

/** Whether `value` has the shape `newId(prefix)` gives (an id of ours carried in Stripe metadata). */
export function isIdOf(prefix: string, value: string | null): value is string {
  return value?.startsWith(`${prefix}_`) === true && ID_BODY.test(value.slice(prefix.length + 1));
}

export function randomBytes(length: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(length));
}

const HEX_OF_BYTE = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let hex = "";
  for (let i = 0; i < view.length; i++) hex += HEX_OF_BYTE[view[i] as number];
  return hex;
}

export function toBase64(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let binary = "";
  for (const byte of view) binary += String.fromCharCode(byte);
  return btoa(binary);
}

export function fromBase64(value: string): Uint8Array {
  const binary = atob(value);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

export function toBase64Url(bytes: ArrayBuffer | Uint8Array): string {
  return toBase64(bytes).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export async function sha256Hex(value: string): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", encoder.encode(value)));
}

/** Constant-time string comparison (workerd's `timingSafeEqual` needs equal lengths). */
export function timingSafeEqualStrings(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  if (left.byteLength !== right.byteLength) {
    // Compare against itself so the time spent does not depend on where the lengths differ.
    crypto.subtle.timingSafeEqual(left, left);
    return false;
  }
  return crypto.subtle.timingSafeEqual(left, right);
}

export async function hmacSha256(key: string | Uint8Array, message: string): Promise<ArrayBuffer> {
  const keyBytes = typeof key === "string" ? encoder.encode(key) : key;
  const cryptoKey = await crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(message));
}
