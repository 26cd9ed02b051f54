import { and, desc, eq, sql } from "drizzle-orm";
import { type RequestContext, userCaller } from "../../context";
import { type AuditLogRow, auditLog } from "../../db/schema";
import { afterCursor, decodeCursor, toPage } from "../../lib/pagination";

export interface AuditQueryInput {
  limit: number;
  cursor?: string | undefined;
  action?: string | undefined;
}

/** The tenant's audit records, newest first, with cursor pagination and an action-prefix filter. */
export async function listAuditLog(ctx: RequestContext, query: AuditQueryInput) {
  const { tenantId } = userCaller(ctx);
  const after = decodeCursor(query.cursor);
  const rows = await ctx.db
    .select()
    .from(auditLog)
    .where(
      and(
        eq(auditLog.tenantId, tenantId),
        query.action
          ? sql`substr(${auditLog.action}, 1, ${query.action.length}) = ${query.action}`
          : undefined,
        afterCursor(auditLog.createdAt, auditLog.id, after),
      ),
    )
    .orderBy(desc(auditLog.createdAt), desc(auditLog.id))
    .limit(query.limit + 1);
  return toPage(rows, query.limit);
}

export const serializeAuditEntry = (row: AuditLogRow) => ({
  id: row.id,
  action: row.action,
  actor: { type: row.actorType, id: row.actorId },
  target: { type: row.targetType, id: row.targetId },
  reason: row.reason,
  metadata: row.metadata ?? null,
  request_id: row.requestId,
  created_at: row.createdAt.toISOString(),
});
