import { and, eq, sql } from "drizzle-orm";
import Stripe from "stripe";
import type { StripeConfig } from "../../config";
import { type RequestContext, userCaller } from "../../context";
import type { Database } from "../../db/client";
import { connectStatesUsed, type TenantRow, tenants, users } from "../../db/schema";
import { loadTenant } from "../../db/tenants";
import { auditInsertIfChanged } from "../../lib/audit";
import { randomBase62, sha256Hex } from "../../lib/crypto";
import { uniqueViolation } from "../../lib/db-errors";
import { ApiError, notFound } from "../../lib/errors";
import { errorFields } from "../../lib/logger";
import { accountStatus } from "./account-status";

const STATE_TTL_SECONDS = 600;
const STATUS_CACHE_SECONDS = 30;
/** The shortest `expirationTtl` KV accepts. */
const KV_MIN_TTL_SECONDS = 60;
export const CALLBACK_PATH = "/api/v1/auth/tenants/stripe/callback/";

export type ConnectFlow = "account_links" | "oauth";

/** What a `state` stands for while the tenant's browser is at Stripe. */
interface StateRecord {
  tenant_id: string;
  user_id: string;
  flow: ConnectFlow;
  account_id: string | null;
}

const stateKey = (state: string) => `connect_state:${state}`;
const statusKey = (accountId: string) => `stripe_account:${accountId}`;

const returnUrl = (config: StripeConfig, state: string, refresh = false) =>
  `${config.publicBaseUrl}${CALLBACK_PATH}?state=${encodeURIComponent(state)}${refresh ? "&refresh=1" : ""}`;

function accountLink(ctx: RequestContext, accountId: string, state: string) {
  return ctx.stripe.accountLinks.create({
    account: accountId,
    type: "account_onboarding",
    return_url: returnUrl(ctx.config.stripe, state),
    refresh_url: returnUrl(ctx.config.stripe, state, true),
  });
}

/**
 * Starts onboarding. Account Links (default): an Express-dashboard account controlled by the
 * platform is created once per tenant (idempotently; kept as `onboarding` until Stripe says
 * otherwise) and a fresh onboarding link is returned. OAuth (legacy, on request): the
 * authorize URL of `STRIPE_CONNECT_BASE`. Either way a single-use `state` bound to this tenant
 * and user is kept in KV for 10 minutes.
 */
export async function startConnect(ctx: RequestContext, flow: ConnectFlow) {
  const { db, kv, clock } = ctx;
  const principal = userCaller(ctx);
  const tenant = await loadTenant(db, principal.tenantId);
  if (tenant.stripeConnectAccountId && tenant.stripeConnectStatus === "active") {
    throw new ApiError("conflict", "A Stripe account is already connected; disconnect it first");
  }
  // An account the tenant authorized through OAuth, whatever its state, stays authorized at Stripe
  // until deauthorized: a new connection replacing it here would keep the platform's access to it
  // unseen. Disconnecting deauthorizes it.
  if (tenant.stripeConnectAccountId && tenant.stripeConnectFlow === "oauth") {
    throw new ApiError(
      "conflict",
      "A Stripe account connected through OAuth is still authorized; disconnect it first",
    );
  }
  const state = randomBase62(32);
  const redirectUri = `${ctx.config.stripe.publicBaseUrl}${CALLBACK_PATH}`;

  if (flow === "oauth") {
    const clientId = ctx.config.stripe.connectClientId;
    if (!clientId) {
      throw new ApiError("stripe_not_configured", "Connect OAuth needs STRIPE_CONNECT_CLIENT_ID to be set");
    }
    const url = new URL("/oauth/authorize", ctx.config.stripe.connectBase);
    url.search = new URLSearchParams({
      response_type: "code",
      client_id: clientId,
      scope: "read_write",
      state,
      redirect_uri: redirectUri,
    }).toString();
    await putState(kv, state, { tenant_id: tenant.id, user_id: principal.userId, flow, account_id: null });
    return { url: url.toString(), state, redirect_uri: redirectUri, flow };
  }

  let accountId = tenant.stripeConnectFlow === "account_links" ? tenant.stripeConnectAccountId : null;
  if (!accountId) {
    const owner = await db
      .select({ email: users.email })
      .from(users)
      .where(eq(users.id, principal.userId))
      .get();
    const account = await ctx.stripe.accounts.create(
      {
        controller: {
          stripe_dashboard: { type: "express" },
          fees: { payer: "application" },
          losses: { payments: "application" },
        },
        ...(owner ? { email: owner.email } : {}),
        metadata: { tenant_id: tenant.id },
      },
      // Retries of this attempt reuse the key (the tenant row is unchanged until it succeeds);
      // after a disconnect the row has changed, so a new connection gets a new account. Not
      // undone if the D1 write below fails: a retry gets this same account back (idempotency)
      // and stores it, where a deleted one would come back as a dead id.
      { idempotencyKey: `connect-account:${tenant.id}:${tenant.updatedAt.getTime()}` },
    );
    accountId = account.id;
    await db.batch([
      db
        .update(tenants)
        .set({
          stripeConnectAccountId: accountId,
          stripeConnectStatus: "onboarding",
          stripeConnectFlow: "account_links",
        })
        // Starts at once get the same account back (the same idempotency key): the first to
        // store it tells it, the others find it stored and write no second record.
        .where(
          and(
            eq(tenants.id, tenant.id),
            sql`(${tenants.stripeConnectAccountId} IS NOT ${accountId} OR ${tenants.stripeConnectFlow} IS NOT 'account_links')`,
          ),
        ),
      auditInsertIfChanged(db, {
        tenantId: tenant.id,
        actorType: "user",
        actorId: principal.userId,
        action: "stripe.account_created",
        targetType: "stripe_account",
        targetId: accountId,
        requestId: ctx.requestId,
        at: clock.now(),
      }),
    ]);
  }
  const link = await accountLink(ctx, accountId, state);
  await putState(kv, state, { tenant_id: tenant.id, user_id: principal.userId, flow, account_id: accountId });
  return { url: link.url, state, redirect_uri: redirectUri, flow };
}

