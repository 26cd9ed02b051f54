import type { TestProject } from "vitest/node";
import { startReceiver } from "../tools/receiver/server.ts";
import { startStripeDouble } from "../tools/stripe-double/server.ts";

declare module "vitest" {
  interface ProvidedContext {
    stripeDoubleUrl: string;
    receiverUrl: string;
  }
}

/**
 * Starts, once for the whole run, the local Stripe double the Worker talks to and the webhook
 * receiver it delivers tenant events to.
 */
export default async function setup(project: TestProject) {
  const [double, receiver] = await Promise.all([startStripeDouble({ port: 0 }), startReceiver({ port: 0 })]);
  project.provide("stripeDoubleUrl", double.url);
  project.provide("receiverUrl", receiver.url);
  return async () => {
    await Promise.all([double.close(), receiver.close()]);
  };
}
