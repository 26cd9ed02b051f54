import { createRoute } from "@hono/zod-openapi";
import { createRouter } from "../../lib/create-app";
import { BEARER_AUTH, errorResponses, jsonResponse } from "../../lib/openapi";
import { PageQuery, pageBody } from "../../lib/pagination";
import { requireRole, requireUser } from "../auth/middleware";
import { AuditLogResponse, AuditQuery } from "./audit-log.schemas";
import { listAuditLog, serializeAuditEntry } from "./audit-log.service";

const listRoute = createRoute({
  method: "get",
  path: "/api/v1/auth/tenants/audit-log",
  tags: ["Audit log"],
  summary: "The tenant's audit log (owner)",
  description:
    "Security-relevant changes (registration, users and roles, API keys created, regenerated, revoked, used after revocation), newest first. Each record is written in the same D1 batch as its change.",
  security: BEARER_AUTH,
  middleware: [requireUser, requireRole("owner")],
  request: { query: PageQuery.extend(AuditQuery.shape) },
  responses: { 200: jsonResponse(AuditLogResponse, "A page of audit records"), ...errorResponses },
});

export const auditLogRoutes = createRouter().openapi(listRoute, async (c) => {
  const page = await listAuditLog(c.var.ctx, c.req.valid("query"));
  return c.json(pageBody(page, serializeAuditEntry), 200);
});
