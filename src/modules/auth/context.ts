import type { Context } from "hono";
import { authConfig } from "../../config";
import type { AppEnv } from "../../env";
import type { AuthContext } from "./auth.service";

/** The dependencies auth and user services need, taken from the request context. */
export const authContext = (c: Context<AppEnv>): AuthContext => ({
  services: c.var.services,
  config: authConfig(c.env),
  requestId: c.var.requestId,
});

/** The caller's IP as Cloudflare reports it, the key of per-IP throttles. */
export const clientIp = (c: Context<AppEnv>): string => c.req.header("CF-Connecting-IP") ?? "unknown";
