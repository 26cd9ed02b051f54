import type Stripe from "stripe";

export type ConnectStatus = "onboarding" | "pending_verification" | "restricted" | "active";

/** Our one-word status of a connected account, from what Stripe says of it. */
export function accountStatus(
  account: Pick<Stripe.Account, "charges_enabled" | "payouts_enabled" | "details_submitted" | "requirements">,
): ConnectStatus {
  if (account.charges_enabled && account.payouts_enabled) return "active";
  if (account.requirements?.disabled_reason && account.details_submitted) return "restricted";
  return account.details_submitted ? "pending_verification" : "onboarding";
}
