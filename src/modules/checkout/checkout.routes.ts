import { createRoute } from "@hono/zod-openapi";
import { createRouter } from "../../lib/create-app";
import { jsonBody, jsonResponse, stripeErrorResponses, USER_OR_KEY_AUTH } from "../../lib/openapi";
import { requireUserOrApiKey } from "../api-keys/middleware";
import { requireRoleUnlessApiKey } from "../auth/middleware";
import { CheckoutSchema, CreateCheckoutBody, serializeCheckout } from "./checkout.schemas";
import { createCheckoutSession } from "./checkout.service";

const createRouteConfig = createRoute({
  method: "post",
  path: "/api/v1/auth/checkout/sessions",
  tags: ["Checkout"],
  summary: "Open a Stripe Checkout session for a plan (subscription mode)",
  description:
    "Send the customer's browser to the answer's `url`; Stripe collects the card and creates the subscription on the tenant's connected account, with the platform's fee. Completion arrives as the `checkout.completed` tenant event (and the customer and subscription appear in the API). Owner, admin, billing and secret keys; a publishable key too (pricing page → checkout), for a visible plan and a new customer only, redirecting to the tenant's domain when it has one.",
  security: USER_OR_KEY_AUTH,
  middleware: [
    requireUserOrApiKey(["secret", "publishable"]),
    requireRoleUnlessApiKey("owner", "admin", "billing"),
  ],
  request: { body: jsonBody(CreateCheckoutBody) },
  responses: { 201: jsonResponse(CheckoutSchema, "Checkout session opened"), ...stripeErrorResponses },
});

export const checkoutRoutes = createRouter().openapi(createRouteConfig, async (c) =>
  c.json(serializeCheckout(await createCheckoutSession(c.var.ctx, c.req.valid("json"))), 201),
);
