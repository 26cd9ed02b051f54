import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** Every machine-readable error code the API answers with, and its HTTP status. */
export const ERROR_STATUS = {
  validation_error: 400,
  invalid_state: 400,
  invalid_signature: 400,
  /** The seed's OAuth callback error when the user denied access at Stripe. */
  access_denied: 400,
  oauth_error: 400,
  unauthenticated: 401,
  tenant_suspended: 402,
  plan_limit_reached: 402,
  /** The customer's payment was declined (or needs their authentication); the attempt counts. */
  payment_failed: 402,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  /** A test send got no answer within 10 s. */
  webhook_timeout: 408,
  conflict: 409,
  stripe_not_connected: 409,
  account_already_connected: 409,
  /** A key of the other mode than the platform's Stripe key tried to create an object. */
  livemode_mismatch: 409,
  /** An Idempotency-Key reused with another request, or by another caller. */
  idempotency_key_reused: 409,
  /** An Idempotency-Key whose first request is still running. */
  idempotency_key_in_use: 409,
  /** An Idempotency-Key whose request was done, with an answer that showed a secret once. */
  idempotency_answer_not_kept: 409,
  /** The object's state does not allow this action (e.g. voiding a paid invoice). */
  invalid_state_transition: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal_error: 500,
  stripe_error: 502,
  /** A test send could not reach the receiver. */
  webhook_unreachable: 502,
  not_configured: 503,
  stripe_not_configured: 503,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorDetail {
  field: string;
  message: string;
}

export interface ApiErrorOptions {
  details?: ErrorDetail[];
  headers?: Record<string, string>;
  /** Fields the body carries besides the contract's (e.g. the seed's OAuth `description`). */
  extra?: Record<string, unknown>;
  cause?: unknown;
}

/**
 * The one error type services throw. `onError` turns it into the contract's body
 * `{error, message, request_id, details?}` with the status that belongs to its code.
 */
export class ApiError extends HTTPException {
  readonly code: ErrorCode;
  readonly details: ErrorDetail[] | undefined;
  readonly headers: Record<string, string> | undefined;
  readonly extra: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: ApiErrorOptions = {}) {
    super(ERROR_STATUS[code], { message, cause: options.cause });
    this.name = "ApiError";
    this.code = code;
    this.details = options.details;
    this.headers = options.headers;
    this.extra = options.extra;
  }
}

export const notFound = (what = "Resource") => new ApiError("not_found", `${what} not found`);

export const validationError = (field: string, message: string) =>
  new ApiError("validation_error", message, { details: [{ field, message }] });

export const forbidden = (message = "Your role does not allow this action") =>
  new ApiError("forbidden", message);

export const unauthenticated = (message = "Authentication credentials were not provided or are invalid") =>
  new ApiError("unauthenticated", message);

export const rateLimited = (retryAfterSeconds: number, message = "Too many requests") =>
  new ApiError("rate_limited", message, {
    headers: { "Retry-After": String(Math.max(1, Math.ceil(retryAfterSeconds))) },
  });

/** The JSON body of every error response. */
export interface ErrorBody {
  error: string;
  message: string;
  request_id: string;
  details?: ErrorDetail[];
  [extra: string]: unknown;
}

export function errorBody(
  code: string,
  message: string,
  requestId: string,
  details?: ErrorDetail[],
  extra?: Record<string, unknown>,
): ErrorBody {
  const body: ErrorBody = { ...extra, error: code, message, request_id: requestId };
  if (details?.length) body.details = details;
  return body;
}
