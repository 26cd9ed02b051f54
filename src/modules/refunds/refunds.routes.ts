import { createRoute } from "@hono/zod-openapi";
import { createRouter } from "../../lib/create-app";
import { jsonBody, jsonResponse, stripeErrorResponses, USER_OR_KEY_AUTH } from "../../lib/openapi";
import { pageBody } from "../../lib/pagination";
import { billingReaders, billingWriters } from "../api-keys/middleware";
import {
  CreateRefundBody,
  ListRefundsQuery,
  RefundIdParam,
  RefundListResponse,
  RefundSchema,
  serializeRefund,
} from "./refunds.schemas";
import { createRefund, findRefund, listRefunds } from "./refunds.service";

const tags = ["Refunds"];
const BASE = "/api/v1/auth/refunds";
const security = USER_OR_KEY_AUTH;
const who = "Reads: every role and secret keys; refunds: owner, admin, billing and secret keys.";

const listRoute = createRoute({
  method: "get",
  path: BASE,
  tags,
  summary: "List refunds, newest first",
  description: `Made here or at Stripe (mirrored from its events). Filters: \`invoice\`, \`customer\`, \`status\`, \`created[gte|lte]\`. ${who}`,
  security,
  middleware: billingReaders,
  request: { query: ListRefundsQuery },
  responses: { 200: jsonResponse(RefundListResponse, "A page of refunds"), ...stripeErrorResponses },
});

const createRefundRoute = createRoute({
  method: "post",
  path: BASE,
  tags,
  summary: "Refund a paid invoice's payment, whole or in part",
  description: `\`amount\` defaults to what is not refunded yet; more than that is 400, an invoice that is not paid (or refunded in full) 409. The platform's fee is refunded in the same proportion (Stripe's \`refund_application_fee\`). The invoice's \`amount_refunded\` follows; \`refund.created\` is sent. Send \`Idempotency-Key\` to retry safely. ${who}`,
  security,
  middleware: billingWriters,
  request: { body: jsonBody(CreateRefundBody) },
  responses: { 201: jsonResponse(RefundSchema, "Refund created"), ...stripeErrorResponses },
});

const getRoute = createRoute({
  method: "get",
  path: `${BASE}/{id}`,
  tags,
  summary: "Get a refund",
  security,
  middleware: billingReaders,
  request: { params: RefundIdParam },
  responses: { 200: jsonResponse(RefundSchema, "The refund"), ...stripeErrorResponses },
});

export const refundsRoutes = createRouter()
  .openapi(listRoute, async (c) =>
    c.json(pageBody(await listRefunds(c.var.ctx, c.req.valid("query")), serializeRefund), 200),
  )
  .openapi(createRefundRoute, async (c) =>
    c.json(serializeRefund(await createRefund(c.var.ctx, c.req.valid("json"))), 201),
  )
  .openapi(getRoute, async (c) =>
    c.json(serializeRefund(await findRefund(c.var.ctx, c.req.valid("param").id)), 200),
  );
