import { and, desc, eq, gte, lte, ne, type SQL, sql } from "drizzle-orm";
import type Stripe from "stripe";
import type { RequestContext } from "../../context";
import { type CustomerRow, customers, type PostalAddress } from "../../db/schema";
import { newId } from "../../lib/crypto";
import { uniqueViolation } from "../../lib/db-errors";
import { ApiError, notFound, validationError } from "../../lib/errors";
import { afterCursor, decodeCursor, toPage } from "../../lib/pagination";
import { inMode, type ReadScope, readScope, visibleIn, writeScope } from "../../lib/scope";
import { stripeSeconds } from "../../stripe/client";
import { withStripeUndo } from "../../stripe/undo";
import { createdByApi } from "../billing-mirror/api-created";
import { type ConnectedTenant, connectedTenant } from "../stripe-connect/connected-account";
import { commitChange } from "../webhooks/outbox";
import { delinquentCondition } from "./billing-state";
import { serializeCustomer } from "./customers.schemas";

const EXTERNAL_PREFIX = "ext:";

const externalIdTaken = () =>
  new ApiError("conflict", "Another customer of this tenant already has this external_id");

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

export interface CustomerInput {
  email?: string | null | undefined;
  name?: string | null | undefined;
  phone?: string | null | undefined;
  description?: string | null | undefined;
  address?: PostalAddress | null | undefined;
  metadata?: Record<string, string> | undefined;
  external_id?: string | null | undefined;
}

/** Our metadata on the Stripe customer: what finds it again, over the tenant's own keys. */
const stripeMetadata = (
  tenantId: string,
  id: string,
  input: CustomerInput,
  previous: Record<string, string> = {},
) => {
  const metadata = input.metadata ?? previous;
  const removed = Object.fromEntries(
    Object.keys(previous)
      .filter((k) => !(k in metadata))
      .map((k) => [k, ""]),
  );
  return {
    ...removed,
    ...metadata,
    tenant_id: tenantId,
    customer_id: id,
    external_id: input.external_id ?? "",
  };
};

/** Stripe's customer fields from ours; `null` clears a field, undefined leaves it. */
function stripeFields(input: CustomerInput) {
  const clear = <T>(value: T | null | undefined) => (value === null ? "" : value);
  const fields: Stripe.CustomerUpdateParams = {};
  if (input.email !== undefined) fields.email = clear(input.email);
  if (input.name !== undefined) fields.name = clear(input.name);
  if (input.phone !== undefined) fields.phone = clear(input.phone);
  if (input.description !== undefined) fields.description = clear(input.description);
  if (input.address !== undefined)
    fields.address = input.address === null ? "" : (input.address as Stripe.AddressParam);
  return fields;
}

const normalEmail = (email: string | null | undefined) => (email ? email.trim().toLowerCase() : email);

/**
 * The row's watermark after Stripe answered a change of ours: the answer's time on Stripe's clock
 * (`stripeSeconds`), never earlier than before, so an event of an older snapshot (a Stripe retry)
 * does not undo our change.
 */
function watermark(current: CustomerRow, answer: Parameters<typeof stripeSeconds>[0]): number | null {
  const stamp = stripeSeconds(answer);
  return stamp === null ? current.lastEventCreated : Math.max(stamp, current.lastEventCreated ?? 0);
}

/**
 * Where the API's write of a customer may land, ordered on Stripe's clock like every mirror
 * write: not over a state the mirror stored meanwhile from a newer event (`newer`, the test the
 * tenant event's `unlessRecorded` makes).
 */
function ordered(id: string, stamp: number | null) {
  const stored = customers.lastEventCreated;
  const newer = stamp === null ? sql`${stored} IS NOT NULL` : sql`${stored} > ${stamp}`;
  return {
    where: and(eq(customers.id, id), sql`NOT (${newer})`),
    unlessRecorded: sql`SELECT 1 FROM ${customers} WHERE ${customers.id} = ${id} AND ${newer}`,
  };
}

/**
 * Creates the customer on the tenant's connected account (idempotency key from our new id), then
 * one D1 batch (row, `customer.created` event, audit). A taken `external_id` is refused before
 * Stripe is called, and again by the unique index (the Stripe customer is then deleted).
 */
