// Helpers of the self-check: assertions, a webhook receiver, and the clients every scenario uses.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import Stripe from "stripe";
import type { StripeDouble } from "./server.ts";

let current = "start";

export function step(name: string): void {
  current = name;
}

export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`${current}: ${message}`);
}

/** Runs `call` and returns the error it must throw, of class `type`. */
export async function expectError<T extends Error>(
  call: () => unknown,
  type: abstract new (...args: never[]) => T,
  what: string,
): Promise<T> {
  try {
    await call();
  } catch (err) {
    check(err instanceof type, `${what}: expected ${type.name}, got ${String(err)}`);
    return err;
  }
  throw new Error(`${current}: ${what}: expected ${type.name}, but the call succeeded`);
}

export interface Received {
  path: string;
  body: string;
  signature: string;
}

export interface Receiver {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

/** A tiny HTTP server that keeps every webhook delivery (raw body and signature). */
export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      received.push({ path: req.url ?? "", body, signature: String(req.headers["stripe-signature"] ?? "") });
      res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}

export interface Kit {
  double: StripeDouble;
  config: Stripe.StripeConfig;
  /** SDK client as the Worker builds it (retries on). */
  stripe: Stripe;
  /** Same, without retries: injected failures surface at once. */
  noRetry: Stripe;
  /** Calls a /__double control endpoint and returns its JSON. */
  control<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
}

export function makeKit(double: StripeDouble): Kit {
  const config: Stripe.StripeConfig = {
    host: "127.0.0.1",
    port: double.port,
    protocol: "http",
    httpClient: Stripe.createFetchHttpClient(),
  };
  return {
    double,
    config,
    stripe: new Stripe("sk_test_123", config),
    noRetry: new Stripe("sk_test_123", { ...config, maxNetworkRetries: 0 }),
    async control<T>(method: string, path: string, body?: unknown): Promise<T> {
      const res = await fetch(`${double.url}/__double${path}`, {
        method,
        headers: { "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      check(res.ok, `control ${method} ${path} answered ${res.status}`);
      return (await res.json()) as T;
    },
  };
}

/** A fresh, onboarded connected account: its objects are invisible to every other scenario. */
export async function freshAccount(kit: Kit, email = "tenant@example.test"): Promise<string> {
  const account = await kit.stripe.accounts.create({ type: "express", email });
  await kit.control("POST", `/accounts/${account.id}/onboard`);
  return account.id;
}

/** Events the double emitted, oldest first, optionally of one type and one account. */
export async function eventsOf(
  kit: Kit,
  filter: { type?: string; account?: string } = {},
): Promise<
  Array<{
    id: string;
    type: string;
    account?: string;
    data: { object: Record<string, unknown>; previous_attributes?: Record<string, unknown> };
  }>
> {
  const q = new URLSearchParams();
  if (filter.type) q.set("type", filter.type);
  if (filter.account) q.set("account", filter.account);
  return kit.control("GET", `/events?${q}`);
}

/** A product and a monthly price of `unitAmount` in the account. */
export async function monthlyPrice(
  kit: Kit,
  account: string | undefined,
  unitAmount: number,
  name = "Plan",
): Promise<Stripe.Price> {
  const on = account ? { stripeAccount: account } : {};
  const product = await kit.stripe.products.create({ name }, on);
  return kit.stripe.prices.create(
    { product: product.id, unit_amount: unitAmount, currency: "usd", recurring: { interval: "month" } },
    on,
  );
}

/** A customer whose default payment method is made from the test token `card`. */
export async function customerWithCard(
  kit: Kit,
  account: string | undefined,
  card = "pm_card_visa",
  extra: Stripe.CustomerCreateParams = {},
): Promise<Stripe.Customer> {
  const on = account ? { stripeAccount: account } : {};
  return kit.stripe.customers.create(
    {
      email: "payer@example.test",
      payment_method: card,
      invoice_settings: { default_payment_method: card },
      ...extra,
    },
    on,
  );
}
