import { z } from "@hono/zod-openapi";

/** The most metadata keys Stripe keeps on an object, ours included. */
export const STRIPE_METADATA_KEYS = 50;

/**
 * A metadata key as Stripe takes it: 1 to 40 characters and no square brackets, which Stripe's form
 * encoding would read as nesting (the pair would be lost, or refused).
 */
const MetadataKey = z
  .string()
  .min(1)
  .max(40)
  .regex(/^[^[\]]+$/, "A metadata key takes no square brackets");

/**
 * The metadata a request sets on a Stripe object: at most `maxKeys` keys, which is Stripe's 50 less
 * the keys we add to that object, values up to 500 characters. Our own keys (`ownKeys`) are
 * refused: ours would overwrite the tenant's at Stripe, and reads leave them out.
 */
export const stripeMetadata = (maxKeys: number, ownKeys: readonly string[] = []) =>
  z
    .record(MetadataKey, z.string().max(500))
    .refine((value) => Object.keys(value).length <= maxKeys, `At most ${maxKeys} metadata keys`)
    .refine(
      (value) => !ownKeys.some((key) => key in value),
      `${ownKeys.join(", ")} are the platform's own keys on this object`,
    );

/** The tenant's part of a Stripe object's metadata: its string values, without our own keys. */
export function tenantMetadataOf(metadata: unknown, ownKeys: readonly string[]): Record<string, string> {
  if (!metadata || typeof metadata !== "object") return {};
  return Object.fromEntries(
    Object.entries(metadata).filter(
      (entry): entry is [string, string] => typeof entry[1] === "string" && !ownKeys.includes(entry[0]),
    ),
  );
}
