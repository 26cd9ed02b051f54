import { z } from "@hono/zod-openapi";
import { STRIPE_EVENT_STATUSES, type StripeEventRow } from "../../db/schema";
import { PageQuery, pageShape } from "../../lib/pagination";

export const ListStripeEventsQuery = PageQuery.extend({
  status: z.enum(STRIPE_EVENT_STATUSES).optional(),
  type: z.string().trim().max(100).optional().openapi({ example: "invoice.payment_failed" }),
  tenant_id: z.string().trim().max(64).optional(),
});

export const StripeEventIdParam = z.object({
  id: z
    .string()
    .max(255)
    .openapi({ param: { name: "id", in: "path" }, example: "evt_1Q2w3E4r5T6y7U8i" }),
});

export const StripeEventSchema = z
  .object({
    id: z.string().openapi({ example: "evt_1Q2w3E4r5T6y7U8i" }),
    type: z.string().openapi({ example: "invoice.payment_failed" }),
    endpoint: z.enum(["platform", "connect"]),
    account: z.string().nullable().openapi({ description: "The connected account of a Connect event" }),
    livemode: z.boolean(),
    created: z.number().int().openapi({ description: "Stripe's `created`, unix seconds" }),
    tenant_id: z.string().nullable(),
    status: z.enum(STRIPE_EVENT_STATUSES),
    outcome: z.string().nullable(),
    attempts: z.number().int(),
    received_at: z.iso.datetime(),
    processed_at: z.iso.datetime().nullable(),
  })
  .openapi("AdminStripeEvent");

export const StripeEventDetailSchema = StripeEventSchema.extend({
  payload: z.unknown().openapi({ type: "object", description: "The event exactly as Stripe sent it" }),
}).openapi("AdminStripeEventDetail");

export const StripeEventListResponse = pageShape(StripeEventSchema).openapi("AdminStripeEventList");

export const RetryStripeEventResponse = z
  .object({
    message: z.string().openapi({ example: "Event queued for processing" }),
    event: StripeEventSchema,
  })
  .openapi("AdminStripeEventRetry");

export type StripeEventSummary = Omit<StripeEventRow, "payload">;

export const serializeStripeEvent = (row: StripeEventSummary): z.infer<typeof StripeEventSchema> => ({
  id: row.id,
  type: row.type,
  endpoint: row.endpoint,
  account: row.account,
  livemode: row.livemode,
  created: row.created,
  tenant_id: row.tenantId,
  status: row.status,
  outcome: row.outcome,
  attempts: row.attempts,
  received_at: row.receivedAt.toISOString(),
  processed_at: row.processedAt?.toISOString() ?? null,
});

function parsePayload(payload: string): unknown {
  try {
    return JSON.parse(payload);
  } catch {
    return payload;
  }
}

export const serializeStripeEventDetail = (row: StripeEventRow): z.infer<typeof StripeEventDetailSchema> => ({
  ...serializeStripeEvent(row),
  payload: parsePayload(row.payload),
});
