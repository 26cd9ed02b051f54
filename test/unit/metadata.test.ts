import { describe, expect, it } from "vitest";
import { stripeMetadata } from "../../src/lib/metadata";

const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, "v"]));

describe("stripeMetadata", () => {
  const schema = stripeMetadata(3);

  it("takes up to its keys, values up to 500 characters, empty values (Stripe's unset)", () => {
    expect(schema.safeParse(keys(3)).success).toBe(true);
    expect(schema.safeParse({ a: "x".repeat(500), b: "" }).success).toBe(true);
  });

  it("refuses more keys, square brackets in a key (Stripe's form encoding nests them), long keys and values", () => {
    expect(schema.safeParse(keys(4)).error?.issues[0]?.message).toBe("At most 3 metadata keys");
    for (const key of ["a[b]", "a]", "[a", "x".repeat(41), ""])
      expect(schema.safeParse({ [key]: "v" }).success, key).toBe(false);
    expect(schema.safeParse({ a: "x".repeat(501) }).success).toBe(false);
  });
});
