// Reads of the caller's customers: one by id or external id, and the list (filters, full-text search).
import { and, desc, eq, gte, lte, type SQL, sql } from "drizzle-orm";
import type { RequestContext } from "../../context";
import { type CustomerRow, customers } from "../../db/schema";
import { ApiError, notFound, validationError } from "../../lib/errors";
import { afterCursor, decodeCursor, toPage } from "../../lib/pagination";
import { inMode, type ReadScope, readScope, visibleIn } from "../../lib/scope";
import { delinquentCondition } from "./billing-state";

const EXTERNAL_PREFIX = "ext:";

/** A customer of the caller's tenant by our id or `ext:<external_id>`; another tenant's (or mode's) is 404. */
export async function findCustomer(
  ctx: RequestContext,
  idOrExternal: string,
  scope: ReadScope = readScope(ctx),
) {
  const byExternal = idOrExternal.startsWith(EXTERNAL_PREFIX);
  const key = byExternal ? idOrExternal.slice(EXTERNAL_PREFIX.length) : idOrExternal;
  const rows = await ctx.db
    .select()
    .from(customers)
    .where(
      and(
        eq(customers.tenantId, scope.tenantId),
        byExternal ? eq(customers.externalId, key) : eq(customers.id, key),
        inMode(customers.livemode, scope),
      ),
    )
    .limit(2);
  const [row] = rows;
  if (!row || !visibleIn(row, scope)) throw notFound("Customer");
  // A user (any mode) asking by external id of which both modes have one: the live one first.
  return rows.length > 1 ? (rows.find((r) => r.livemode) ?? row) : row;
}

/** A customer that can still be billed: 409 for a deleted one. */
export async function activeCustomer(ctx: RequestContext, idOrExternal: string) {
  const customer = await findCustomer(ctx, idOrExternal);
  if (customer.status === "deleted") {
    throw new ApiError("invalid_state_transition", "This customer is deleted");
  }
  return customer;
}

export interface CustomerFilters {
  limit: number;
  cursor?: string | undefined;
  email?: string | undefined;
  search?: string | undefined;
  "created[gte]"?: string | undefined;
  "created[lte]"?: string | undefined;
  include_deleted?: "true" | "false" | undefined;
  delinquent?: "true" | "false" | undefined;
  [key: string]: string | number | undefined;
}

/**
 * `metadata[key]=value` query parameters as SQL conditions on the JSON column: the key and the
 * value are bound parameters matched against `json_each`'s entries, never a JSON path built from
 * the key (a backslash or a quote in it made a bad path, or one naming another key).
 */
function metadataConditions(filters: CustomerFilters): SQL[] {
  const conditions: SQL[] = [];
  for (const [name, value] of Object.entries(filters)) {
    const match = /^metadata\[([^\]]{1,40})\]$/.exec(name);
    if (!match?.[1] || typeof value !== "string") continue;
    conditions.push(
      sql`EXISTS (SELECT 1 FROM json_each(${customers.metadata}) WHERE json_each.key = ${match[1]} AND json_each.value = ${value})`,
    );
  }
  if (conditions.length > 5) throw validationError("metadata", "At most 5 metadata filters");
  return conditions;
}

/**
 * FTS5 query: every word as a prefix of a word of the name or email, all of them, within this
 * tenant and mode. The words are held to those two columns: the index's `scope` column (the
 * tenant id's words, "test" or "live") matched them too, so `search=test` found every customer.
 */
function searchQuery(scope: ReadScope, search: string): string | null {
  const words = search
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)
    .slice(0, 8);
  if (!words.length) return null;
  const mode = scope.livemode === null ? "" : ` ${scope.livemode ? "live" : "test"}`;
  const matches = words.map((word) => `{name email}: "${word}"*`).join(" AND ");
  return `scope:"${scope.tenantId}${mode}" AND ${matches}`;
}

/**
 * Customers newest first. With `search`, the FTS index gives this tenant's matching customers
 * newest first (by insertion) a page at a time (cursor: the index position), so a page reads
 * about a page of rows however large the tenant is; other filters apply on top of that page.
 */
