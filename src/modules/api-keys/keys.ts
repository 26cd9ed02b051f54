import type { KeyKind, KeyMode } from "../../db/schema";
import { randomBase62 } from "../../lib/crypto";

/** Format of every API key: prefix, mode, then 32 base62 characters (≈190 bits from the CSPRNG). */
export const API_KEY_PATTERN = /^(pk|sk)_(live|test)_[0-9A-Za-z]{32}$/;
const KEY_BODY_LENGTH = 32;

export const KIND_PREFIX: Record<KeyKind, "pk" | "sk"> = { publishable: "pk", secret: "sk" };

export function generateApiKey(kind: KeyKind, mode: KeyMode): string {
  return `${KIND_PREFIX[kind]}_${mode}_${randomBase62(KEY_BODY_LENGTH)}`;
}

export interface ParsedKey {
  kind: KeyKind;
  mode: KeyMode;
}

/** The kind and mode of a well-formed key, or null for anything else (cheap, before hashing). */
export function parseApiKey(raw: string): ParsedKey | null {
  if (raw.length !== 40 || !API_KEY_PATTERN.test(raw)) return null;
  return { kind: raw.startsWith("pk_") ? "publishable" : "secret", mode: raw.slice(3, 7) as KeyMode };
}

/** `sk_live_****...3456`: what the API shows of a secret key after creation. */
export function maskSecretKey(mode: KeyMode, last4: string): string {
  return `sk_${mode}_****...${last4}`;
}

/** The old platform's names for the four keys: `live_public`, `live_secret`, `test_public`, `test_secret`. */
export function seedKeyType(kind: KeyKind, mode: KeyMode): string {
  return `${mode}_${kind === "publishable" ? "public" : "secret"}`;
}

export type KeyScope = KeyMode | "all";

export function modesOf(scope: KeyScope): KeyMode[] {
  return scope === "all" ? ["live", "test"] : [scope];
}

/** How long the old keys keep working after a regenerate that asked for a rollover. */
export const ROLLOVER_WINDOWS = { "1h": 3_600_000, "24h": 86_400_000, "7d": 604_800_000 } as const;
export type RolloverWindow = keyof typeof ROLLOVER_WINDOWS;

export type KeyState = "active" | "expiring" | "expired" | "revoked";

/** The state of a key at `now`: a rolled-over key is `expiring` until its end, then `expired`. */
export function keyState(
  key: { status: "active" | "revoked"; expiresAt: Date | number | null },
  now: Date,
): KeyState {
  if (key.status === "revoked") return "revoked";
  if (key.expiresAt === null) return "active";
  return new Date(key.expiresAt).getTime() > now.getTime() ? "expiring" : "expired";
}

export const isUsable = (state: KeyState) => state === "active" || state === "expiring";
