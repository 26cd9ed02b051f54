import { eq } from "drizzle-orm";
import { type RequestContext, userCaller } from "../../context";
import type { Database } from "../../db/client";
import { type WebhookEndpointRow, webhookEndpoints } from "../../db/schema";
import { auditInsert } from "../../lib/audit";
import { ApiError, notFound, validationError } from "../../lib/errors";
import { errorFields } from "../../lib/logger";
import { checkWebhookUrl } from "../../lib/url-safety";
import { generateWebhookSecret } from "./signing";

/** How long the secret before a rotation keeps signing deliveries. */
export const PREVIOUS_SECRET_TTL_MS = 24 * 60 * 60 * 1000;

/** The tenant's endpoint (URL, secrets, filter, status), or null before it is first configured. */
export async function findEndpoint(db: Database, tenantId: string): Promise<WebhookEndpointRow | null> {
  return (
    (await db.select().from(webhookEndpoints).where(eq(webhookEndpoints.tenantId, tenantId)).get()) ?? null
  );
}

export interface ConfigureInput {
  webhook_url: string;
  regenerate_secret?: boolean | undefined;
  enabled_events?: string[] | undefined;
}

/**
 * Saves the tenant's endpoint. The URL must pass the SSRF rules. The first configuration
 * creates the secret; `regenerate_secret` rotates it, the old one signing alongside for 24 h.
 * Saving re-enables an endpoint that deliveries had disabled. Answers the row and whether the
 * secret is new (only then is it shown in full).
 */
export async function configureEndpoint(ctx: RequestContext, input: ConfigureInput) {
  const principal = userCaller(ctx);
  const checked = checkWebhookUrl(input.webhook_url, {
    allowInsecureLocalhost: ctx.config.app.WEBHOOK_ALLOW_INSECURE_URLS,
  });
  if (!checked.ok) throw validationError("webhook_url", checked.reason);
  const { db, clock } = ctx;
  const now = clock.now();
  const current = await findEndpoint(db, principal.tenantId);
  const rotate = !current || input.regenerate_secret === true;
  const secret = rotate ? generateWebhookSecret() : current.secret;
  const row: WebhookEndpointRow = {
    tenantId: principal.tenantId,
    url: checked.url.href,
    secret,
    previousSecret: current && rotate ? current.secret : (current?.previousSecret ?? null),
    previousSecretExpiresAt:
      current && rotate
        ? new Date(now.getTime() + PREVIOUS_SECRET_TTL_MS)
        : (current?.previousSecretExpiresAt ?? null),
    enabledEvents: input.enabled_events ?? current?.enabledEvents ?? null,
    status: "enabled",
    disabledReason: null,
    disabledAt: null,
    failingSince: null,
    createdAt: current?.createdAt ?? now,
    updatedAt: now,
  };
  await db.batch([
    db
      .insert(webhookEndpoints)
      .values(row)
      .onConflictDoUpdate({ target: webhookEndpoints.tenantId, set: row }),
    auditInsert(db, {
      tenantId: principal.tenantId,
      actorType: "user",
      actorId: principal.userId,
      action: rotate && current ? "webhook_endpoint.secret_rotated" : "webhook_endpoint.configured",
      targetType: "webhook_endpoint",
      targetId: row.url ?? "",
      metadata: { enabled_events: row.enabledEvents, re_enabled: current?.status === "disabled" },
      requestId: ctx.requestId,
      at: now,
    }),
  ]);
  await endpointChanged(ctx, principal.tenantId);
  return { endpoint: row, secretIsNew: rotate };
}

/**
 * Tells the tenant's coordinator, which keeps a copy of the endpoint for its deliveries, to read
 * it again. Should this call fail, the copy ages out within seconds (`ENDPOINT_CACHE_MS`).
 */
async function endpointChanged(ctx: RequestContext, tenantId: string) {
  try {
    await ctx.coordinator(tenantId).endpointChanged();
  } catch (error) {
    ctx.log.warn("coordinator not told of the endpoint change", errorFields(error));
  }
}

/** Removes the URL (deliveries stop) and keeps the secret, so reconfiguring does not change it. */
export async function removeEndpointUrl(ctx: RequestContext) {
  const principal = userCaller(ctx);
  const { db, clock } = ctx;
  const current = await findEndpoint(db, principal.tenantId);
  if (!current?.url) throw notFound("Webhook configuration");
  const now = clock.now();
  await db.batch([
    db
      .update(webhookEndpoints)
      .set({ url: null, updatedAt: now })
      .where(eq(webhookEndpoints.tenantId, principal.tenantId)),
    auditInsert(db, {
      tenantId: principal.tenantId,
      actorType: "user",
      actorId: principal.userId,
      action: "webhook_endpoint.removed",
      targetType: "webhook_endpoint",
      targetId: current.url,
      requestId: ctx.requestId,
      at: now,
    }),
  ]);
  await endpointChanged(ctx, principal.tenantId);
}

/** The endpoint to send to now, or a clear 409 when none is usable. */
export async function requireDeliverableEndpoint(
  db: Database,
  tenantId: string,
): Promise<WebhookEndpointRow & { url: string }> {
  const endpoint = await findEndpoint(db, tenantId);
  if (!endpoint?.url)
    throw new ApiError("conflict", "No webhook URL is configured; POST /webhooks/config/ first");
  return endpoint as WebhookEndpointRow & { url: string };
}

/** The calling user's tenant's endpoint, or null. */
export const getEndpoint = (ctx: RequestContext) => findEndpoint(ctx.db, userCaller(ctx).tenantId);

/** The secrets that sign a delivery now: the current one, and the previous one during its 24 h. */
export function activeSecrets(endpoint: WebhookEndpointRow, now: number): string[] {
  const previous = endpoint.previousSecret;
  const previousValid = previous && (endpoint.previousSecretExpiresAt?.getTime() ?? 0) > now;
  return previousValid ? [endpoint.secret, previous] : [endpoint.secret];
}
