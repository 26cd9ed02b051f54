import { webhookAttempts, webhookEvents } from "../../db/schema";
import { loadTenant } from "../../db/tenants";
import type { Services } from "../../env";
import { newId } from "../../lib/crypto";
import { activeSecrets, requireDeliverableEndpoint } from "./endpoint.service";
import { buildEnvelope } from "./envelope";
import { classifyAttempt } from "./retry-policy";
import { type SendResult, sendSigned } from "./sender";

export interface TestSendInput {
  event_type?: string | undefined;
  test_data?: Record<string, unknown> | undefined;
}

export interface TestSendContext {
  services: Services;
  allowInsecureLocalhost: boolean;
}

/**
 * Sends a signed test event to the tenant's endpoint now and answers what the receiver said.
 * The send is logged like any delivery (an event marked `test`, with its one attempt), so the
 * delivery log shows it, as Stripe's and Svix's do; it is never retried.
 */
export async function sendTestEvent(ctx: TestSendContext, tenantId: string, input: TestSendInput) {
  const { db, clock } = ctx.services;
  const endpoint = await requireDeliverableEndpoint(ctx.services, tenantId);
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
  const result = await sendSigned({
    url: endpoint.url,
    secrets: activeSecrets(endpoint, now.getTime()),
    eventId: event.id,
    body: payload,
    allowInsecureLocalhost: ctx.allowInsecureLocalhost,
  });
  await logTestSend(ctx.services, { tenantId, id: event.id, type: event.type, payload }, result);
  return { endpoint, event, result };
}

async function logTestSend(
  services: Services,
  event: { tenantId: string; id: string; type: string; payload: string },
  result: SendResult,
) {
  const { db, clock } = services;
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