function putState(kv: KVNamespace, state: string, record: StateRecord) {
  return kv.put(stateKey(state), JSON.stringify(record), { expirationTtl: STATE_TTL_SECONDS });
}

// Callback errors keep the seed's `description` next to the contract's fields.
const invalidState = (message: string) =>
  new ApiError("invalid_state", message, { extra: { description: message } });

const noLongerHeld = () => invalidState("This onboarding link is for an account the tenant no longer holds");

const accountTaken = () => {
  const message = "This Stripe account is already connected to another tenant";
  return new ApiError("account_already_connected", message, { extra: { description: message } });
};

/**
 * Stripe sent the browser back with an OAuth error (the user denied access, ...): the seed's
 * `{error, description}` body; `access_denied` keeps its name, any other error is `oauth_error`.
 */
function notAuthorized(error: string, description: string) {
  return new ApiError(
    error === "access_denied" ? "access_denied" : "oauth_error",
    "The Stripe connection was not authorized",
    {
      extra: { description, ...(error === "access_denied" ? {} : { stripe_error: error }) },
    },
  );
}

/** Refuses an account that another tenant holds: a Stripe account belongs to at most one tenant. */
async function assertAccountFree(db: Database, tenantId: string, accountId: string) {
  const holder = await db
    .select({ id: tenants.id })
    .from(tenants)
    .where(eq(tenants.stripeConnectAccountId, accountId))
    .get();
  if (holder && holder.id !== tenantId) throw accountTaken();
}

/** The state's record, if it exists, has not expired, and its user may still connect Stripe. */
async function readState(services: RequestContext, state: string | undefined): Promise<StateRecord> {
  if (!state) throw invalidState("Missing state parameter");
  const record = await services.kv.get<StateRecord>(stateKey(state), "json");
  if (!record)
    throw invalidState("The state parameter is invalid or has expired; start the connection again");
  const user = await services.db
    .select({ role: users.role, isActive: users.isActive })
    .from(users)
    .where(and(eq(users.id, record.user_id), eq(users.tenantId, record.tenant_id)))
    .get();
  if (!user?.isActive || user.role !== "owner") throw invalidState("The state no longer belongs to an owner");
  return record;
}

/** Marks the state used; D1's primary key makes a second redemption fail even if KV lags. */
async function consumeState(services: RequestContext, state: string, record: StateRecord) {
  try {
    await services.db.insert(connectStatesUsed).values({
      stateHash: await sha256Hex(state),
      tenantId: record.tenant_id,
      usedAt: services.clock.now(),
    });
  } catch (error) {
    if (uniqueViolation(error)) throw invalidState("The state parameter was already used");
    throw error;
  }
  await services.kv.delete(stateKey(state));
}

export type CallbackOutcome =
  | { kind: "connected"; tenant: TenantRow; accountId: string }
  | { kind: "redirect"; url: string };

