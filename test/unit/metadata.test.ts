import { describe, expect, it } from "vitest";
import { stripeMetadata, tenantMetadataOf } from "../../src/lib/metadata";

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

  it("refuses the platform's own keys of the object, and reads leave them out", () => {
    const ours = stripeMetadata(40, ["tenant_id", "invoice_id"]);
    expect(ours.safeParse({ order: "A" }).success).toBe(true);
    expect(ours.safeParse({ invoice_id: "crm-1" }).error?.issues[0]?.message).toMatch(
      /tenant_id, invoice_id/,
    );
    expect(tenantMetadataOf({ tenant_id: "t", order: "A", n: 1 }, ["tenant_id"])).toEqual({ order: "A" });
    expect(tenantMetadataOf(null, ["tenant_id"])).toEqual({});
  });
});
