import { type RequestContext, userCaller } from "../../context";
import { webhookAttempts, webhookEvents } from "../../db/schema";
import { loadTenant } from "../../db/tenants";
import { newId } from "../../lib/crypto";
import { ApiError } from "../../lib/errors";
import { activeSecrets, requireDeliverableEndpoint } from "./endpoint.service";
import { buildEnvelope, refuseOversizedEvent } from "./envelope";
import { classifyAttempt } from "./retry-policy";
import { type SendResult, sendSigned } from "./sender";

export interface TestSendInput {
  event_type?: string | undefined;
  test_data?: Record<string, unknown> | undefined;
}

/**
 * Sends a signed test event to the caller's endpoint now and answers what the receiver said:
 * its status, time and (truncated) body, 408 `webhook_timeout` after 10 s without an answer,
 * 502 `webhook_unreachable` when it cannot be reached. The send is logged like any delivery (an
 * event marked `test`, with its one attempt), so the delivery log shows it, as Stripe's and
 * Svix's do; it is never retried.
 */
export async function sendTestEvent(ctx: RequestContext, input: TestSendInput) {
  const { db, clock } = ctx;
  const { tenantId } = userCaller(ctx);
  const endpoint = await requireDeliverableEndpoint(db, tenantId);
  const tenant = await loadTenant(db, tenantId);
  const now = clock.now();
  const event = buildEnvelope({
    id: newId("evt_test"),
    type: input.event_type ?? "test.webhook",
    object: input.test_data ?? {
      message: "This is a test event from your billing platform",
      timestamp: now.toISOString(),
    },
    livemode: false,
    tenant: { id: tenantId, company_name: tenant.companyName },
    now,
  });
  const payload = JSON.stringify(event);
  // Held to the limit of every event: the delivery log keeps it, and receivers size for it.
  refuseOversizedEvent(payload, event.type);
  const result = await sendSigned({
    url: endpoint.url,
    secrets: activeSecrets(endpoint, now.getTime()),
    eventId: event.id,
    body: payload,
    allowInsecureLocalhost: ctx.config.app.WEBHOOK_ALLOW_INSECURE_URLS,
  });
  await logTestSend(ctx, { tenantId, id: event.id, type: event.type, payload }, result);
  if (result.error === "timeout") {
    throw new ApiError("webhook_timeout", "Your webhook endpoint did not respond within 10 seconds", {
      extra: { webhook_url: endpoint.url },
    });
  }
  if (result.error || result.status === undefined) {
    throw new ApiError(
      "webhook_unreachable",
      result.errorMessage ?? "The webhook endpoint could not be reached",
      { extra: { webhook_url: endpoint.url } },
    );
  }
  return { endpoint, event, result: { ...result, status: result.status } };
}

async function logTestSend(
  ctx: RequestContext,
  event: { tenantId: string; id: string; type: string; payload: string },
  result: SendResult,
) {
  const { db, clock } = ctx;
  const at = clock.now();
  const outcome = classifyAttempt(
    {
      ...(result.status !== undefined ? { status: result.status } : {}),
      ...(result.error ? { error: result.error } : {}),
      retryAfterHeader: result.retryAfterHeader,
    },
    at.getTime(),
  );
  const delivered = outcome.outcome === "success";
  const reason = result.errorMessage ?? outcome.reason;
  await db.batch([
    db.insert(webhookEvents).values({
      ...event,
      status: delivered ? "delivered" : "failed",
      attempts: 1,
      nextAttemptAt: null,
      lastAttemptAt: at,
      deliveredAt: delivered ? at : null,
      lastError: delivered ? null : reason,
      isTest: true,
      createdAt: at,
    }),
    db.insert(webhookAttempts).values({
      id: newId("att"),
      eventId: event.id,
      tenantId: event.tenantId,
      attempt: 1,
      url: result.url,
      statusCode: result.status ?? null,
      outcome: outcome.outcome,
      reason,
      durationMs: result.durationMs,
      responseBody: result.responseBody || null,
      createdAt: at,
    }),
  ]);
}
