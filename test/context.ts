import { env } from "cloudflare:workers";
import { createContext, type RequestContext, type UserCaller } from "../src/context";
import { type TestTenant, unique } from "./harness";

/**
 * A context like a request's, for tests that call a service or a job directly; `overrides`
 * replace parts of it (a failing queue, another clock).
 */
export function testContext(overrides: Partial<RequestContext> = {}): RequestContext {
  const ctx = createContext(env, { requestId: `test-${unique()}` });
  return new Proxy(ctx, {
    get(target, name) {
      if (name in overrides) return overrides[name as keyof RequestContext];
      const value = Reflect.get(target, name, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
    set(target, name, value) {
      return Reflect.set(target, name, value, target);
    },
  });
}

/** A KV whose writes fail, as when KV is down. */
export const kvRefusingWrites = new Proxy(env.KV, {
  get(target, name) {
    if (name === "put") return () => Promise.reject(new Error("KV unavailable"));
    const value = Reflect.get(target, name, target);
    return typeof value === "function" ? value.bind(target) : value;
  },
});

/** The caller a request of the tenant's owner has, signed in, for a service called directly. */
export const ownerCaller = (tenant: TestTenant): UserCaller => ({
  kind: "user",
  userId: tenant.owner.id,
  tenantId: tenant.tenantId,
  role: "owner",
  sessionId: "ses_test",
  tenantStatus: "active",
});
