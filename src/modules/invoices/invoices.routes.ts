import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../../env";
import { createRouter } from "../../lib/create-app";
import { jsonBody, jsonResponse, stripeErrorResponses, USER_OR_KEY_AUTH } from "../../lib/openapi";
import { pageBody } from "../../lib/pagination";
import { billingReaders, billingWriters } from "../api-keys/middleware";
import { type InvoiceVerb, invoiceAction, type PayInput } from "./invoice-actions";
import {
  CreateInvoiceBody,
  InvoiceIdParam,
  InvoiceListResponse,
  ListInvoicesQuery,
  PayInvoiceBody,
} from "./invoice-requests";
import { findInvoice, listInvoices } from "./invoices.queries";
import { InvoiceSchema, serializeInvoice } from "./invoices.schemas";
import { createInvoice } from "./invoices.service";

const tags = ["Invoices"];
const BASE = "/api/v1/auth/invoices";
const security = USER_OR_KEY_AUTH;
const who =
  "Reads: every role and secret keys; changes: owner, admin, billing and secret keys. A verb that does not apply to the invoice's state is 409 `invalid_state_transition` naming the state.";

const listRoute = createRoute({
  method: "get",
  path: BASE,
  tags,
  summary: "List invoices, newest first",
  description: `Subscription cycles and one-off invoices, mirrored from Stripe. Filters: \`status\` (draft, open, paid, uncollectible, void), \`customer\` (id or ext:), \`subscription\`, \`created[gte|lte]\`, \`due_date[gte|lte]\`. ${who}`,
  security,
  middleware: billingReaders,
  request: { query: ListInvoicesQuery },
  responses: { 200: jsonResponse(InvoiceListResponse, "A page of invoices"), ...stripeErrorResponses },
});

const createInvoiceRoute = createRoute({
  method: "post",
  path: BASE,
  tags,
  summary: "Create a one-off invoice (a draft) for a customer",
  description: `Items are a plan's price or an amount, each × quantity. The discount is \`coupon\` or \`promotion_code\`, else the customer's own. The draft waits for \`finalize\`, which sets the platform's fee (\`application_fee_amount\` = PLATFORM_FEE_PERCENT of the total) and lets Stripe collect. Send \`Idempotency-Key\` to retry safely. ${who}`,
  security,
  middleware: billingWriters,
  request: { body: jsonBody(CreateInvoiceBody) },
  responses: { 201: jsonResponse(InvoiceSchema, "Draft invoice created"), ...stripeErrorResponses },
});

const getRoute = createRoute({
  method: "get",
  path: `${BASE}/{id}`,
  tags,
  summary: "Get an invoice: lines, discounts, tax, amounts, fee, attempts and its hosted page and PDF",
  security,
  middleware: billingReaders,
  request: { params: InvoiceIdParam },
  responses: { 200: jsonResponse(InvoiceSchema, "The invoice"), ...stripeErrorResponses },
});

const VERBS: Record<InvoiceVerb, { summary: string; description: string }> = {
  finalize: {
    summary: "Finalize a draft (draft → open)",
    description:
      "Sets the platform's fee on one-off invoices, gives the invoice its number, hosted page and PDF, and lets Stripe collect: a charge of the default payment method about an hour later with Smart Retries (`charge_automatically`), or the email (`send_invoice`).",
  },
  pay: {
    summary: "Pay now (draft or open or uncollectible → paid)",
    description:
      "Charges `payment_method`, else the invoice's or the customer's default; a draft is finalized first. `paid_out_of_band` records a payment made outside Stripe. A decline answers 402 `payment_failed` with Stripe's reason (the attempt counts).",
  },
  send: {
    summary: "Email the invoice to the customer (send_invoice invoices; a draft is finalized first)",
    description: "Stripe sends the hosted-page link; the invoice stays open until paid.",
  },
  void: {
    summary: "Void an open or uncollectible invoice (→ void, final)",
    description: "Nothing more is owed or collected. A paid invoice cannot be voided: refund it instead.",
  },
  mark_uncollectible: {
    summary: "Write off an open invoice (open → uncollectible)",
    description: "It can still be paid later, or voided.",
  },
};

const verbRoute = (verb: InvoiceVerb) =>
  createRoute({
    method: "post",
    path: `${BASE}/{id}/${verb}`,
    tags,
    summary: VERBS[verb].summary,
    description: `${VERBS[verb].description} ${who}`,
    security,
    middleware: billingWriters,
    request: {
      params: InvoiceIdParam,
      ...(verb === "pay"
        ? { body: { required: false, content: { "application/json": { schema: PayInvoiceBody } } } }
        : {}),
    },
    responses: { 200: jsonResponse(InvoiceSchema, VERBS[verb].summary), ...stripeErrorResponses },
  });

const runVerb = (verb: InvoiceVerb) => async (c: Context<AppEnv>) => {
  const { id } = c.req.valid("param" as never) as { id: string };
  const withBody = verb === "pay" && c.req.header("Content-Type")?.includes("json");
  const pay = (withBody ? c.req.valid("json" as never) : {}) as PayInput;
  const row = await invoiceAction(c.var.ctx, id, verb, pay);
  return c.json(serializeInvoice(row), 200);
};

export const invoicesRoutes = createRouter()
  .openapi(listRoute, async (c) => {
    const page = await listInvoices(c.var.ctx, c.req.valid("query"));
    return c.json(pageBody(page, serializeInvoice), 200);
  })
  .openapi(createInvoiceRoute, async (c) =>
    c.json(serializeInvoice(await createInvoice(c.var.ctx, c.req.valid("json"))), 201),
  )
  .openapi(getRoute, async (c) =>
    c.json(serializeInvoice(await findInvoice(c.var.ctx, c.req.valid("param").id)), 200),
  )
  .openapi(verbRoute("finalize"), runVerb("finalize"))
  .openapi(verbRoute("pay"), runVerb("pay"))
  .openapi(verbRoute("send"), runVerb("send"))
  .openapi(verbRoute("void"), runVerb("void"))
  .openapi(verbRoute("mark_uncollectible"), runVerb("mark_uncollectible"));
