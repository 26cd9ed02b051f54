import { createRoute } from "@hono/zod-openapi";
import type { CouponRow, CustomerDiscountRow, CustomerRow } from "../../db/schema";
import { createRouter } from "../../lib/create-app";
import { jsonBody, jsonResponse, stripeErrorResponses, USER_OR_KEY_AUTH } from "../../lib/openapi";
import { PageQuery, pageBody } from "../../lib/pagination";
import { billingReaders, billingWriters } from "../api-keys/middleware";
import {
  ApplyDiscountBody,
  CouponIdParam,
  CouponListResponse,
  CouponSchema,
  CreateCouponBody,
  CreatePromotionCodeBody,
  CustomerDiscountSchema,
  CustomerParam,
  ListCouponsQuery,
  PromotionCodeListResponse,
  PromotionCodeParams,
  PromotionCodeSchema,
  serializeCoupon,
  serializePromotionCode,
} from "./coupons.schemas";
import { createCoupon, deleteCoupon, getCoupon, listCoupons } from "./coupons.service";
import {
  getCustomerDiscount,
  removeCustomerDiscount,
  setCustomerDiscount,
} from "./customer-discounts.service";
import { createPromotionCode, deactivatePromotionCode, listPromotionCodes } from "./promotion-codes.service";

const tags = ["Coupons"];
const BASE = "/api/v1/auth/coupons";
const security = USER_OR_KEY_AUTH;
const who = "Reads: every role and secret keys; changes: owner, admin, billing and secret keys.";

const route = <T extends Parameters<typeof createRoute>[0]>(config: T) =>
  createRoute({ tags, security, ...config });

const listRoute = route({
  method: "get",
  path: BASE,
  summary: "List coupons, newest first",
  description: `Deleted ones with \`include_deleted=true\`. ${who}`,
  middleware: billingReaders,
  request: { query: ListCouponsQuery },
  responses: { 200: jsonResponse(CouponListResponse, "A page of coupons"), ...stripeErrorResponses },
});

const createCouponRoute = route({
  method: "post",
  path: BASE,
  summary: "Create a coupon (percent or amount off; once, repeating or forever)",
  description: `On the tenant's connected account; its \`id\` (yours, or generated) is the Stripe coupon's. Apply it to a subscription (\`coupon\` at creation or in a change), a one-off invoice, or a customer (\`POST /customers/{id}/discount\`). ${who}`,
  middleware: billingWriters,
  request: { body: jsonBody(CreateCouponBody) },
  responses: { 201: jsonResponse(CouponSchema, "Coupon created"), ...stripeErrorResponses },
});

const getRoute = route({
  method: "get",
  path: `${BASE}/{id}`,
  summary: "Get a coupon, with how often it was redeemed (read from Stripe)",
  middleware: billingReaders,
  request: { params: CouponIdParam },
  responses: { 200: jsonResponse(CouponSchema, "The coupon"), ...stripeErrorResponses },
});

const deleteRoute = route({
  method: "delete",
  path: `${BASE}/{id}`,
  summary: "Delete a coupon: no new redemptions; discounts made from it go on",
  middleware: billingWriters,
  request: { params: CouponIdParam },
  responses: { 200: jsonResponse(CouponSchema, "Coupon deleted"), ...stripeErrorResponses },
});

const listCodesRoute = route({
  method: "get",
  path: `${BASE}/{id}/promotion-codes`,
  summary: "The coupon's promotion codes, newest first",
  middleware: billingReaders,
  request: { params: CouponIdParam, query: PageQuery },
  responses: {
    200: jsonResponse(PromotionCodeListResponse, "A page of promotion codes"),
    ...stripeErrorResponses,
  },
});

const createCodeRoute = route({
  method: "post",
  path: `${BASE}/{id}/promotion-codes`,
  summary: "Create a promotion code (what customers type) for the coupon",
  description: `Restrict it to a customer, to first-time customers, to a minimum amount; cap its redemptions; let it expire. ${who}`,
  middleware: billingWriters,
  request: { params: CouponIdParam, body: jsonBody(CreatePromotionCodeBody) },
  responses: { 201: jsonResponse(PromotionCodeSchema, "Promotion code created"), ...stripeErrorResponses },
});

