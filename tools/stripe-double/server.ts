// A local, in-memory Stripe double speaking Stripe's wire format (see README.md in this folder).
// `startStripeDouble()` for tests; `node tools/stripe-double/server.ts --port 12111` standalone.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { now, offsetFor, withOffset } from "./clock.ts";
import { apiError, defaultErrorFor, HttpError } from "./errors.ts";
import { type FormObject, parseForm } from "./form.ts";
import {
  apiKeyOf,
  authenticate,
  errorReply,
  header,
  readBody,
  remember,
  replay,
  send,
  sendSaved,
  takeFailure,
} from "./http.ts";
import { type Ctx, matchRoute, type Reply } from "./router.ts";
import { ROUTES } from "./routes.ts";
import {
  createState,
  type LoggedRequest,
  randomString,
  resetState,
  type State,
  type WebhookConfig,
} from "./state.ts";
import { API_VERSION, flush } from "./webhooks.ts";

export interface StripeDoubleOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Where events are POSTed (kept across `/__double/reset`). */
  webhooks?: Partial<WebhookConfig>;
  /** Reject parameters an endpoint does not know (400 parameter_unknown) instead of ignoring them. */
  strict?: boolean;
  /** Log one line per request to stderr. */
  verbose?: boolean;
}

export interface StripeDouble {
  /** e.g. http://127.0.0.1:12111 (no trailing slash). */
  url: string;
  port: number;
  state: State;
  /** Clears all objects, failures, logs and events (like POST /__double/reset). */
  reset(): void;
  /** Resolves when every webhook delivery started so far has finished. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export async function startStripeDouble(options: StripeDoubleOptions = {}): Promise<StripeDouble> {
  const state = createState(options.webhooks, options.strict ?? false);
  const host = options.host ?? "127.0.0.1";
  const verbose = options.verbose ?? process.env.STRIPE_DOUBLE_VERBOSE === "1";
  let url = "";

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = `req_${randomString(14)}`;
    const method = (req.method ?? "GET").toUpperCase();
    const target = new URL(req.url ?? "/", "http://double.invalid");
    const path = target.pathname;
    const rawBody = await readBody(req);
    const base: Record<string, string> = {
      "request-id": requestId,
      "stripe-version": header(req, "stripe-version") ?? API_VERSION,
      "access-control-allow-origin": "*",
    };
    const query = parseForm(target.searchParams);
    const form: FormObject = method === "POST" && !path.startsWith("/__double/") ? parseForm(rawBody) : {};
    const found = matchRoute(ROUTES, method, path);
    const kind =
      found?.route.kind ?? (path.startsWith("/v1/") ? "api" : path.startsWith("/oauth/") ? "oauth" : null);
    const hostHeader = header(req, "host");
    const ctx: Ctx = {
      state,
      method,
      path,
      query,
      params: method === "POST" ? { ...query, ...form } : query,
      scope: null,
      livemode: false,
      apiKey: apiKeyOf(req),
      requestId,
      idempotencyKey: header(req, "idempotency-key"),
      baseUrl: hostHeader ? `http://${hostHeader}` : url,
      match: found?.match ?? [],
      rawBody,
      allowed: null,
    };
    if (kind === "control" || kind === null) {
      let reply: Reply;
      try {
        reply = found
          ? await withOffset(0, () => found.route.handler(ctx))
          : {
              status: 404,
              body: {
                error: {
                  type: "invalid_request_error",
                  message: `Unrecognized request URL (${method}: ${path}).`,
                },
              },
            };
      } catch (err) {
        if (!(err instanceof HttpError)) throw err;
        reply = errorReply(err);
      }
      return send(res, reply, base);
    }

    const entry: LoggedRequest = {
      id: requestId,
      time: Date.now(),
      method,
      path,
      query,
      params: ctx.params,
      headers: {
        authorization_present: ctx.apiKey !== null,
        stripe_account: header(req, "stripe-account"),
        idempotency_key: ctx.idempotencyKey,
        stripe_version: header(req, "stripe-version"),
        host: hostHeader,
      },
      status: null,
      idempotent_replayed: false,
      ignored_params: [],
    };
    state.requests.push(entry);
    const finish = (reply: Reply) => {
      entry.status = reply.status;
      if (verbose) console.error(`stripe-double ${method} ${path} -> ${reply.status}`);
      send(res, reply, base);
    };

    const offset = offsetFor(state.clockRules, {
      account: entry.headers.stripe_account,
      idempotencyKey: ctx.idempotencyKey,
    });
    // Everything that reads the clock (objects' `created`, the Date header) sees this request's skew.
    base.date = new Date(withOffset(offset, now) * 1000).toUTCString();
    return withOffset(offset, () => answer(ctx, kind, entry, base, found, res, finish));
  }

  async function answer(
    ctx: Ctx,
    kind: string | null,
    entry: LoggedRequest,
    base: Record<string, string>,
    found: ReturnType<typeof matchRoute>,
    res: ServerResponse,
    finish: (reply: Reply) => void,
  ): Promise<void> {
    const { method, path } = ctx;
    const rule = takeFailure(state, entry);
    if (rule?.hang) return; // never answered; close() drops the connection
    if (rule && rule.delayMs > 0) await new Promise((r) => setTimeout(r, rule.delayMs));
    if (rule && rule.status !== null) {
      const error = { ...defaultErrorFor(rule.status), ...(rule.error ?? {}) };
      return finish({
        status: rule.status,
        body: { error },
        headers: rule.status === 429 ? { "retry-after": "1" } : {},
      });
    }

    let reply: Reply;
    const receivedAt = now();
    try {
      if (kind === "api") authenticate(ctx, entry.headers.stripe_account);
      else if (ctx.apiKey) ctx.livemode = ctx.apiKey.includes("_live_");
      const saved = replay(ctx, receivedAt);
      if (saved) {
        entry.idempotent_replayed = true;
        entry.status = saved.status;
        return sendSaved(res, saved, { ...base, "idempotency-key": ctx.idempotencyKey ?? "" });
      }
      if (!found) {
        throw apiError(404, {
          type: "invalid_request_error",
          message: `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
        });
      }
      reply = await found.route.handler(ctx);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      reply = errorReply(err);
    }
    remember(ctx, reply, receivedAt);
    entry.ignored_params = ctx.allowed
      ? Object.keys(ctx.params).filter((k) => !ctx.allowed?.includes(k))
      : [];
    if (ctx.idempotencyKey && method === "POST")
      reply.headers = { "idempotency-key": ctx.idempotencyKey, ...reply.headers };
    finish(reply);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      console.error("stripe-double: internal error", err);
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            error: { type: "api_error", message: "An unknown error occurred (double crashed)" },
          }),
        );
      }
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(options.port ?? 0, host, () => ok());
  });
  const { port } = server.address() as AddressInfo;
  url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  return {
    url,
    port,
    state,
    reset: () => resetState(state),
    flush: () => flush(state),
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: process.env.STRIPE_DOUBLE_PORT ?? "12111" },
      host: { type: "string", default: "127.0.0.1" },
      "webhook-url": { type: "string" },
      "webhook-secret": { type: "string" },
      "connect-webhook-url": { type: "string" },
      "connect-webhook-secret": { type: "string" },
      strict: { type: "boolean", default: false },
      verbose: { type: "boolean", default: false },
    },
  });
  const double = await startStripeDouble({
    port: Number(values.port),
    host: values.host,
    strict: values.strict,
    verbose: values.verbose,
    webhooks: {
      url: values["webhook-url"] ?? null,
      connect_url: values["connect-webhook-url"] ?? null,
      ...(values["webhook-secret"] ? { secret: values["webhook-secret"] } : {}),
      ...(values["connect-webhook-secret"] ? { connect_secret: values["connect-webhook-secret"] } : {}),
    },
  });
  console.log(`Stripe double listening on ${double.url} (control: ${double.url}/__double/health)`);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      void double.close().then(() => process.exit(0));
    });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
