import type { TestProject } from "vitest/node";
import { startStripeDouble } from "./stripe-double/server.ts";

declare module "vitest" {
  interface ProvidedContext {
    stripeDoubleUrl: string;
  }
}

/** Starts the local Stripe double once for the whole run; the Worker under test talks to it. */
export default async function setup(project: TestProject) {
  const double = await startStripeDouble({ port: 0 });
  project.provide("stripeDoubleUrl", double.url);
  return async () => {
    await double.close();
  };
}
