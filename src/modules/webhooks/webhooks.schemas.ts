import { z } from "@hono/zod-openapi";
import { EVENT_STATUSES, type WebhookAttemptRow, type WebhookEventRow } from "../../db/schema";
import { PageQuery, pageShape } from "../../lib/pagination";
import { TENANT_EVENT_TYPES } from "./event-types";

const EventTypeName = z
  .string()
  .refine(
    (value) => value === "*" || (TENANT_EVENT_TYPES as readonly string[]).includes(value),
    "Unknown event type",
  )
  .openapi({ example: "invoice.payment_failed" });

export const ConfigureBody = z
  .object({
    webhook_url: z.string().max(2048).openapi({ example: "https://example.com/webhooks/billing" }),
    regenerate_secret: z
      .boolean()
      .optional()
      .openapi({ description: "Rotate the secret; the old one signs too for 24 h" }),
    enabled_events: z
      .array(EventTypeName)
      .min(1)
      .max(TENANT_EVENT_TYPES.length + 1)
      .optional()
      .openapi({ description: 'Event types to deliver; default all (`["*"]`)' }),
  })
  .openapi("ConfigureWebhookRequest");

const Instructions = z.object({
  message: z.string(),
  signature_header: z.string(),
  standard_webhooks_headers: z.array(z.string()),
  documentation: z.string(),
});

export const ConfigResponse = z
  .object({
    webhook_url: z.string().nullable(),
    webhook_secret: z.string().nullable().openapi({ example: "whsec_****...MnOp" }),
    configured: z.boolean(),
    enabled_events: z.array(z.string()),
    status: z.enum(["enabled", "disabled"]).nullable(),
    disabled_reason: z.string().nullable(),
    disabled_at: z.iso.datetime().nullable(),
    previous_secret_expires_at: z.iso.datetime().nullable(),
    instructions: Instructions,
  })
  .openapi("WebhookConfig");

export const ConfigureResponse = z
  .object({
    message: z.string(),
    webhook_url: z.string(),
    webhook_secret: z.string().openapi({ description: "In full only when it is new; masked otherwise" }),
    enabled_events: z.array(z.string()),
    test_url: z.string(),
    warning: z.string().optional(),
  })
  .openapi("ConfigureWebhookResponse");

export const RemoveResponse = z
  .object({ message: z.string(), note: z.string() })
  .openapi("RemoveWebhookResponse");

export const TestBody = z
  .object({
    event_type: z.string().min(1).max(100).optional().openapi({ example: "test.event" }),
    test_data: z
      .record(z.string(), z.unknown())
      .optional()
      .openapi({ example: { message: "This is a test" } }),
  })
  .openapi("TestWebhookRequest");

export const TestResponse = z
  .object({
    message: z.string(),
    webhook_url: z.string(),
    status_code: z.number().int(),
    response_time_ms: z.number().int(),
    response_body: z.string(),
    success: z.boolean(),
    event_sent: z.record(z.string(), z.unknown()),
  })
  .openapi("TestWebhookResponse");

export const TestFailureResponse = z
  .object({ error: z.string(), message: z.string(), webhook_url: z.string(), request_id: z.string() })
  .openapi("TestWebhookFailure");

export const DeliveryQuery = PageQuery.extend({
  status: z.enum(EVENT_STATUSES).optional(),
  event_type: z.string().max(100).optional(),
  since: z.iso.datetime().optional().openapi({ example: "2026-11-01T00:00:00Z" }),
});

export const EventIdParam = z.object({
  event_id: z
    .string()
    .max(64)
    .openapi({ param: { name: "event_id", in: "path" }, example: "evt_6u2Lq..." }),
});

const AttemptSchema = z
  .object({
    attempt: z.number().int(),
    url: z.string(),
    status_code: z.number().int().nullable(),
    outcome: z.string(),
    reason: z.string(),
    duration_ms: z.number().int(),
    response_body: z.string().nullable(),
    created_at: z.iso.datetime(),
  })
  .openapi("DeliveryAttempt");

export const DeliverySchema = z
  .object({
    event_id: z.string(),
    type: z.string(),
    status: z.enum(EVENT_STATUSES),
    attempts: z.number().int(),
    next_attempt_at: z.iso.datetime().nullable(),
    last_attempt_at: z.iso.datetime().nullable(),
    test: z
      .boolean()
      .openapi({ description: "A test send (`POST .../webhooks/test/`): sent once, never retried" }),
    delivered_at: z.iso.datetime().nullable(),
    last_error: z.string().nullable(),
    created_at: z.iso.datetime(),
  })
  .openapi("Delivery");

export const DeliveryListResponse = pageShape(DeliverySchema).openapi("DeliveryList");
export const DeliveryDetailResponse = DeliverySchema.extend({
  payload: z.record(z.string(), z.unknown()),
  attempt_log: z.array(AttemptSchema),
}).openapi("DeliveryDetail");

export const RecoverBody = z
  .object({ since: z.iso.datetime().openapi({ example: "2026-11-20T00:00:00Z" }) })
  .openapi("RecoverRequest");
export const RecoverResponse = z
  .object({ message: z.string(), requeued: z.number().int() })
  .openapi("RecoverResponse");

const iso = (date: Date | null) => date?.toISOString() ?? null;

export const serializeDelivery = (event: WebhookEventRow) => ({
  event_id: event.id,
  type: event.type,
  status: event.status,
  attempts: event.attempts,
  next_attempt_at: iso(event.nextAttemptAt),
  last_attempt_at: iso(event.lastAttemptAt),
  delivered_at: iso(event.deliveredAt),
  last_error: event.lastError,
  test: event.isTest,
  created_at: event.createdAt.toISOString(),
});

export const serializeAttempt = (attempt: WebhookAttemptRow) => ({
  attempt: attempt.attempt,
  url: attempt.url,
  status_code: attempt.statusCode,
  outcome: attempt.outcome,
  reason: attempt.reason,
  duration_ms: attempt.durationMs,
  response_body: attempt.responseBody,
  created_at: attempt.createdAt.toISOString(),
});
