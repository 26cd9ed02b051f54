// What each role may do: the contract's role table (shared/CONTRACT.md, README "Roles"). The
// dashboard offers only what the API would allow; the API still checks every call.
import { getSession, useSession } from "./session";
import type { Role } from "./types";

export type Action =
  | "keys.read"
  | "keys.manage"
  | "plans.manage"
  | "customers.manage"
  | "subscriptions.manage"
  | "webhooks.manage"
  | "webhooks.remove"
  | "stripe.manage"
  | "team.manage"
  | "billing.manage"
  | "audit.read";

const ALLOWED: Record<Action, readonly Role[]> = {
  "keys.read": ["owner", "admin", "developer"],
  "keys.manage": ["owner", "admin"],
  "plans.manage": ["owner", "admin"],
  // The contract's billing table: tenants' own customers and subscriptions; billing users too.
  "customers.manage": ["owner", "admin", "billing"],
  "subscriptions.manage": ["owner", "admin", "billing"],
  "webhooks.manage": ["owner", "admin"],
  "webhooks.remove": ["owner"],
  "stripe.manage": ["owner"],
  "team.manage": ["owner"],
  "billing.manage": ["owner"],
  "audit.read": ["owner"],
};

/**
 * What a suspended tenant's users may still do beyond reading (the API answers 402 to anything
 * else): fix billing, and keep their keys safe.
 */
const WHILE_SUSPENDED: readonly Action[] = ["keys.read", "keys.manage", "billing.manage", "audit.read"];

export function roleCan(role: Role, action: Action, suspended = false): boolean {
  return ALLOWED[action].includes(role) && (!suspended || WHILE_SUSPENDED.includes(action));
}

/** Whether the signed-in user may do `action` now (role and tenant suspension). */
export function can(action: Action): boolean {
  const session = getSession();
  return (
    session.status === "signed-in" &&
    roleCan(session.user.role, action, session.tenant.status === "suspended")
  );
}

/** The same as a hook, so components re-render when the role or the tenant's status changes. */
export function useCan(): (action: Action) => boolean {
  useSession();
  return can;
}
