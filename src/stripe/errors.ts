import Stripe from "stripe";
import { ApiError } from "../lib/errors";

const SECRETS = /\b(sk|rk|pk)_(live|test)_[0-9A-Za-z*]+/g;

/** Stripe's message with anything shaped like a key masked, so no secret reaches a response. */
export function safeStripeMessage(message: string): string {
  return message.replace(SECRETS, (key) => `${key.slice(0, 8)}****`);
}

/** Stripe's answer for an object it does not have (the one in the path, not a parameter's object). */
export const missingAtStripe = (error: unknown) =>
  error instanceof Stripe.errors.StripeInvalidRequestError &&
  error.code === "resource_missing" &&
  error.param === "id";

/**
 * Stripe refusing the platform an account it lost (deauthorized, or no longer there): 403,
 * `account_invalid`, "Application access may have been revoked".
 */
export const accessRevoked = (error: unknown) =>
  error instanceof Stripe.errors.StripePermissionError ||
  (error instanceof Stripe.errors.StripeError && error.code === "account_invalid");

/** Stripe's codes for a change its object's state does not allow, with the state each names. */
const STATE_ERRORS = new Map([["invalid_canceled_subscription_fields", "canceled"]]);

/**
 * A declined card as the contract's 402 `payment_failed`: Stripe's reason (masked) and decline
 * code, with what the caller adds (an invoice's pay names the invoice and its attempt).
 */
export function cardDeclined(error: Stripe.errors.StripeCardError, extra: Record<string, unknown> = {}) {
  return new ApiError("payment_failed", `The payment failed: ${safeStripeMessage(error.message)}`, {
    extra: { decline_code: error.decline_code ?? error.code ?? null, ...extra },
    cause: error,
  });
}

/**
 * Maps a Stripe SDK error to the contract (the app's error handler calls it, once for every
 * route): 429 passes on as `rate_limited` with Retry-After; a refused discount or a change the
 * object's state no longer allows is 409 `invalid_state_transition`; a declined card is 402
 * `payment_failed`; a payment method id Stripe does not have is 404 `not_found`; everything else
 * Stripe says is a 502 `stripe_error` carrying Stripe's message and code. Errors that are not
 * Stripe's are returned unchanged.
 */
export function fromStripeError(error: unknown): unknown {
  if (!(error instanceof Stripe.errors.StripeError)) return error;
  const code = error.code ?? error.type;
  if (error instanceof Stripe.errors.StripeRateLimitError) {
    const retryAfter = error.headers?.["retry-after"] ?? "1";
    return new ApiError("rate_limited", "Stripe is rate limiting requests; retry shortly", {
      headers: { "Retry-After": String(retryAfter) },
      cause: error,
    });
  }
  if (error instanceof Stripe.errors.StripeConnectionError) {
    return new ApiError("stripe_error", "Could not reach Stripe; nothing was changed. Retry shortly.", {
      cause: error,
    });
  }
  if (error instanceof Stripe.errors.StripeAuthenticationError) {
    return new ApiError("stripe_error", "Stripe refused the platform's credentials", { cause: error });
  }
  // Stripe refusing a discount itself (a coupon used up or expired there, a promotion code not
  // redeemable by this customer) is about the coupon's state, not a Stripe failure.
  if (
    error instanceof Stripe.errors.StripeInvalidRequestError &&
    (error.code === "coupon_expired" || /^discounts\[\d+\]/.test(error.param ?? ""))
  ) {
    return new ApiError(
      "invalid_state_transition",
      `Stripe refused the discount: ${safeStripeMessage(error.message)}`,
      {
        extra: { status: error.code === "coupon_expired" ? "expired" : "not_redeemable" },
        cause: error,
      },
    );
  }
  // A card Stripe declined (a subscription charged at once, a card checked as it is saved) is the
  // contract's 402 with Stripe's reason, not a Stripe failure.
  if (error instanceof Stripe.errors.StripeCardError) return cardDeclined(error);
  // A payment method id the caller gave that Stripe does not have, or not on this customer, is an
  // unknown object named in the request (404, as for plans and customers), not a Stripe failure.
  if (
    error instanceof Stripe.errors.StripeInvalidRequestError &&
    error.code === "resource_missing" &&
    /(^|_)payment_method\]?$/.test(error.param ?? "")
  ) {
    return new ApiError("not_found", `Payment method not found: ${safeStripeMessage(error.message)}`, {
      cause: error,
    });
  }
  // Stripe refusing a change its object's state no longer allows (a subscription it canceled before
  // the mirror heard of it) is the contract's refused transition, not a Stripe failure.
  const state =
    error instanceof Stripe.errors.StripeInvalidRequestError && STATE_ERRORS.get(error.code ?? "");
  if (state) {
    return new ApiError(
      "invalid_state_transition",
      `Stripe refused the change: ${safeStripeMessage(error.message)}`,
      {
        extra: { status: state },
        cause: error,
      },
    );
  }
  const decline = error.decline_code ? `, ${error.decline_code}` : "";
  return new ApiError("stripe_error", `Stripe: ${safeStripeMessage(error.message)} (${code}${decline})`, {
    cause: error,
  });
}
