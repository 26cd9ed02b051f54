// Stripe's error envelopes. API errors are nested (`{error: {type, code, message, param, ...}}`);
// OAuth errors are flat (`{error: "invalid_grant", error_description}`).

export interface StripeErrorBody {
  type: string;
  code?: string;
  message: string;
  param?: string;
  decline_code?: string;
  doc_url?: string;
}

/** Thrown by handlers; the server turns it into the HTTP answer. */
export class HttpError extends Error {
  status: number;
  payload: Record<string, unknown>;
  headers: Record<string, string>;
  constructor(status: number, payload: Record<string, unknown>, headers: Record<string, string> = {}) {
    super(typeof payload.error === "string" ? payload.error : "stripe error");
    this.status = status;
    this.payload = payload;
    this.headers = headers;
  }
}

export function docUrl(code: string): string {
  return `https://docs.stripe.com/error-codes/${code.replace(/_/g, "-")}`;
}

export function apiError(status: number, body: StripeErrorBody): HttpError {
  const full: StripeErrorBody = { ...body };
  if (full.code && !full.doc_url) full.doc_url = docUrl(full.code);
  return new HttpError(status, { error: full });
}

export function missing(param: string): HttpError {
  return apiError(400, {
    type: "invalid_request_error",
    code: "parameter_missing",
    param,
    message: `Missing required param: ${param}.`,
  });
}

export function invalid(param: string, message: string, code = "parameter_invalid"): HttpError {
  return apiError(400, { type: "invalid_request_error", code, param, message });
}

export function noSuch(thing: string, id: string, param = "id"): HttpError {
  return apiError(404, {
    type: "invalid_request_error",
    code: "resource_missing",
    param,
    message: `No such ${thing}: '${id}'`,
  });
}

export function cardDeclined(
  declineCode = "generic_decline",
  message = "Your card was declined.",
): HttpError {
  return apiError(402, { type: "card_error", code: "card_declined", decline_code: declineCode, message });
}

export function oauthError(status: number, error: string, description: string): HttpError {
  return new HttpError(status, { error, error_description: description });
}

/** The default body of an injected failure with this status. */
export function defaultErrorFor(status: number): StripeErrorBody {
  switch (status) {
    case 400:
      return { type: "invalid_request_error", message: "Invalid request (injected by the Stripe double)." };
    case 401:
      return { type: "authentication_error", message: "Invalid API Key provided." };
    case 402:
      return {
        type: "card_error",
        code: "card_declined",
        decline_code: "generic_decline",
        message: "Your card was declined.",
      };
    case 403:
      return { type: "invalid_request_error", code: "account_invalid", message: "Permission denied." };
    case 404:
      return { type: "invalid_request_error", code: "resource_missing", message: "No such resource." };
    case 409:
      return {
        type: "invalid_request_error",
        code: "lock_timeout",
        message:
          "This object cannot be accessed right now because another API request or Stripe process is currently accessing it.",
      };
    case 429:
      return {
        type: "rate_limit_error",
        code: "rate_limit",
        message:
          "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.",
      };
    default:
      return { type: "api_error", message: "An unknown error occurred" };
  }
}

/** An API key as Stripe echoes it in an error: its start and end only. */
export const maskKey = (key: string) => `${key.slice(0, 8)}****${key.slice(-4)}`;

/** Stripe's answer to a key asking for an account it has no access to (deauthorized, deleted, unknown). */
export function accountInvalid(key: string, account: string): HttpError {
  return apiError(403, {
    type: "invalid_request_error",
    code: "account_invalid",
    message: `The provided key '${maskKey(key)}' does not have access to account '${account}' (or that account does not exist). Application access may have been revoked.`,
  });
}
