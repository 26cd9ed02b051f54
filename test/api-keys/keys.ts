import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../src/index";
import { sha256Hex } from "../../src/lib/crypto";
import { call, PASSWORD, unique } from "../harness";

/** A new tenant's live secret key (free tier), its SHA-256, the owner's access token and the tenant. */
export async function registerKey() {
  const res = await call("/api/v1/auth/tenants/register/", {
    body: { company_name: `Keys ${unique()}`, email: `${unique("k")}@example.com`, password: PASSWORD },
  });
  const key = res.body.api_keys.live_secret as string;
  return {
    key,
    hash: await sha256Hex(key),
    access: res.body.tokens.access as string,
    tenantId: res.body.tenant.id as string,
  };
}

/**
 * `GET verify/` with `key` through the Worker's own fetch and the given bindings (tests swap KV
 * or the rate-limiting binding); `done` settles once the request's background work has.
 */
export async function verifyThroughWorker(key: string, bindings: Env = env) {
  const execution = createExecutionContext();
  const response = await worker.fetch(
    new Request("http://api.test/api/v1/auth/tenants/verify/", { headers: { "X-API-Key": key } }),
    bindings,
    execution,
  );
  return { response, status: response.status, done: waitOnExecutionContext(execution) };
}