export async function createCustomer(ctx: RequestContext, input: CustomerInput) {
  const scope = writeScope(ctx);
  const tenant = await connectedTenant(ctx, scope.tenantId, "creating customers");
  const email = normalEmail(input.email);
  if (input.external_id) await assertExternalIdFree(ctx, scope, input.external_id);
  const id = newId("cust");
  const stripeAccount = tenant.stripeConnectAccountId;
  return withStripeUndo(ctx, async (undo) => {
    const created = await ctx.stripe.customers.create(
      {
        ...stripeFields({ ...input, email }),
        metadata: stripeMetadata(tenant.id, id, input),
      } as Stripe.CustomerCreateParams,
      { stripeAccount, idempotencyKey: `customer:${id}` },
    );
    undo.push(`delete customer ${created.id}`, () =>
      ctx.stripe.customers.del(created.id, {}, { stripeAccount }),
    );
    const now = ctx.clock.now();
    const row: CustomerRow = {
      id,
      tenantId: tenant.id,
      livemode: created.livemode,
      externalId: input.external_id ?? null,
      stripeCustomerId: created.id,
      email: email ?? null,
      name: input.name ?? null,
      phone: input.phone ?? null,
      description: input.description ?? null,
      address: input.address ?? null,
      metadata: input.metadata ?? {},
      status: "active",
      defaultPaymentMethod: null,
      deletedAt: null,
      lastEventCreated: created.created,
      createdAt: now,
      updatedAt: now,
    };
    await commit(ctx, tenant, row, {
      ...createdByApi(
        ctx.db,
        customers,
        { column: customers.stripeCustomerId, value: row.stripeCustomerId },
        row,
      ),
      type: "customer.created",
    });
    return row;
  });
}

async function assertExternalIdFree(
  ctx: RequestContext,
  scope: { tenantId: string; livemode: boolean },
  externalId: string,
  exceptId?: string,
) {
  const clash = await ctx.db
    .select({ id: customers.id })
    .from(customers)
    .where(
      and(
        eq(customers.tenantId, scope.tenantId),
        eq(customers.livemode, scope.livemode),
        eq(customers.externalId, externalId),
        exceptId ? ne(customers.id, exceptId) : undefined,
      ),
    )
    .get();
  if (clash) throw externalIdTaken();
}

function commit(
  ctx: RequestContext,
  tenant: ConnectedTenant,
  row: CustomerRow,
  change: {
    statement: Parameters<typeof commitChange>[1]["statements"][number];
    type: string;
    metadata?: Record<string, unknown>;
    unlessRecorded?: SQL;
  },
) {
  return commitChange(ctx, {
    tenant,
    statements: [change.statement],
    ...(change.unlessRecorded ? { unlessRecorded: change.unlessRecorded } : {}),
    event: { type: change.type, object: serializeCustomer(row), livemode: row.livemode },
    audit: {
      action: change.type,
      targetType: "customer",
      targetId: row.id,
      ...(change.metadata ? { metadata: change.metadata } : {}),
    },
  }).catch((error: unknown) => {
    throw uniqueViolation(error) ? externalIdTaken() : error;
  });
}

/**
 * Updates name, email, phone, address, description, metadata, external_id: Stripe first (a
 * refusal changes nothing here), then D1; if D1 fails, Stripe's customer is put back.
 */
