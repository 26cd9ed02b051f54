import { countingD1 } from "./bench-d1-counter";
import { createContext } from "./context";
import { emitTenantEvent } from "./modules/webhooks/events.service";

type Serve = (request: Request, env: Env, execution: ExecutionContext) => Response | Promise<Response>;

/**
 * Routes that exist only when the benchmark sets BENCH_BARE_ROUTE=1 (never in wrangler.toml):
 * the bare baseline, answered before any routing, and an emit trigger that drives the real
 * tenant-event path (`emitTenantEvent`: one enqueue) so the benchmark can time emit → receipt.
 * Synchronous up to its answer, and the same few checks for the bare route as for the requests a
 * scenario sends (one read of the URL; those also one header lookup), so what this dispatch costs
 * weighs on both sides of a ratio alike. Null for a request the Worker serves as in production.
 */
export function benchRoute(
  request: Request,
  env: Env,
  execution: ExecutionContext,
  serve: Serve,
): Response | Promise<Response> | null {
  const url = request.url;
  if (url.endsWith("/__bench/bare")) return new Response("ok");
  if (url.endsWith("/__bench/emit") && request.method === "POST") return benchEmit(request, env);
  if (request.headers.has(D1_ROWS_READ_HEADER)) return withD1RowsRead(request, env, execution, serve);
  return null;
}

async function benchEmit(request: Request, env: Env): Promise<Response> {
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

/** The request header that asks for `x-bench-d1-rows-read` on the answer (bench routes on only). */
export const D1_ROWS_READ_HEADER = "x-bench-d1-rows-read";

/**
 * For a request asking for it (`x-bench-d1-rows-read: 1`), runs the request with a D1 binding
 * that counts `meta.rows_read` and answers the sum in the same header: the benchmark's "D1 rows
 * read per request".
 */
function withD1RowsRead(request: Request, env: Env, execution: ExecutionContext, serve: Serve) {
  const counter = countingD1(env.DB);
  return Promise.resolve(serve(request, { ...env, DB: counter.binding }, execution)).then((response) => {
    const counted = new Response(response.body, response);
    counted.headers.set(D1_ROWS_READ_HEADER, String(counter.rowsRead()));
    return counted;
  });
}
