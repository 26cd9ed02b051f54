import { createRoute, type RouteConfig, type z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { apiKeyCaller } from "../../context";
import type { AppEnv } from "../../env";
import { createRouter } from "../../lib/create-app";
import { API_KEY_AUTH, BEARER_AUTH, errorResponses, jsonBody, jsonResponse } from "../../lib/openapi";
import { requireApiKey } from "../api-keys/middleware";
import { requireRole, requireUser } from "../auth/middleware";
import { SHOWN_ONCE } from "../idempotency/idempotency";
import {
  ListKeysResponse,
  RegenerateBody,
  RegenerateResponse,
  RevokeBody,
  RevokeResponse,
  scopeOf,
  VerifyResponse,
} from "./api-keys.schemas";
import { listKeys, regenerateKeys, revokeKeys } from "./api-keys.service";

const tags = ["API keys"];
const BASE = "/api/v1/auth/tenants/api-keys";

const listRoute = createRoute({
  method: "get",
  path: BASE,
  tags,
  summary: "List API keys (secret keys masked)",
  security: BEARER_AUTH,
  middleware: [requireUser, requireRole("owner", "admin", "developer")],
  responses: { 200: jsonResponse(ListKeysResponse, "The tenant's usable keys"), ...errorResponses },
});

const regenerateRoute = createRoute({
  method: "post",
  path: `${BASE}/regenerate`,
  tags,
  summary: "Regenerate API keys (owner, admin)",
  description:
    "Issues new keys for `key_type` (alias `environment`): `live`, `test` or `all`. The old keys stop working at once, on the very next request, unless `expire_old_in` (`1h`, `24h`, `7d`) asks for a rollover. The new keys are shown in full this once.",
  security: BEARER_AUTH,
  middleware: [requireUser, requireRole("owner", "admin")],
  request: { body: jsonBody(RegenerateBody) },
  responses: { 200: jsonResponse(RegenerateResponse, "New keys"), ...errorResponses },
});

const revokeConfig = (method: "post" | "delete") =>
  ({
    method,
    path: `${BASE}/revoke`,
    tags,
    summary: "Revoke API keys (owner, admin)",
    description:
      "Revokes every key of `key_type` (`live`, `test`, `all`) at once, for a security incident. The reason goes to the audit log. Answers the same on POST and DELETE.",
    security: BEARER_AUTH,
    middleware: [requireUser, requireRole("owner", "admin")],
    request: { body: jsonBody(RevokeBody) },
    responses: { 200: jsonResponse(RevokeResponse, "Keys revoked"), ...errorResponses },
  }) satisfies RouteConfig;

const verifyConfig = (method: "get" | "post") =>
  ({
    method,
    path: "/api/v1/auth/tenants/verify",
    tags,
    summary: "Verify an API key",
    description:
      "Public endpoint for integration checks: with a valid key (publishable or secret, in `X-API-Key` or `Authorization: Bearer`) it answers the key's tenant and mode; otherwise 401. Counts against the key's rate limit.",
    security: API_KEY_AUTH,
    middleware: [requireApiKey(["secret", "publishable"])],
    responses: {
      200: jsonResponse(VerifyResponse, "The key is valid"),
      401: errorResponses[401],
      402: errorResponses[402],
      429: errorResponses[429],
      500: errorResponses[500],
    },
  }) satisfies RouteConfig;

const verify = (c: Context<AppEnv>) => {
  const key = apiKeyCaller(c.var.ctx);
  return c.json(
    {
      valid: true as const,
      tenant: { id: key.tenantId, company_name: key.companyName },
      mode: key.mode,
      livemode: key.mode === "live",
      key_type: key.keyKind,
    },
    200,
  );
};

const revoke = async (c: Context<AppEnv>, body: z.infer<typeof RevokeBody>) => {
  const revoked = await revokeKeys(c.var.ctx, {
    scope: scopeOf(body),
    reason: body.reason,
  });
  return c.json(
    {
      message: "API keys revoked successfully",
      revoked_keys: revoked,
      reason: body.reason,
      warning: REVOKE_WARNING,
    },
    200,
  );
};

const REVOKE_WARNING =
  "Requests with these keys now fail. Regenerate keys when ready to restore access for your integrations.";

export const apiKeysRoutes = createRouter()
  .openapi(listRoute, async (c) => {
    const keys = await listKeys(c.var.ctx);
    return c.json(
      { keys, warning: "Secret keys are masked. Store them securely when first generated." },
      200,
    );
  })
  .openapi(regenerateRoute, async (c) => {
    const body = c.req.valid("json");
    const result = await regenerateKeys(c.var.ctx, {
      scope: scopeOf(body),
      expireOldIn: body.expire_old_in,
    });
    const expires = result.oldKeysExpireAt?.toISOString() ?? null;
    return c.json(
      {
        message: "API keys regenerated successfully",
        keys: result.fullKeys,
        warning: expires
          ? `Old keys keep working until ${expires}. Update your integrations before then.`
          : "Old keys have been invalidated. Update your integrations immediately to avoid disruption.",
        old_keys_expire_at: expires,
      },
      200,
      SHOWN_ONCE,
    );
  })
  .openapi(revokeConfig("post"), (c) => revoke(c, c.req.valid("json")))
  .openapi(revokeConfig("delete"), (c) => revoke(c, c.req.valid("json")))
  .openapi(verifyConfig("post"), verify)
  .openapi(verifyConfig("get"), verify);
