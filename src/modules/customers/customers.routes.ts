import { createRoute, type RouteConfig } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../../env";
import { createRouter } from "../../lib/create-app";
import { jsonBody, jsonResponse, stripeErrorResponses, USER_OR_KEY_AUTH } from "../../lib/openapi";
import { pageBody } from "../../lib/pagination";
import { billingReaders, billingWriters } from "../api-keys/middleware";
import { billingState, billingStates, EMPTY_BILLING_STATE as noBilling } from "./billing-state";
import * as queries from "./customers.queries";
import {
  AttachPaymentMethodBody,
  CreateCustomerBody,
  CustomerIdParam,
  CustomerListResponse,
  CustomerSchema,
  CustomerWithBillingSchema,
  ListCustomersQuery,
  PaymentMethodListResponse,
  PaymentMethodParams,
  PaymentMethodSchema,
  PortalSessionBody,
  PortalSessionResponse,
  SetupIntentResponse,
  serializeCustomer,
  UpdateCustomerBody,
} from "./customers.schemas";
import * as service from "./customers.service";
import * as methods from "./payment-methods.service";

const tags = ["Customers"];
const BASE = "/api/v1/auth/customers";
const security = USER_OR_KEY_AUTH;
const who =
  "Reads: every role and secret API keys. Changes: owner, admin, billing and secret keys. A key sees and makes only its mode's customers (test or live).";

const listRoute = createRoute({
  method: "get",
  path: BASE,
  tags,
  summary: "List customers, newest first",
  description: `Filters: \`email\`, \`search\` (words as prefixes of name and email), \`created[gte]\`/\`created[lte]\`, \`metadata[key]=value\`, \`include_deleted\`, \`delinquent\`. Each customer comes with its billing state. ${who}`,
  security,
  middleware: billingReaders,
  request: { query: ListCustomersQuery },
  responses: { 200: jsonResponse(CustomerListResponse, "A page of customers"), ...stripeErrorResponses },
});

const createCustomerRoute = createRoute({
  method: "post",
  path: BASE,
  tags,
  summary: "Create a customer",
  description: `On the tenant's connected Stripe account (409 \`stripe_not_connected\` without one). \`external_id\` (your own id) is unique per mode and usable in every path as \`ext:<external_id>\`. Send \`Idempotency-Key\` to retry safely. ${who}`,
  security,
  middleware: billingWriters,
  request: { body: jsonBody(CreateCustomerBody) },
  responses: { 201: jsonResponse(CustomerSchema, "Customer created"), ...stripeErrorResponses },
});

const getRoute = createRoute({
  method: "get",
  path: `${BASE}/{id}`,
  tags,
  summary: "Get a customer (by id or ext:<external_id>), with its billing state",
  description:
    "`billing`: `delinquent` (an open invoice is overdue: a payment attempt failed, or its due date passed), the open and overdue invoices and what they still ask, per currency.",
  security,
  middleware: billingReaders,
  request: { params: CustomerIdParam },
  responses: { 200: jsonResponse(CustomerWithBillingSchema, "The customer"), ...stripeErrorResponses },
});

const updateConfig = (method: "patch" | "post") =>
  ({
    method,
    path: `${BASE}/{id}`,
    tags,
    summary: "Update a customer (PATCH, or POST as Stripe does)",
    description: `Name, email, phone, address, description, metadata (replaced whole), external_id; \`null\` clears a field. Stripe is updated first: if it refuses, nothing changes. ${who}`,
    security,
    middleware: billingWriters,
    request: { params: CustomerIdParam, body: jsonBody(UpdateCustomerBody) },
    responses: { 200: jsonResponse(CustomerSchema, "Customer updated"), ...stripeErrorResponses },
  }) satisfies RouteConfig;

const deleteRoute = createRoute({
  method: "delete",
  path: `${BASE}/{id}`,
  tags,
  summary: "Delete a customer",
  description:
    "Deleted at Stripe (which cancels its subscriptions there); kept here as `deleted: true` for history.",
  security,
  middleware: billingWriters,
  request: { params: CustomerIdParam },
  responses: { 200: jsonResponse(CustomerSchema, "Customer deleted"), ...stripeErrorResponses },
});

const setupIntentRoute = createRoute({
  method: "post",
  path: `${BASE}/{id}/setup-intent`,
  tags,
  summary: "Start collecting a card (SetupIntent for Stripe.js)",
  description:
    "Answers the SetupIntent's `client_secret`, the platform's publishable key and the connected account: pass them to Stripe.js `confirmCardSetup` on your page.",
  security,
  middleware: billingWriters,
  request: { params: CustomerIdParam },
  responses: { 201: jsonResponse(SetupIntentResponse, "SetupIntent created"), ...stripeErrorResponses },
});

