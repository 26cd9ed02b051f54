import { and, eq, ne, type SQL, sql } from "drizzle-orm";
import type Stripe from "stripe";
import type { RequestContext } from "../../context";
import { type CustomerRow, customers, type PostalAddress } from "../../db/schema";
import { newId } from "../../lib/crypto";
import { uniqueViolation } from "../../lib/db-errors";
import { notFound, validationError } from "../../lib/errors";
import { STRIPE_METADATA_KEYS } from "../../lib/metadata";
import { writeScope } from "../../lib/scope";
import { stripeSeconds } from "../../stripe/client";
import { missingAtStripe } from "../../stripe/errors";
import { withStripeUndo } from "../../stripe/undo";
import { createdByApi } from "../billing-mirror/api-created";
import { customerLands, customerPassed } from "../billing-mirror/row-guards";
import { type ConnectedTenant, connectedTenant } from "../stripe-connect/connected-account";
import { commitChange } from "../webhooks/outbox";
import { activeCustomer, findCustomer } from "./customers.queries";
import { MAX_CUSTOMER_METADATA_KEYS, serializeCustomer } from "./customers.schemas";
import { assertExternalIdFree, externalIdTaken, withExternalIdClaim } from "./external-id";

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
const customerStripeMetadata = (
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
 * write: not over a state the mirror stored meanwhile from a newer event, nor over a deletion it
 * stored of the same second (`customerLands`, whose negation the tenant event's `unlessRecorded` is).
 */
function ordered(row: CustomerRow) {
  return {
    where: and(eq(customers.id, row.id), customerLands(row)),
    unlessRecorded: customerPassed(row),
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
  const externalId = input.external_id;
  if (!externalId) return createAtStripe(ctx, tenant, input);
  return withExternalIdClaim(ctx, scope, externalId, async () => {
    await assertExternalIdFree(ctx, scope, externalId);
    return createAtStripe(ctx, tenant, input);
  });
}

async function createAtStripe(ctx: RequestContext, tenant: ConnectedTenant, input: CustomerInput) {
  const email = normalEmail(input.email);
  const id = newId("cust");
  const stripeAccount = tenant.stripeConnectAccountId;
  return withStripeUndo(ctx, async (undo) => {
    const created = await ctx.stripe.customers.create(
      {
        ...stripeFields({ ...input, email }),
        metadata: customerStripeMetadata(tenant.id, id, input),
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

function commit(
  ctx: RequestContext,
  tenant: ConnectedTenant,
  row: CustomerRow,
  change: {
    statement: Parameters<typeof commitChange>[1]["statements"][number];
    type: string;
    metadata?: Record<string, unknown>;
    unlessRecorded?: SQL;
    auditOnlyIfChanged?: boolean;
  },
) {
  return commitChange(ctx, {
    tenant,
    statements: [change.statement],
    ...(change.unlessRecorded ? { unlessRecorded: change.unlessRecorded } : {}),
    ...(change.auditOnlyIfChanged ? { auditOnlyIfChanged: true } : {}),
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
  const externalId = input.external_id;
  if (!externalId) return updateAtStripe(ctx, idOrExternal, input);
  return withExternalIdClaim(ctx, writeScope(ctx), externalId, () =>
    updateAtStripe(ctx, idOrExternal, input),
  );
}

async function updateAtStripe(ctx: RequestContext, idOrExternal: string, input: CustomerInput) {
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
    metadata: customerStripeMetadata(
      tenant.id,
      row.id,
      { metadata: row.metadata, external_id: row.externalId },
      previous,
    ),
  });
  const sent = asStripe(next, current.metadata);
  // A customer made in the tenant's Stripe dashboard may carry up to Stripe's 50 keys of its own,
  // which leave no room for ours: Stripe would refuse the change.
  if (Object.values(sent.metadata).filter((value) => value !== "").length > STRIPE_METADATA_KEYS) {
    throw validationError(
      "metadata",
      `This customer has ${Object.keys(next.metadata).length} metadata keys, which leave no room for ours at Stripe: send metadata with at most ${MAX_CUSTOMER_METADATA_KEYS} keys`,
    );
  }
  return withStripeUndo(ctx, async (undo) => {
    const answer = await ctx.stripe.customers.update(current.stripeCustomerId, sent, { stripeAccount });
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
    // A newer state stored meanwhile (a Connect event of a later change, or a deletion of this
    // second) stays, untold again, and is the answer.
    const { where, unlessRecorded } = ordered(updated);
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
 * A customer Stripe has already deleted (another delete of ours at once, or the tenant's
 * dashboard, the mirror not told yet) is deleted here too, as a delete after it answers; only the
 * write that marks it deleted tells and audits it.
 */
export async function deleteCustomer(ctx: RequestContext, idOrExternal: string) {
  const current = await findCustomer(ctx, idOrExternal);
  const scope = writeScope(ctx);
  if (current.livemode !== scope.livemode) throw notFound("Customer");
  if (current.status === "deleted") return current;
  const tenant = await connectedTenant(ctx, scope.tenantId, "deleting customers");
  const stripeAccount = tenant.stripeConnectAccountId;
  const answer = await ctx.stripe.customers
    .del(current.stripeCustomerId, {}, { stripeAccount })
    .catch(async (error: unknown) => {
      // Stripe answers a customer it has deleted with "no such customer": its stub says whether
      // that is a deletion (final) or a customer this account never had (Stripe's error stands).
      if (!missingAtStripe(error)) throw error;
      const stub = await ctx.stripe.customers.retrieve(current.stripeCustomerId, {}, { stripeAccount });
      if (!stub.deleted) throw error;
      return stub;
    });
  const now = ctx.clock.now();
  const lastEventCreated = watermark(current, answer);
  const deleted: CustomerRow = {
    ...current,
    status: "deleted",
    deletedAt: now,
    lastEventCreated,
    updatedAt: now,
  };
  // Deletion is final whatever the mirror stored meanwhile; its watermark never goes back. A row
  // already deleted (by a delete at once with this one, or the mirror) stays as it is, untold again.
  const stored = customers.lastEventCreated;
  const told = await commit(ctx, tenant, deleted, {
    statement: ctx.db
      .update(customers)
      .set({
        status: "deleted",
        deletedAt: now,
        // SQLite's max() is null when either is: then whichever is not.
        lastEventCreated: sql`coalesce(max(${stored}, ${lastEventCreated}), ${stored}, ${lastEventCreated})`,
        updatedAt: now,
      })
      .where(and(eq(customers.id, current.id), ne(customers.status, "deleted"))),
    unlessRecorded: sql`SELECT 1 FROM ${customers} WHERE ${customers.id} = ${current.id} AND ${customers.status} = 'deleted'`,
    auditOnlyIfChanged: true,
    type: "customer.deleted",
  });
  return told ? deleted : await findCustomer(ctx, current.id);
}
