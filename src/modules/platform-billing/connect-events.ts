// Connect events about the tenant's connected account itself (`account.updated`,
// `account.application.deauthorized`) and those forwarded to the tenant as they are. Stripe
// delivers events in any order and retries old ones late, so an event's snapshot is never stored:
// it only says the account changed, and the account is read from Stripe as it is now.
import type Stripe from "stripe";
import type { RequestContext } from "../../context";
import type { TenantRow } from "../../db/schema";
import { accessRevoked } from "../../stripe/errors";
import { accountStatus } from "../stripe-connect/account-status";
import { forgetCachedAccount } from "../stripe-connect/stripe-connect.service";
import { type PreparedEvent, prepareEvent } from "../webhooks/events.service";
import { FORWARDED_CONNECT_EVENTS, type StripeEventLike } from "./stripe-mapping";
import type { Effect } from "./suspension";

/** The part of a billing run's outcome a Connect event adds to. */
interface ConnectOutcome {
  tenantChanges: Partial<TenantRow>;
  events: PreparedEvent[];
  audits: Effect[];
}

/**
 * Applies one Connect event of the tenant's own account to the run's outcome and says what it did.
 * Stripe failing to answer (other than refusing access to the account) throws, so the run fails
 * the event alone, leaves nothing of it, and it is retried.
 */
export async function applyConnectEvent(
  ctx: RequestContext,
  outcome: ConnectOutcome,
  tenant: TenantRow,
  event: StripeEventLike,
  now: Date,
): Promise<string> {
  const forwarded = FORWARDED_CONNECT_EVENTS[event.type];
  if (forwarded) {
    outcome.events.push(
      prepareEvent(
        {
          tenantId: tenant.id,
          companyName: tenant.companyName,
          type: forwarded,
          object: event.data.object,
          livemode: event.livemode ?? false,
        },
        now,
      ),
    );
    return `forwarded as ${forwarded}`;
  }
  const accountId = event.account ?? (event.data.object.id as string | undefined) ?? null;
  const currentAccountId =
    "stripeConnectAccountId" in outcome.tenantChanges
      ? outcome.tenantChanges.stripeConnectAccountId
      : tenant.stripeConnectAccountId;
  if (accountId === null || accountId !== currentAccountId) {
    return "ignored: not the tenant's current account";
  }
  if (event.type === "account.updated") {
    if (event.data.object?.object !== "account") throw new Error("account.updated without an account object");
    const account = await accountNow(ctx, accountId);
    // Out of reach: the platform lost the account; its deauthorization event detaches it.
    if (!account) return "ignored: Stripe no longer gives access to the account";
    const status = accountStatus(account);
    if (status !== (outcome.tenantChanges.stripeConnectStatus ?? tenant.stripeConnectStatus)) {
      outcome.tenantChanges.stripeConnectStatus = status;
      await forgetCachedAccount(ctx, accountId);
    }
    return `connect status ${status} (the account as Stripe has it now)`;
  }
  if (event.type === "account.application.deauthorized") {
    // A deauthorization older than a reconnection of the same account arrives with the account
    // connected again: Stripe still lets the platform read it.
    if (await accountNow(ctx, accountId)) return "ignored: the account is connected (it was connected again)";
    Object.assign(outcome.tenantChanges, {
      stripeConnectAccountId: null,
      stripeConnectStatus: "deauthorized",
      stripeConnectFlow: null,
    });
    outcome.audits.push({ kind: "audit", action: "stripe.deauthorized", metadata: { account: accountId } });
    await forgetCachedAccount(ctx, accountId);
    return "deauthorized";
  }
  return "recorded";
}

/** The account as Stripe has it now, or null when Stripe refuses the platform access to it. */
async function accountNow(ctx: RequestContext, accountId: string): Promise<Stripe.Account | null> {
  try {
    return await ctx.stripe.accounts.retrieve(accountId);
  } catch (error) {
    if (accessRevoked(error)) return null;
    throw error;
  }
}