export async function updateCustomer(ctx: RequestContext, idOrExternal: string, input: CustomerInput) {
  // Found first: a key of the other mode gets 404 for an object it cannot see, as reads do.
  const current = await activeCustomer(ctx, idOrExternal);
  const scope = writeScope(ctx);
  if (current.livemode !== scope.livemode) throw notFound("Customer");
  if (input.external_id) await assertExternalIdFree(ctx, scope, input.external_id, current.id);
  const tenant = await connectedTenant(ctx, scope.tenantId, "changing customers");
  const email = input.email === undefined ? undefined : normalEmail(input.email);
  const next: CustomerRow = {
    ...current,
    email: email === undefined ? current.email : email,
    name: input.name === undefined ? current.name : input.name,
    phone: input.phone === undefined ? current.phone : input.phone,
    description: input.description === undefined ? current.description : input.description,
    address: input.address === undefined ? current.address : input.address,
    metadata: input.metadata ?? current.metadata,
    externalId: input.external_id === undefined ? current.externalId : input.external_id,
    updatedAt: ctx.clock.now(),
  };
  const stripeAccount = tenant.stripeConnectAccountId;
  const asStripe = (row: CustomerRow, previous: Record<string, string>) => ({
    ...stripeFields({
      email: row.email,
      name: row.name,
      phone: row.phone,
      description: row.description,
      address: row.address,
    }),
    metadata: stripeMetadata(
      tenant.id,
      row.id,
      { metadata: row.metadata, external_id: row.externalId },
      previous,
    ),
  });
  return withStripeUndo(ctx, async (undo) => {
    const answer = await ctx.stripe.customers.update(
      current.stripeCustomerId,
      asStripe(next, current.metadata),
      { stripeAccount },
    );
    undo.push(`restore customer ${current.stripeCustomerId}`, () =>
      ctx.stripe.customers.update(current.stripeCustomerId, asStripe(current, next.metadata), {
        stripeAccount,
      }),
    );
    // Stamped with Stripe's time of this change: a state the mirror stored from a later event
    // (read with `current` or since) stays.
    const updated: CustomerRow = {
      ...next,
      lastEventCreated: stripeSeconds(answer) ?? current.lastEventCreated,
    };
    const { email, name, phone, description, address, metadata, externalId, lastEventCreated, updatedAt } =
      updated;
    // A newer state stored meanwhile (a Connect event of a later change) stays, untold again,
    // and is the answer.
    const { where, unlessRecorded } = ordered(current.id, lastEventCreated);
    const told = await commit(ctx, tenant, updated, {
      statement: ctx.db
        .update(customers)
        .set({ email, name, phone, description, address, metadata, externalId, lastEventCreated, updatedAt })
        .where(where),
      unlessRecorded,
      type: "customer.updated",
      metadata: { fields: Object.keys(input) },
    });
    return told ? updated : await findCustomer(ctx, current.id);
  });
}

/**
 * Deletes the customer at Stripe (which cancels its subscriptions there); the mirror keeps it as
 * `deleted`, for good (Stripe's deletion is final: no later event of the customer revives it).
 */
export async function deleteCustomer(ctx: RequestContext, idOrExternal: string) {
  const current = await findCustomer(ctx, idOrExternal);
  const scope = writeScope(ctx);
  if (current.livemode !== scope.livemode) throw notFound("Customer");
  if (current.status === "deleted") return current;
  const tenant = await connectedTenant(ctx, scope.tenantId, "deleting customers");
  const answer = await ctx.stripe.customers.del(
    current.stripeCustomerId,
    {},
    { stripeAccount: tenant.stripeConnectAccountId },
  );
  const now = ctx.clock.now();
  const lastEventCreated = watermark(current, answer);
  const deleted: CustomerRow = {
    ...current,
    status: "deleted",
    deletedAt: now,
    lastEventCreated,
    updatedAt: now,
  };
  // Deletion is final whatever the mirror stored meanwhile; its watermark never goes back.
  const stored = customers.lastEventCreated;
  await commit(ctx, tenant, deleted, {
    statement: ctx.db
      .update(customers)
      .set({
        status: "deleted",
        deletedAt: now,
        // SQLite's max() is null when either is: then whichever is not.
        lastEventCreated: sql`coalesce(max(${stored}, ${lastEventCreated}), ${stored}, ${lastEventCreated})`,
        updatedAt: now,
      })
      .where(eq(customers.id, current.id)),
    type: "customer.deleted",
  });
  return deleted;
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

/** `metadata[key]=value` query parameters as SQL conditions on the JSON column. */
function metadataConditions(filters: CustomerFilters): SQL[] {
  const conditions: SQL[] = [];
  for (const [name, value] of Object.entries(filters)) {
    const match = /^metadata\[([^\]]{1,40})\]$/.exec(name);
    if (!match?.[1] || typeof value !== "string") continue;
    conditions.push(
      sql`json_extract(${customers.metadata}, ${`$."${match[1].replaceAll('"', "")}"`}) = ${value}`,
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
