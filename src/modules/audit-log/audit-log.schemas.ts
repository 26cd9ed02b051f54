import { z } from "@hono/zod-openapi";
import { pageShape } from "../../lib/pagination";

export const AuditEntrySchema = z
  .object({
    id: z.string(),
    action: z.string().openapi({ example: "api_keys.revoked" }),
    actor: z.object({ type: z.string(), id: z.string().nullable() }),
    target: z.object({ type: z.string().nullable(), id: z.string().nullable() }),
    reason: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()).nullable(),
    request_id: z.string().nullable(),
    created_at: z.iso.datetime(),
  })
  .openapi("AuditEntry");

export const AuditQuery = z.object({
  action: z
    .string()
    .max(100)
    .optional()
    .openapi({ description: "Only actions starting with this, e.g. `api_key`" }),
});

export const AuditLogResponse = pageShape(AuditEntrySchema).openapi("AuditLog");
