import { describe, expect, it } from "vitest";
import { idFromSeed, isIdOf, newId, randomBase62, timingSafeEqualStrings } from "../../src/lib/crypto";
import { nextFreeSlug, slugify } from "../../src/lib/slug";

describe("ids and random strings", () => {
  it("draws base62 characters of the requested length, roughly uniformly", () => {
    const sample = randomBase62(62_000);
    expect(sample).toMatch(/^[0-9A-Za-z]{62000}$/);
    const counts = new Map<string, number>();
    for (const ch of sample) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    expect(counts.size).toBe(62);
    for (const n of counts.values()) expect(n).toBeGreaterThan(700);
  });

  it("never hands out the same random bytes twice across refills of its byte pool", () => {
    const ids = Array.from({ length: 10_000 }, () => newId("evt"));
    expect(new Set(ids).size).toBe(10_000);
  });

  it("prefixes ids", () => {
    expect(newId("ten")).toMatch(/^ten_[0-9A-Za-z]{22}$/);
  });

  it("draws an id of the same shape from a seed: the same seed, the same id", async () => {
    const id = await idFromSeed("rfnd", "refund\nkey-1");
    expect(isIdOf("rfnd", id)).toBe(true);
    expect(await idFromSeed("rfnd", "refund\nkey-1")).toBe(id);
    expect(await idFromSeed("rfnd", "refund\nkey-2")).not.toBe(id);
  });

  it("compares strings in constant time, including different lengths", () => {
    expect(timingSafeEqualStrings("abc", "abc")).toBe(true);
    expect(timingSafeEqualStrings("abc", "abd")).toBe(false);
    expect(timingSafeEqualStrings("abc", "abcd")).toBe(false);
  });
});

describe("slugs", () => {
  it.each([
    ["Acme Corp", "acme-corp"],
    ["  Café Ünïcorn, Inc. ", "cafe-unicorn-inc"],
    ["!!!", "tenant"],
    ["a".repeat(80), "a".repeat(48)],
  ])("slugify(%s) = %s", (name, slug) => {
    expect(slugify(name)).toBe(slug);
  });

  it("picks the first free suffix", () => {
    expect(nextFreeSlug("acme", [])).toBe("acme");
    expect(nextFreeSlug("acme", ["acme", "acme-2", "acme-4"])).toBe("acme-3");
  });
});
