import { z } from "@hono/zod-openapi";

export const ErrorSchema = z
  .object({
    error: z.string().openapi({ example: "validation_error" }),
    message: z.string().openapi({ example: "Invalid json: email: Invalid email address" }),
    request_id: z.string().openapi({ example: "3f0c7c1e-2b0a-4a58-9a4e-6f1d7f3c2a11" }),
    details: z
      .array(z.object({ field: z.string(), message: z.string() }))
      .optional()
      .openapi({ description: "Present on validation errors: one entry per invalid field." }),
  })
  .openapi("Error");

const errorResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: ErrorSchema } },
});

/** Every status the API may answer with an error, for spreading into route definitions. */
export const errorResponses = {
  400: errorResponse("Invalid input (`validation_error`)"),
  401: errorResponse("Missing or invalid credentials (`unauthenticated`)"),
  402: errorResponse("Tenant suspended or plan limit reached, or a card declined (`payment_failed`)"),
  403: errorResponse("The caller's role does not allow this (`forbidden`)"),
  404: errorResponse("Not found, or belongs to another tenant (`not_found`)"),
  409: errorResponse("Conflicts with the current state (`conflict`)"),
  413: errorResponse("Body larger than 1 MB (`payload_too_large`)"),
  429: errorResponse("Too many requests (`rate_limited`), see `Retry-After`"),
  500: errorResponse("Unexpected error (`internal_error`)"),
  503: errorResponse("A required setting is missing (`not_configured`)"),
} as const;

/** Every error response plus 502 `stripe_error`, for routes that call Stripe. */
export const stripeErrorResponses = {
  ...errorResponses,
  502: errorResponse("Stripe failed (`stripe_error`, Stripe's message passed on); nothing was changed"),
} as const;

/** A `true`/`false` query parameter, parsed to a boolean. */
export const BooleanQuery = z
  .enum(["true", "false"])
  .transform((value) => value === "true")
  .openapi({ type: "string", enum: ["true", "false"] });

/** The subset of error responses a public (unauthenticated) route may give. */
export const publicErrorResponses = {
  400: errorResponses[400],
  413: errorResponses[413],
  429: errorResponses[429],
  500: errorResponses[500],
  503: errorResponses[503],
} as const;

export const jsonBody = <T extends z.ZodType>(schema: T, description?: string) => ({
  required: true,
  ...(description ? { description } : {}),
  content: { "application/json": { schema } },
});

export const jsonResponse = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

type Security = Record<string, string[]>[];

export const BEARER_AUTH: Security = [{ bearerAuth: [] }];
export const API_KEY_AUTH: Security = [{ apiKeyHeader: [] }, { apiKeyBearer: [] }];
/** Routes both users (dashboard) and secret API keys (tenant servers) call. */
export const USER_OR_KEY_AUTH: Security = [...BEARER_AUTH, ...API_KEY_AUTH];
