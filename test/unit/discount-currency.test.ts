// The currency rule of discounts, on its own: which discounts apply to money in which currency.
import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/lib/errors";
import { assertDiscountCurrency } from "../../src/modules/coupons/discount-currency";

const coupon = (currency: string | null) => ({ id: "SAVE5", currency });
const refusal = (run: () => void) => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return { code: (error as ApiError).code, details: (error as ApiError).details };
  }
  throw new Error("not refused");
};

describe("assertDiscountCurrency", () => {
  it("no discount, a percent-off coupon, or an amount off in the same currency: applies", () => {
    expect(() => assertDiscountCurrency(null, "usd")).not.toThrow();
    expect(() => assertDiscountCurrency({ coupon: coupon(null), promotionCode: null }, "eur")).not.toThrow();
    expect(() => assertDiscountCurrency({ coupon: coupon("usd"), promotionCode: null }, "usd")).not.toThrow();
    expect(() =>
      assertDiscountCurrency({ coupon: coupon("usd"), promotionCode: { code: "HELLO" } }, "USD"),
    ).not.toThrow();
  });

  it("an amount off in another currency: 400 validation_error on the field that named it", () => {
    expect(
      refusal(() => assertDiscountCurrency({ coupon: coupon("eur"), promotionCode: null }, "usd")),
    ).toEqual({
      code: "validation_error",
      details: [{ field: "coupon", message: expect.stringMatching(/SAVE5.*eur.*usd/) }],
    });
    expect(
      refusal(() =>
        assertDiscountCurrency({ coupon: coupon("eur"), promotionCode: { code: "HELLO" } }, "usd"),
      ),
    ).toEqual({
      code: "validation_error",
      details: [{ field: "promotion_code", message: expect.stringMatching(/HELLO.*eur.*usd/) }],
    });
  });
});
