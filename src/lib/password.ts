import { fromBase64, randomBytes, timingSafeEqualStrings, toBase64 } from "./crypto";

/**
 * PBKDF2-SHA256 through Web Crypto. workerd refuses more than 100,000 iterations, so that is
 * the count; it is stored in each hash (Django's `pbkdf2_sha256$iter$salt$hash` layout) so a
 * later raise re-hashes users on their next login instead of locking them out.
 */
export const PBKDF2_ITERATIONS = 100_000;
const ALGORITHM = "pbkdf2_sha256";
const SALT_BYTES = 16;
const HASH_BITS = 256;

const encoder = new TextEncoder();

async function derive(password: string, salt: Uint8Array, iterations: number): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    key,
    HASH_BITS,
  );
  return toBase64(bits);
}

export async function hashPassword(password: string, iterations = PBKDF2_ITERATIONS): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  return `${ALGORITHM}$${iterations}$${toBase64(salt)}$${await derive(password, salt, iterations)}`;
}

export interface PasswordCheck {
  valid: boolean;
  /** True when the stored hash used weaker parameters than today's and should be replaced. */
  needsRehash: boolean;
}

// A fixed hash verified when the user does not exist, so a login for an unknown email costs
// the same time as one with a wrong password and does not reveal which emails exist.
const DECOY_HASH = `${ALGORITHM}$${PBKDF2_ITERATIONS}$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=`;

export async function verifyPassword(
  password: string,
  stored: string | null | undefined,
): Promise<PasswordCheck> {
  const [algorithm, iterationsText, saltText, expected] = (stored ?? DECOY_HASH).split("$");
  const iterations = Number(iterationsText);
  if (algorithm !== ALGORITHM || !saltText || !expected || !Number.isInteger(iterations) || iterations < 1) {
    await derive(password, new Uint8Array(SALT_BYTES), PBKDF2_ITERATIONS);
    return { valid: false, needsRehash: false };
  }
  const actual = await derive(password, fromBase64(saltText), Math.min(iterations, PBKDF2_ITERATIONS));
  const valid = stored != null && timingSafeEqualStrings(actual, expected);
  return { valid, needsRehash: valid && iterations < PBKDF2_ITERATIONS };
}

/** The password policy; returns the reasons a password is refused, empty when it is fine. */
export function passwordProblems(password: string, email?: string): string[] {
  const problems: string[] = [];
  if (password.length < 10) problems.push("must be at least 10 characters");
  if (password.length > 128) problems.push("must be at most 128 characters");
  if (!/[A-Za-z]/.test(password) || !/[0-9]/.test(password)) problems.push("must contain letters and digits");
  const localPart = email?.split("@")[0]?.toLowerCase() ?? "";
  if (localPart.length >= 4 && password.toLowerCase().includes(localPart))
    problems.push("must not contain the email's name");
  if (/^(.)\1+$/.test(password)) problems.push("must not be a single repeated character");
  return problems;
}
