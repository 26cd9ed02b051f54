import { z } from "@hono/zod-openapi";

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
 * the keys we add to that object, values up to 500 characters.
 */
export const stripeMetadata = (maxKeys: number) =>
  z
    .record(MetadataKey, z.string().max(500))
    .refine((value) => Object.keys(value).length <= maxKeys, `At most ${maxKeys} metadata keys`);
