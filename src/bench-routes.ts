import { countingD1 } from "./bench-d1-counter";
import { createContext } from "./context";
import { emitTenantEvent } from "./modules/webhooks/events.service";

/**
 * Routes that exist only when the benchmark sets BENCH_BARE_ROUTE=1 (never in wrangler.toml):
 * the bare baseline, answered before any routing, and an emit trigger that drives the real
 * tenant-event path (`emitTenantEvent`: one enqueue) so the benchmark can time emit → receipt.
 */
export async function benchRoute(request: Request, env: Env): Promise<Response | null> {
  if (request.url.endsWith("/__bench/bare")) return new Response("ok");
  if (request.method === "POST" && request.url.endsWith("/__bench/emit")) {
    const { tenant_id: tenantId, seq } = (await request.json()) as { tenant_id: string; seq: number };
    const ctx = createContext(env, { requestId: crypto.randomUUID(), route: "bench emit" });
    const event = await emitTenantEvent(ctx, {
      tenantId,
      type: "plan.updated",
      object: { seq, emitted_at_ms: Date.now() },
      companyName: "Bench",
    });
    return Response.json({ id: event.id }, { status: 201 });
  }
  return null;
}

/** The request header that asks for `x-bench-d1-rows-read` on the answer (bench routes on only). */
export const D1_ROWS_READ_HEADER = "x-bench-d1-rows-read";

/**
 * With the bench routes on and the request asking for it (`x-bench-d1-rows-read: 1`), runs the
 * request with a D1 binding that counts `meta.rows_read` and answers the sum in the same header:
 * the benchmark's "D1 rows read per request". Null for every other request.
 */
export function withD1RowsRead(
  request: Request,
  env: Env,
  handle: (env: Env) => Response | Promise<Response>,
): Promise<Response> | null {
  if (!request.headers.has(D1_ROWS_READ_HEADER)) return null;
  const counter = countingD1(env.DB);
  return Promise.resolve(handle({ ...env, DB: counter.binding })).then((response) => {
    const counted = new Response(response.body, response);
    counted.headers.set(D1_ROWS_READ_HEADER, String(counter.rowsRead()));
    return counted;
  });
}