export async function handleCallback(
  ctx: RequestContext,
  query: { state?: string; code?: string; error?: string; error_description?: string; refresh?: string },
): Promise<CallbackOutcome> {
  const services = ctx;
  const record = await readState(services, query.state);
  const state = query.state as string;

  if (query.refresh && record.flow === "account_links" && record.account_id) {
    // The onboarding link expired before the tenant finished: hand out a fresh one, but only for
    // the account the tenant still holds (it may have disconnected since the link was made).
    const tenant = await loadTenant(services.db, record.tenant_id);
    if (tenant.stripeConnectAccountId !== record.account_id) throw noLongerHeld();
    return { kind: "redirect", url: (await accountLink(ctx, record.account_id, state)).url };
  }
  await consumeState(services, state, record);
  if (query.error) {
    throw notAuthorized(query.error, query.error_description ?? query.error);
  }

  let accountId: string;
  if (record.flow === "oauth") {
    if (!query.code)
      throw new ApiError("validation_error", "Missing code parameter", {
        details: [{ field: "code", message: "Required" }],
      });
    const code = query.code;
    // As at the start: an active connection is disconnected first. Another state of this tenant
    // may have connected an account since this one was issued; exchanging this code would
    // replace it, left authorized at Stripe and held by no tenant.
    const current = await loadTenant(services.db, record.tenant_id);
    if (current.stripeConnectAccountId && current.stripeConnectStatus === "active") {
      const message = "A Stripe account is already connected; disconnect it first";
      throw new ApiError("conflict", message, { extra: { description: message } });
    }
    const token = await ctx.stripeOAuth.oauth
      .token({ grant_type: "authorization_code", code })
      .catch((error: unknown) => {
        // A code Stripe does not accept (forged, used, expired) came with the browser: bad input,
        // answered in the seed's {error, description} shape, not as Stripe failing.
        if (error instanceof Stripe.errors.StripeInvalidGrantError)
          throw notAuthorized("invalid_grant", error.message);
        throw error;
      });
    if (!token.stripe_user_id)
      throw new ApiError("stripe_error", "Stripe did not return a connected account");
    accountId = token.stripe_user_id;
  } else {
    if (!record.account_id) throw invalidState("The state does not name an account");
    accountId = record.account_id;
    // The tenant may have disconnected, or connected another account, since the link was made:
    // the return must not put the account it left back in place.
    const tenant = await loadTenant(services.db, record.tenant_id);
    if (tenant.stripeConnectAccountId !== accountId) throw noLongerHeld();
  }
  await assertAccountFree(services.db, record.tenant_id, accountId);
  const account = await ctx.stripe.accounts.retrieve(accountId);
  const tenant = await applyAccount(services.db, record.tenant_id, account, record.flow, {
    actorId: record.user_id,
    requestId: ctx.requestId,
    now: services.clock.now(),
    heldAccount: record.flow === "account_links" ? accountId : null,
  });
  await services.kv.delete(statusKey(accountId));
  return { kind: "connected", tenant, accountId };
}

/** Stores a connected account and its status on the tenant, with an audit record. */
async function applyAccount(
  db: Database,
  tenantId: string,
  account: Stripe.Account,
  flow: ConnectFlow,
  meta: { actorId: string; requestId: string; now: Date; heldAccount: string | null },
): Promise<TenantRow> {
  const status = accountStatus(account);
  const [updated] = await db
    .batch([
      db
        .update(tenants)
        .set({ stripeConnectAccountId: account.id, stripeConnectStatus: status, stripeConnectFlow: flow })
        // An Account Links return holds only while the tenant still holds the account (a
        // disconnect may land between the check above and this write).
        .where(
          and(
            eq(tenants.id, tenantId),
            meta.heldAccount ? eq(tenants.stripeConnectAccountId, meta.heldAccount) : undefined,
          ),
        )
        .returning(),
      auditInsertIfChanged(db, {
        tenantId,
        actorType: "user",
        actorId: meta.actorId,
        action: "stripe.connected",
        targetType: "stripe_account",
        targetId: account.id,
        metadata: { flow, status },
        requestId: meta.requestId,
        at: meta.now,
      }),
    ])
    .catch((error: unknown) => {
      // Two tenants connecting the same account at once: the unique index lets one win.
      if (uniqueViolation(error)) throw accountTaken();
      throw error;
    });
  const tenant = updated[0];
  if (!tenant) throw meta.heldAccount ? noLongerHeld() : notFound("Tenant");
  return tenant;
}

