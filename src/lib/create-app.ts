import type { Hook } from "@hono/zod-openapi";
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../env";
import { ApiError, type ErrorDetail } from "./errors";

/** Turns zod issues into the contract's `details: [{field, message}]`. */
export function zodDetails(error: z.ZodError): ErrorDetail[] {
  return error.issues.map((issue) => ({
    field: issue.path.length ? issue.path.join(".") : "body",
    message: issue.message,
  }));
}

// Every route's validation failure goes through the same error body as everything else.
const defaultHook: Hook<unknown, AppEnv, string, unknown> = (result) => {
  if (!result.success) {
    const details = zodDetails(result.error);
    const first = details[0];
    const message = first ? `Invalid ${result.target}: ${first.field}: ${first.message}` : "Invalid request";
    throw new ApiError("validation_error", message, { details });
  }
};

/** A router with the app's env type and validation hook; modules build theirs with it. */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({ strict: false, defaultHook });
}

export { z };
