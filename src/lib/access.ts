import type { KeyKind, Role } from "../db/schema";

/**
 * Who a guard middleware lets through, recorded on the middleware itself so the shared security
 * tests can read every route's guards from the app (`app.routes`) and check each route against
 * them: no credentials, a forged token, each refused role, a publishable key where a secret one
 * is needed. Nothing here runs on a request.
 */
export interface RouteAccess {
  /** Tenant users with an access token. */
  user?: true;
  /** Only these roles (after `user`). */
  roles?: readonly Role[];
  /** API keys of these kinds. */
  apiKeyKinds?: readonly KeyKind[];
  /** The platform operator's token. */
  operator?: true;
}

const registry = new WeakMap<object, RouteAccess>();

/** Marks `middleware` as a guard with this access, and returns it. */
export function guard<T extends object>(middleware: T, access: RouteAccess): T {
  registry.set(middleware, access);
  return middleware;
}

/** The access a handler of a route's chain grants, if it is a guard. */
export const accessOf = (handler: object): RouteAccess | undefined => registry.get(handler);
