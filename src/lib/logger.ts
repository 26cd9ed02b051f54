import { DrizzleQueryError } from "drizzle-orm";

/**
 * One structured log line per event worth keeping: JSON with the request id (which travels in
 * queue messages and Durable Object calls, so one request's trail can be followed across them),
 * the tenant, the route or job, and the outcome. Secrets never go in: callers pass ids, not keys.
 */
export type LogLevel = "info" | "warn" | "error";

export interface LogFields {
  request_id?: string;
  tenant_id?: string | null;
  /** `GET /api/v1/...`, `queue stripe.event`, `coordinator alarm`, `cron`. */
  route?: string;
  outcome?: string | number;
  [field: string]: unknown;
}

export interface Logger {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger whose lines carry these fields too. */
  with(fields: LogFields): Logger;
}

export function createLogger(base: LogFields = {}): Logger {
  const write = (level: LogLevel, msg: string, fields?: LogFields) => {
    const line = JSON.stringify({ level, msg, ...base, ...fields });
    if (level === "error") console.error(line);
    else if (level === "warn") console.warn(line);
    else console.log(line);
  };
  return {
    info: (msg, fields) => write("info", msg, fields),
    warn: (msg, fields) => write("warn", msg, fields),
    error: (msg, fields) => write("error", msg, fields),
    with: (fields) => createLogger({ ...base, ...fields }),
  };
}

/** An error's message for a stored record (an event's outcome): a failed query's without its values. */
export function errorMessage(error: unknown): string {
  if (error instanceof DrizzleQueryError) return errorFields(error).error;
  return error instanceof Error ? error.message : String(error);
}

/** What an error says, for a log line: its message and stack, never a secret-bearing payload. */
export function errorFields(error: unknown): { error: string; stack?: string } {
  // drizzle's query errors carry every bound value in their message and stack (`params: ...`): a
  // password's hash, a setup token's hash, a webhook secret, customers' emails. The statement and
  // the driver's own error (which names no value) say what failed.
  if (error instanceof DrizzleQueryError) {
    const cause = error.cause instanceof Error ? error.cause : undefined;
    return {
      error: `Failed query: ${error.query}${cause ? ` (${String(cause)})` : ""}`,
      ...(cause?.stack ? { stack: cause.stack } : {}),
    };
  }
  if (error instanceof Error) return { error: String(error), ...(error.stack ? { stack: error.stack } : {}) };
  return { error: String(error) };
}
