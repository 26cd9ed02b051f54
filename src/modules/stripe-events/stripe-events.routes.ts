import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { StripeEndpoint } from "../../config";
import type { AppEnv } from "../../env";
import { createRouter } from "../../lib/create-app";
import { jsonResponse, publicErrorResponses } from "../../lib/openapi";
import { ingestStripeEvent, verifyStripeEvent } from "./ingest.service";

const Received = z
  .object({ received: z.literal(true), duplicate: z.boolean() })
  .openapi("StripeWebhookReceived");

const route = (path: string, endpoint: StripeEndpoint, alias = false) =>
  createRoute({
    method: "post",
    path,
    tags: ["Stripe webhooks"],
    summary: alias
      ? `Alias of ${endpoint === "platform" ? "/webhooks/stripe" : "/webhooks/stripe/connect"} (old platform path)`
      : endpoint === "platform"
        ? "Platform account events from Stripe"
        : "Connect events (connected accounts) from Stripe",
    description:
      "Verifies `Stripe-Signature` on the raw body (300 s tolerance; 400 otherwise, nothing recorded), records the event once by its id (a duplicate answers 200 and does nothing), enqueues it and answers at once; processing is asynchronous, in the tenant's Durable Object.",
    responses: { 200: jsonResponse(Received, "Recorded (or already recorded)"), ...publicErrorResponses },
  });

const receive = (endpoint: StripeEndpoint) => async (c: Context<AppEnv>) => {
  const { ctx } = c.var;
  const rawBody = await c.req.text();
  const event = await verifyStripeEvent(
    rawBody,
    c.req.header("Stripe-Signature"),
    ctx.config.stripeWebhookSecret(endpoint),
  );
  const { duplicate } = await ingestStripeEvent(ctx, endpoint, event, rawBody);
  return c.json({ received: true as const, duplicate }, 200);
};

/** The platform endpoint, the Connect endpoint, and the old platform's paths as aliases. */
export const stripeEventsRoutes = createRouter()
  .openapi(route("/webhooks/stripe", "platform"), receive("platform"))
  .openapi(route("/webhooks/stripe/connect", "connect"), receive("connect"))
  .openapi(route("/webhooks/stripe/account", "platform", true), receive("platform"))
  .openapi(route("/webhooks/stripe/payment", "platform", true), receive("platform"))
  .openapi(route("/webhooks/stripe/subscription", "platform", true), receive("platform"))
  .openapi(route("/api/webhooks/stripe", "platform", true), receive("platform"));
