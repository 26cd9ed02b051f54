import { env } from "cloudflare:workers";
import { decodeJwt, SignJWT } from "jose";
import { expect } from "vitest";
import { call, registerTeam, type TeamTenant } from "../harness";

export type KeyName = "live_secret" | "live_public" | "test_secret" | "test_public";

/** A tenant of the security suite: one logged-in user per role, and its four API keys in full. */
export interface SecurityTenant extends TeamTenant {
  keys: Record<KeyName, string>;
}

export async function securityTenant(): Promise<SecurityTenant> {
  const team = await registerTeam();
  const res = await call("/api/v1/auth/tenants/api-keys/regenerate/", {
    token: team.tokens.owner,
    body: { key_type: "all", confirm: true },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return { ...team, keys: res.body.keys };
}

export const SECRET_KEYS: readonly KeyName[] = ["live_secret", "test_secret"];
export const PUBLISHABLE_KEYS: readonly KeyName[] = ["live_public", "test_public"];

/**
 * The same claims as `token` (a real access token), signed HS256 with `secret`: by default a key
 * that is not the server's, so only the signature tells it from the real one.
 */
export async function forgeToken(
  token: string,
  secret = "not-the-server-secret-0123456789abcdef",
): Promise<string> {
  const claims = decodeJwt(token);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(new TextEncoder().encode(secret));
}

/** The server's own signing key, for the control that a forged token differs only by its key. */
export const serverSecret = () => env.JWT_SECRET;

/** Marks the tenant suspended in D1 (what platform billing does when it suspends). */
export async function suspend(tenantId: string) {
  const result = await env.DB.prepare("UPDATE tenants SET status = 'suspended' WHERE id = ?")
    .bind(tenantId)
    .run();
  expect(result.meta.changes).toBe(1);
}
