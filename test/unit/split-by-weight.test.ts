import { describe, expect, it } from "vitest";
import { splitByWeight } from "../../src/lib/split-by-weight";

const length = (text: string) => text.length;

describe("splitByWeight", () => {
  it("keeps items in order, in runs of at most the limit", () => {
    expect(splitByWeight(["aaa", "bb", "c", "dddd", "e"], length, 5)).toEqual([
      ["aaa", "bb"],
      ["c", "dddd"],
      ["e"],
    ]);
  });

  it("fills a run up to the limit exactly", () => {
    expect(splitByWeight(["aa", "aaa", "aaaaa"], length, 5)).toEqual([["aa", "aaa"], ["aaaaa"]]);
  });

  it("puts an item heavier than the limit in a run of its own", () => {
    expect(splitByWeight(["a", "bbbbbbb", "c"], length, 5)).toEqual([["a"], ["bbbbbbb"], ["c"]]);
  });

  it("answers no run for no item", () => {
    expect(splitByWeight([], length, 5)).toEqual([]);
  });
});
