import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/lib/errors";
import { decodeCursor, encodeCursor } from "../../src/lib/pagination";

const cursorOf = (text: string) => btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

describe("list cursors", () => {
  it("round-trip a position", () => {
    const position = { createdAt: new Date(1_764_000_000_123), id: "aud_abc.def" };
    expect(decodeCursor(encodeCursor(position))).toEqual(position);
  });

  it.each([
    ["not base64", "!!!"],
    ["no time", cursorOf(".aud_1")],
    ["no id", cursorOf("1764000000000.")],
    ["a time that is no number", cursorOf("soon.aud_1")],
    ["a time before 1970", cursorOf("-1.aud_1")],
    ["a time past what a Date holds", cursorOf("9000000000000000.aud_1")],
  ])("refuse %s with 400 validation_error on `cursor`", (_label, cursor) => {
    const refusal = (() => {
      try {
        decodeCursor(cursor);
        return null;
      } catch (error) {
        return error;
      }
    })();
    expect(refusal).toBeInstanceOf(ApiError);
    expect(refusal).toMatchObject({ status: 400, code: "validation_error" });
  });
});