const deactivateCodeRoute = route({
  method: "post",
  path: `${BASE}/{id}/promotion-codes/{code_id}/deactivate`,
  summary: "Deactivate a promotion code",
  middleware: billingWriters,
  request: { params: PromotionCodeParams },
  responses: {
    200: jsonResponse(PromotionCodeSchema, "Promotion code deactivated"),
    ...stripeErrorResponses,
  },
});

const DISCOUNT = "/api/v1/auth/customers/{id}/discount";
const discountTags = ["Customers"];

const getDiscountRoute = route({
  method: "get",
  path: DISCOUNT,
  tags: discountTags,
  summary: "The coupon a customer carries",
  middleware: billingReaders,
  request: { params: CustomerParam },
  responses: {
    200: jsonResponse(CustomerDiscountSchema, "The customer's discount"),
    ...stripeErrorResponses,
  },
});

const setDiscountRoute = route({
  method: "post",
  path: DISCOUNT,
  tags: discountTags,
  summary: "Give a customer a coupon (or a promotion code's)",
  description: `Subscriptions and one-off invoices made for the customer afterwards that name no discount of their own get it (Stripe has no customer-level coupon at this API version, so we apply it). Replaces the one it carried. ${who}`,
  middleware: billingWriters,
  request: { params: CustomerParam, body: jsonBody(ApplyDiscountBody) },
  responses: { 200: jsonResponse(CustomerDiscountSchema, "Discount applied"), ...stripeErrorResponses },
});

const removeDiscountRoute = route({
  method: "delete",
  path: DISCOUNT,
  tags: discountTags,
  summary: "Remove a customer's coupon (discounts already made go on)",
  middleware: billingWriters,
  request: { params: CustomerParam },
  responses: { 200: jsonResponse(CustomerDiscountSchema, "Discount removed"), ...stripeErrorResponses },
});

const serializeDiscount = (view: {
  customer: CustomerRow;
  discount: Pick<CustomerDiscountRow, "promotionCodeId" | "createdAt"> | null;
  coupon: CouponRow | null;
}) => ({
  object: "customer_discount" as const,
  customer: view.customer.id,
  coupon: view.coupon ? serializeCoupon(view.coupon) : null,
  promotion_code: view.discount?.promotionCodeId ?? null,
  created_at: view.discount?.createdAt.toISOString() ?? null,
});

export const couponsRoutes = createRouter()
  .openapi(listRoute, async (c) =>
    c.json(
      pageBody(await listCoupons(c.var.ctx, c.req.valid("query")), (row) => serializeCoupon(row)),
      200,
    ),
  )
  .openapi(createCouponRoute, async (c) =>
    c.json(serializeCoupon(await createCoupon(c.var.ctx, c.req.valid("json"))), 201),
  )
  .openapi(getRoute, async (c) =>
    c.json(serializeCoupon(await getCoupon(c.var.ctx, c.req.valid("param").id)), 200),
  )
  .openapi(deleteRoute, async (c) =>
    c.json(serializeCoupon(await deleteCoupon(c.var.ctx, c.req.valid("param").id)), 200),
  )
  .openapi(listCodesRoute, async (c) => {
    const page = await listPromotionCodes(c.var.ctx, c.req.valid("param").id, c.req.valid("query"));
    return c.json(pageBody(page, serializePromotionCode), 200);
  })
  .openapi(createCodeRoute, async (c) => {
    const row = await createPromotionCode(c.var.ctx, c.req.valid("param").id, c.req.valid("json"));
    return c.json(serializePromotionCode(row), 201);
  })
  .openapi(deactivateCodeRoute, async (c) => {
    const { id, code_id } = c.req.valid("param");
    return c.json(serializePromotionCode(await deactivatePromotionCode(c.var.ctx, id, code_id)), 200);
  })
  .openapi(getDiscountRoute, async (c) =>
    c.json(serializeDiscount(await getCustomerDiscount(c.var.ctx, c.req.valid("param").id)), 200),
  )
  .openapi(setDiscountRoute, async (c) => {
    const view = await setCustomerDiscount(c.var.ctx, c.req.valid("param").id, c.req.valid("json"));
    return c.json(serializeDiscount(view), 200);
  })
  .openapi(removeDiscountRoute, async (c) =>
    c.json(serializeDiscount(await removeCustomerDiscount(c.var.ctx, c.req.valid("param").id)), 200),
  );
