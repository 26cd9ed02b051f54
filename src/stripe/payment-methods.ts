import Stripe from "stripe";
import { ApiError } from "../lib/errors";

/**
 * Attaches a payment method (from Stripe.js, or a test one such as `pm_card_visa`) to a customer.
 * One Stripe has saved to another customer is refused as any invalid request is; that is a
 * conflict with the caller's own data, answered as 409 `conflict` rather than as Stripe failing.
 */
export async function attachPaymentMethod(
  stripe: Stripe,
  paymentMethod: string,
  customer: string,
  options: Stripe.RequestOptions = {},
): Promise<Stripe.PaymentMethod> {
  try {
    return await stripe.paymentMethods.attach(paymentMethod, { customer }, options);
  } catch (error) {
    if (!(error instanceof Stripe.errors.StripeInvalidRequestError)) throw error;
    const found = await stripe.paymentMethods.retrieve(paymentMethod, {}, options).catch(() => null);
    const owner = typeof found?.customer === "string" ? found.customer : found?.customer?.id;
    if (owner && owner !== customer) {
      throw new ApiError(
        "conflict",
        "This payment method is saved to another customer: detach it there first, or collect a new one",
        { cause: error },
      );
    }
    throw error;
  }
}
