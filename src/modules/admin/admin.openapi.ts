import { errorResponses } from "../../lib/openapi";

export const ADMIN_TAGS = ["Platform admin"];

// Operator routes have no tenant, role or plan limit: no 402 and no 403.
const { 402: _paymentRequired, 403: _forbidden, ...shared } = errorResponses;

/** The error responses every operator route may give. */
export const adminErrors = shared;

/** Plus 502 for the routes that call Stripe. */
export const adminStripeErrors = {
  ...shared,
  502: {
    description: "Stripe failed (`stripe_error`); what succeeded before the failure is kept",
    content: errorResponses[400].content,
  },
};
