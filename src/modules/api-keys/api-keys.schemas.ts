import { z } from "@hono/zod-openapi";
import { ROLLOVER_WINDOWS } from "./keys";

const ScopeSchema = z.enum(["live", "test", "all"]).openapi({ example: "test" });

const mustConfirm = z.literal(true, { error: "Set confirm to true to proceed" });

interface ScopeFields {
  key_type?: "live" | "test" | "all" | undefined;
  environment?: "live" | "test" | "all" | undefined;
}

/** `key_type` and `environment` are aliases (the old platform's docs used both). */
function checkScope(body: ScopeFields, ctx: z.RefinementCtx) {
  if (!body.key_type && !body.environment)
    ctx.addIssue({ code: "custom", path: ["key_type"], message: "key_type (or environment) is required" });
  if (body.key_type && body.environment && body.key_type !== body.environment)
    ctx.addIssue({ code: "custom", path: ["environment"], message: "key_type and environment disagree" });
}

export const scopeOf = (body: ScopeFields) =>
  (body.key_type ?? body.environment ?? "all") as "live" | "test" | "all";

export const RegenerateBody = z
  .object({
    key_type: ScopeSchema.optional(),
    environment: ScopeSchema.optional(),
    confirm: mustConfirm,
    expire_old_in: z
      .enum(Object.keys(ROLLOVER_WINDOWS) as [keyof typeof ROLLOVER_WINDOWS])
      .optional()
      .openapi({ description: "Keep the old keys working this long (rollover). Default: they die at once." }),
  })
  .superRefine(checkScope)
  .openapi("RegenerateKeysRequest");

export const RevokeBody = z
  .object({
    key_type: ScopeSchema.optional(),
    environment: ScopeSchema.optional(),
    reason: z.string().trim().min(1).max(500).openapi({ example: "Security incident - suspected key leak" }),
    confirm: mustConfirm,
  })
  .superRefine(checkScope)
  .openapi("RevokeKeysRequest");

export const ApiKeySchema = z
  .object({
    type: z.string().openapi({ example: "live_secret" }),
    key: z.string().openapi({ example: "sk_live_****...3456" }),
    masked: z.boolean(),
    status: z.enum(["active", "expiring"]),
    created_at: z.iso.datetime(),
    last_used_at: z.iso.datetime().nullable(),
    expires_at: z.iso.datetime().nullable(),
  })
  .openapi("ApiKey");

export const ListKeysResponse = z
  .object({ keys: z.array(ApiKeySchema), warning: z.string() })
  .openapi("ApiKeyList");

export const FullKeysSchema = z.record(z.string(), z.string()).openapi("FullApiKeys", {
  example: { test_public: "pk_test_...", test_secret: "sk_test_..." },
  description: "The new keys in full, shown this once",
});

export const RegenerateResponse = z
  .object({
    message: z.string(),
    keys: FullKeysSchema,
    warning: z.string(),
    old_keys_expire_at: z.iso.datetime().nullable(),
  })
  .openapi("RegenerateKeysResponse");

export const RevokeResponse = z
  .object({
    message: z.string(),
    revoked_keys: z.array(z.string()),
    reason: z.string(),
    warning: z.string(),
  })
  .openapi("RevokeKeysResponse");

export const VerifyResponse = z
  .object({
    valid: z.literal(true),
    tenant: z.object({ id: z.string(), company_name: z.string() }),
    mode: z.enum(["live", "test"]),
    livemode: z.boolean(),
    key_type: z.enum(["publishable", "secret"]),
  })
  .openapi("VerifyKeyResponse");
