import { createContext } from "./context";
import { emitTenantEvent } from "./modules/webhooks/events.service";

/**
 * Routes that exist only when the benchmark sets BENCH_BARE_ROUTE=1 (never in wrangler.toml):
 * the bare baseline, answered before any routing, and an emit trigger that drives the real
 * tenant-event path (D1 write + enqueue) so the benchmark can time emit → receipt.
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