export async function listCustomers(ctx: RequestContext, filters: CustomerFilters) {
  const scope = readScope(ctx);
  const filtered = (tenant: SQL, mode: SQL | undefined) =>
    and(
      tenant,
      mode,
      filters.include_deleted === "true" ? undefined : eq(customers.status, "active"),
      filters.email ? eq(customers.email, filters.email.trim().toLowerCase()) : undefined,
      filters["created[gte]"] ? gte(customers.createdAt, new Date(filters["created[gte]"])) : undefined,
      filters["created[lte]"] ? lte(customers.createdAt, new Date(filters["created[lte]"])) : undefined,
      filters.delinquent
        ? delinquentCondition(scope.tenantId, filters.delinquent === "true", ctx.clock.now())
        : undefined,
      ...metadataConditions(filters),
    );
  if (filters.search !== undefined) {
    // A search page is read by rowid; the unary `+` keeps SQLite from walking the tenant's
    // index instead (every customer of the tenant read for a page: 50,000 rows in the benchmark).
    const livemode =
      scope.livemode === null ? undefined : sql`+${customers.livemode} = ${scope.livemode ? 1 : 0}`;
    return searchCustomers(
      ctx,
      scope,
      filters,
      filtered(sql`+${customers.tenantId} = ${scope.tenantId}`, livemode),
    );
  }
  const conditions = filtered(eq(customers.tenantId, scope.tenantId), inMode(customers.livemode, scope));
  const rows = await ctx.db
    .select()
    .from(customers)
    .where(and(conditions, afterCursor(customers.createdAt, customers.id, decodeCursor(filters.cursor))))
    .orderBy(desc(customers.createdAt), desc(customers.id))
    .limit(filters.limit + 1);
  return toPage(rows, filters.limit);
}

async function searchCustomers(
  ctx: RequestContext,
  scope: ReadScope,
  filters: CustomerFilters,
  conditions: SQL | undefined,
) {
  const match = searchQuery(scope, filters.search ?? "");
  if (!match) return { page: [] as CustomerRow[], hasMore: false, nextCursor: null };
  const before = decodeSearchCursor(filters.cursor);
  const hits = await ctx.db.all<{ rowid: number }>(
    sql`SELECT rowid FROM customers_fts WHERE customers_fts MATCH ${match} ${before === null ? sql`` : sql`AND rowid < ${before}`} ORDER BY rowid DESC LIMIT ${filters.limit + 1}`,
  );
  const pageHits = hits.slice(0, filters.limit).map((hit) => hit.rowid);
  const last = pageHits.at(-1);
  const hasMore = hits.length > filters.limit;
  if (!pageHits.length) return { page: [] as CustomerRow[], hasMore: false, nextCursor: null };
  const rows = await ctx.db
    .select({ customer: customers, rowid: sql<number>`${customers}.rowid` })
    .from(customers)
    // One bound parameter for the page (D1 binds at most 100 per statement).
    .where(
      and(conditions, sql`${customers}.rowid IN (SELECT value FROM json_each(${JSON.stringify(pageHits)}))`),
    )
    .orderBy(desc(sql`${customers}.rowid`));
  return {
    page: rows.map((row) => row.customer),
    hasMore,
    nextCursor: hasMore && last !== undefined ? encodeSearchCursor(last) : null,
  };
}

const encodeSearchCursor = (rowid: number) => btoa(`search.${rowid}`).replaceAll("=", "");

function decodeSearchCursor(cursor: string | undefined): number | null {
  if (!cursor) return null;
  try {
    const [kind, position] = atob(cursor).split(".");
    const rowid = Number(position);
    if (kind === "search" && Number.isSafeInteger(rowid) && rowid > 0) return rowid;
  } catch {
    // fall through to the 400 below
  }
  throw validationError("cursor", "Invalid cursor for a search (use the next_cursor of the same search)");
}