const listMethodsRoute = createRoute({
  method: "get",
  path: `${BASE}/{id}/payment-methods`,
  tags,
  summary: "The customer's saved payment methods (from Stripe)",
  security,
  middleware: billingReaders,
  request: { params: CustomerIdParam },
  responses: { 200: jsonResponse(PaymentMethodListResponse, "Payment methods"), ...stripeErrorResponses },
});

const attachRoute = createRoute({
  method: "post",
  path: `${BASE}/{id}/payment-methods`,
  tags,
  summary: "Attach a payment method (a pm_... from Stripe.js, or a test one)",
  description: "`set_default` makes it the default; the customer's first method becomes the default anyway.",
  security,
  middleware: billingWriters,
  request: { params: CustomerIdParam, body: jsonBody(AttachPaymentMethodBody) },
  responses: { 201: jsonResponse(PaymentMethodSchema, "Attached"), ...stripeErrorResponses },
});

const defaultRoute = createRoute({
  method: "post",
  path: `${BASE}/{id}/payment-methods/{payment_method}/default`,
  tags,
  summary: "Make a payment method the default",
  security,
  middleware: billingWriters,
  request: { params: PaymentMethodParams },
  responses: { 200: jsonResponse(PaymentMethodSchema, "Default set"), ...stripeErrorResponses },
});

const detachRoute = createRoute({
  method: "delete",
  path: `${BASE}/{id}/payment-methods/{payment_method}`,
  tags,
  summary: "Detach a payment method",
  security,
  middleware: billingWriters,
  request: { params: PaymentMethodParams },
  responses: {
    200: jsonResponse(
      PaymentMethodSchema.extend({ detached: PaymentMethodSchema.shape.is_default }),
      "Detached",
    ),
    ...stripeErrorResponses,
  },
});

const portalRoute = createRoute({
  method: "post",
  path: `${BASE}/{id}/portal-session`,
  tags,
  summary: "A Stripe customer-portal link (update cards, cancel)",
  security,
  middleware: billingWriters,
  request: { params: CustomerIdParam, body: jsonBody(PortalSessionBody) },
  responses: { 201: jsonResponse(PortalSessionResponse, "Portal session"), ...stripeErrorResponses },
});

const update = async (c: Context<AppEnv>, id: string, body: Parameters<typeof service.updateCustomer>[2]) =>
  c.json(serializeCustomer(await service.updateCustomer(c.var.ctx, id, body)), 200);

export const customersRoutes = createRouter()
  .openapi(listRoute, async (c) => {
    const page = await queries.listCustomers(c.var.ctx, c.req.valid("query"));
    const states = await billingStates(
      c.var.ctx,
      page.page.map((row) => row.id),
    );
    return c.json(
      pageBody(page, (row) => ({ ...serializeCustomer(row), billing: states.get(row.id) ?? noBilling })),
      200,
    );
  })
  .openapi(createCustomerRoute, async (c) =>
    c.json(serializeCustomer(await service.createCustomer(c.var.ctx, c.req.valid("json"))), 201),
  )
  .openapi(getRoute, async (c) => {
    const row = await queries.findCustomer(c.var.ctx, c.req.valid("param").id);
    return c.json({ ...serializeCustomer(row), billing: await billingState(c.var.ctx, row.id) }, 200);
  })
  .openapi(updateConfig("patch"), (c) => update(c, c.req.valid("param").id, c.req.valid("json")))
  .openapi(updateConfig("post"), (c) => update(c, c.req.valid("param").id, c.req.valid("json")))
  .openapi(deleteRoute, async (c) =>
    c.json(serializeCustomer(await service.deleteCustomer(c.var.ctx, c.req.valid("param").id)), 200),
  )
  .openapi(setupIntentRoute, async (c) =>
    c.json(await methods.createSetupIntent(c.var.ctx, c.req.valid("param").id), 201),
  )
  .openapi(listMethodsRoute, async (c) =>
    c.json({ data: await methods.listPaymentMethods(c.var.ctx, c.req.valid("param").id) }, 200),
  )
  .openapi(attachRoute, async (c) =>
    c.json(await methods.attachPaymentMethod(c.var.ctx, c.req.valid("param").id, c.req.valid("json")), 201),
  )
  .openapi(defaultRoute, async (c) => {
    const { id, payment_method } = c.req.valid("param");
    return c.json(await methods.setDefaultPaymentMethod(c.var.ctx, id, payment_method), 200);
  })
  .openapi(detachRoute, async (c) => {
    const { id, payment_method } = c.req.valid("param");
    return c.json(await methods.detachPaymentMethod(c.var.ctx, id, payment_method), 200);
  })
  .openapi(portalRoute, async (c) =>
    c.json(await methods.createPortalSession(c.var.ctx, c.req.valid("param").id, c.req.valid("json")), 201),
  );