/** Stripe's answer kept in KV, with when it was read (ms): KV cannot expire an entry under 60 s. */
interface CachedAccount {
  account: Stripe.Account;
  read_at: number;
}

/**
 * The account as Stripe sees it now, Stripe's answer kept 30 s. Only an answer just read from
 * Stripe updates the tenant's stored status: a kept one may be older than what an
 * `account.updated` stored since (processing one drops the kept answer when the status changes).
 */
export async function connectStatus(ctx: RequestContext) {
  const { db, kv, clock } = ctx;
  const principal = userCaller(ctx);
  const tenant = await loadTenant(db, principal.tenantId);
  const accountId = tenant.stripeConnectAccountId;
  if (!accountId) return null;
  const now = clock.now().getTime();
  const cached = await kv.get<CachedAccount>(statusKey(accountId), "json");
  const age = cached?.account ? now - cached.read_at : Number.POSITIVE_INFINITY;
  if (cached && age >= 0 && age < STATUS_CACHE_SECONDS * 1000) {
    return { account: cached.account, status: accountStatus(cached.account) };
  }
  const account = await ctx.stripe.accounts.retrieve(accountId);
  const entry: CachedAccount = { account, read_at: now };
  await kv.put(statusKey(accountId), JSON.stringify(entry), { expirationTtl: KV_MIN_TTL_SECONDS });
  const status = accountStatus(account);
  if (status !== tenant.stripeConnectStatus) {
    await db
      .update(tenants)
      .set({ stripeConnectStatus: status })
      // Not over a disconnect or a new account stored while Stripe answered.
      .where(and(eq(tenants.id, tenant.id), eq(tenants.stripeConnectAccountId, accountId)));
  }
  return { account, status };
}

/**
 * Drops the status read's kept answer of an account whose status an event changes. Done while the
 * event is applied, before its run commits: a read in between asks Stripe, whose answer is as new.
 */
export function forgetCachedAccount(ctx: RequestContext, accountId: string) {
  return ctx.kv.delete(statusKey(accountId));
}

/**
 * Disconnects: an OAuth-connected account is deauthorized at Stripe first (if Stripe refuses,
 * nothing changes here); a platform-controlled account is detached, not deleted.
 */
export async function disconnect(ctx: RequestContext): Promise<TenantRow> {
  const { db, kv, clock } = ctx;
  const principal = userCaller(ctx);
  const tenant = await loadTenant(db, principal.tenantId);
  const accountId = tenant.stripeConnectAccountId;
  if (!accountId) throw notConnected();
  if (tenant.stripeConnectFlow === "oauth") {
    const clientId = ctx.config.stripe.connectClientId;
    if (!clientId)
      throw new ApiError("stripe_not_configured", "Deauthorizing needs STRIPE_CONNECT_CLIENT_ID to be set");
    await ctx.stripeOAuth.oauth
      .deauthorize({ client_id: clientId, stripe_user_id: accountId })
      .catch((error) => {
        // Stripe no longer has this application connected to the account (its owner disconnected
        // us in their Dashboard, its event not here yet, or it was deleted): what deauthorizing is
        // for is done, and the tenant must be able to detach it, or it could never connect again.
        if (!(error instanceof Stripe.errors.StripeInvalidClientError)) throw error;
        ctx.log.warn("OAuth account already deauthorized at Stripe; detaching it", {
          account_id: accountId,
          ...errorFields(error),
        });
      });
  }
  const [updated] = await db.batch([
    db
      .update(tenants)
      .set({ stripeConnectAccountId: null, stripeConnectStatus: "disconnected", stripeConnectFlow: null })
      // Only over the account read above: of disconnects at once one detaches it (the others find
      // nothing connected, as after it), and an account connected meanwhile is not detached unseen.
      .where(and(eq(tenants.id, tenant.id), eq(tenants.stripeConnectAccountId, accountId)))
      .returning(),
    auditInsertIfChanged(db, {
      tenantId: tenant.id,
      actorType: "user",
      actorId: principal.userId,
      action: "stripe.disconnected",
      targetType: "stripe_account",
      targetId: accountId,
      metadata: { flow: tenant.stripeConnectFlow },
      requestId: ctx.requestId,
      at: clock.now(),
    }),
  ]);
  const row = updated[0];
  if (!row) throw notConnected();
  await kv.delete(statusKey(accountId));
  return row;
}

const notConnected = () => new ApiError("stripe_not_connected", "No Stripe account is connected");
