import { and, eq, isNotNull } from "drizzle-orm";
import { type RequestContext, type UserCaller, userCaller } from "../../context";
import type { Database } from "../../db/client";
import { type WebhookEndpointRow, webhookEndpoints } from "../../db/schema";
import { auditInsertIfChanged } from "../../lib/audit";
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

/** How many times a save is tried again after another save of the same endpoint went first. */
const SAVE_ATTEMPTS = 3;

/**
 * Saves the tenant's endpoint. The URL must pass the SSRF rules. The first configuration
 * creates the secret; `regenerate_secret` rotates it, the old one signing alongside for 24 h.
 * Saving re-enables an endpoint that deliveries had disabled. Answers the row and whether the
 * secret is new (only then is it shown in full). The write holds only over the secret it read,
 * so a secret answered as new is always one that signs: of first saves at once (a double click)
 * one makes the secret and the others are made again over it, answering it masked; a rotation
 * that another save overtook is 409 rather than a second rotation, which would retire the
 * secret the first one answered within moments.
 */
export async function configureEndpoint(ctx: RequestContext, input: ConfigureInput) {
  const principal = userCaller(ctx);
  const checked = checkWebhookUrl(input.webhook_url, {
    allowInsecureLocalhost: ctx.config.app.WEBHOOK_ALLOW_INSECURE_URLS,
  });
  if (!checked.ok) throw validationError("webhook_url", checked.reason);
  for (let attempt = 0; attempt < SAVE_ATTEMPTS; attempt++) {
    const saved = await saveEndpoint(ctx, principal, checked.url.href, input);
    if (saved) {
      await endpointChanged(ctx, principal.tenantId);
      return saved;
    }
    if (input.regenerate_secret) break;
  }
  throw new ApiError("conflict", "The webhook configuration is being changed by another request; try again");
}

/** One try of a save, over the row as read now; null when another save changed it meanwhile. */
async function saveEndpoint(
  ctx: RequestContext,
  principal: UserCaller,
  url: string,
  input: ConfigureInput,
): Promise<{ endpoint: WebhookEndpointRow; secretIsNew: boolean } | null> {
  const { db, clock } = ctx;
  const now = clock.now();
  const current = await findEndpoint(db, principal.tenantId);
  const rotate = !current || input.regenerate_secret === true;
  const secret = rotate ? generateWebhookSecret() : current.secret;
  const row: WebhookEndpointRow = {
    tenantId: principal.tenantId,
    url,
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
  const written = { tenantId: webhookEndpoints.tenantId };
  const write = current
    ? db
        .update(webhookEndpoints)
        .set(row)
        .where(and(eq(webhookEndpoints.tenantId, row.tenantId), eq(webhookEndpoints.secret, current.secret)))
        .returning(written)
    : db
        .insert(webhookEndpoints)
        .values(row)
        .onConflictDoNothing({ target: webhookEndpoints.tenantId })
        .returning(written);
  const [rows] = await db.batch([
    write,
    auditInsertIfChanged(db, {
      tenantId: principal.tenantId,
      actorType: "user",
      actorId: principal.userId,
      action: rotate && current ? "webhook_endpoint.secret_rotated" : "webhook_endpoint.configured",
      targetType: "webhook_endpoint",
      targetId: url,
      metadata: { enabled_events: row.enabledEvents, re_enabled: current?.status === "disabled" },
      requestId: ctx.requestId,
      at: now,
    }),
  ]);
  return rows.length ? { endpoint: row, secretIsNew: rotate } : null;
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
  // Only the removal that clears the URL tells it; others at once find none, as they would after it.
  const [removed] = await db.batch([
    db
      .update(webhookEndpoints)
      .set({ url: null, updatedAt: now })
      .where(and(eq(webhookEndpoints.tenantId, principal.tenantId), isNotNull(webhookEndpoints.url))),
    auditInsertIfChanged(db, {
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
  if (!removed.meta.changes) throw notFound("Webhook configuration");
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
