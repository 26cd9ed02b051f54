import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { stripeConfig } from "../../src/config";
import { ApiError } from "../../src/lib/errors";
import { priceDisplay } from "../../src/lib/money";
import { accountStatus } from "../../src/modules/stripe-connect/account-status";
import { fromStripeError, safeStripeMessage } from "../../src/stripe/errors";

const env = (vars: Record<string, string>) => vars as unknown as Env;

describe("Stripe configuration", () => {
  it("answers 503 stripe_not_configured naming the setting when there is neither a key nor a double", () => {
    try {
      stripeConfig(env({}));
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).code).toBe("stripe_not_configured");
      expect((error as ApiError).status).toBe(503);
      expect((error as ApiError).message).toContain("STRIPE_SECRET_KEY");
    }
  });

  it("refuses a publishable key in place of the secret key, without echoing it", () => {
    try {
      stripeConfig(env({ STRIPE_SECRET_KEY: "pk_live_abcdef123456" }));
      expect.unreachable();
    } catch (error) {
      expect((error as ApiError).message).toContain("STRIPE_SECRET_KEY");
      expect((error as ApiError).message).not.toContain("abcdef123456");
    }
  });

  it("takes the mode from the key and the hosts from the overrides", () => {
    const live = stripeConfig(env({ STRIPE_SECRET_KEY: "sk_live_123" }));
    expect(live).toMatchObject({ livemode: true, apiBase: null });
    expect(live.connectBase.href).toBe("https://connect.stripe.com/");
    const local = stripeConfig(env({ STRIPE_API_BASE: "http://127.0.0.1:12111" }));
    expect(local).toMatchObject({ livemode: false, secretKey: "sk_test_local_stripe_double" });
    expect(local.connectBase.href).toBe("http://127.0.0.1:12111/");
  });
});

describe("Stripe errors", () => {
  it("masks anything shaped like a key in Stripe's messages", () => {
    expect(safeStripeMessage("Invalid API Key provided: sk_live_abcdefgh1234")).toBe(
      "Invalid API Key provided: sk_live_****",
    );
  });

  it("maps rate limits to 429 with Retry-After, a declined card to 402, and the rest to 502 with Stripe's message", () => {
    const limited = fromStripeError(
      new Stripe.errors.StripeRateLimitError({
        type: "rate_limit_error",
        message: "Too many",
        headers: { "retry-after": "3" },
      }),
    ) as ApiError;
    expect(limited.status).toBe(429);
    expect(limited.headers).toEqual({ "Retry-After": "3" });
    const declined = fromStripeError(
      new Stripe.errors.StripeCardError({
        type: "card_error",
        message: "Your card was declined.",
        code: "card_declined",
        decline_code: "generic_decline",
      }),
    ) as ApiError;
    expect(declined).toMatchObject({
      code: "payment_failed",
      status: 402,
      extra: { decline_code: "generic_decline" },
    });
    expect(declined.message).toBe("The payment failed: Your card was declined.");
    const other = new Error("not Stripe's");
    expect(fromStripeError(other)).toBe(other);
  });
});

describe("connected account status", () => {
  const requirements = (disabled: string | null) =>
    ({
      currently_due: [],
      eventually_due: [],
      past_due: [],
      disabled_reason: disabled,
    }) as unknown as Stripe.Account.Requirements;
  it.each([
    [
      {
        charges_enabled: true,
        payouts_enabled: true,
        details_submitted: true,
        requirements: requirements(null),
      },
      "active",
    ],
    [
      {
        charges_enabled: false,
        payouts_enabled: false,
        details_submitted: false,
        requirements: requirements(null),
      },
      "onboarding",
    ],
    [
      {
        charges_enabled: false,
        payouts_enabled: false,
        details_submitted: true,
        requirements: requirements(null),
      },
      "pending_verification",
    ],
    [
      {
        charges_enabled: false,
        payouts_enabled: false,
        details_submitted: true,
        requirements: requirements("requirements.past_due"),
      },
      "restricted",
    ],
  ] as const)("%o is %s", (account, status) => {
    expect(accountStatus(account)).toBe(status);
  });
});

describe("price display", () => {
  it.each([
    [2999, "usd", "month", "$29.99/month"],
    [500, "jpy", "year", "¥500/year"],
    [120000, "eur", "month", "€1,200.00/month"],
    [1000, "kwd", "month", "KWD 1.000/month"],
  ])("%i %s per %s is %s", (amount, currency, interval, shown) => {
    expect(priceDisplay(amount, currency, interval).replace(/\u00a0/g, " ")).toBe(shown);
  });
});
