import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import type { AuthConfig } from "../../config";
import type { Role } from "../../db/schema";
import { newId } from "../../lib/crypto";
import { unauthenticated } from "../../lib/errors";

export const JWT_ISSUER = "edge-billing";
export const JWT_AUDIENCE = "edge-billing-api";

export type TokenType = "access" | "refresh";

export interface TokenSubject {
  userId: string;
  tenantId: string;
  role: Role;
  /** The refresh-token family (one per login); access tokens carry it to identify the session. */
  sessionId: string;
}

export interface VerifiedToken extends TokenSubject {
  jti: string;
  type: TokenType;
  expiresAt: Date;
}

const keyCache = new Map<string, Uint8Array>();
function signingKey(secret: string): Uint8Array {
  let key = keyCache.get(secret);
  if (!key) {
    key = new TextEncoder().encode(secret);
    keyCache.set(secret, key);
  }
  return key;
}

export interface SignedToken {
  token: string;
  jti: string;
  expiresAt: Date;
}

export async function signToken(
  config: AuthConfig,
  type: TokenType,
  subject: TokenSubject,
  now: Date,
): Promise<SignedToken> {
  const lifetimeMinutes =
    type === "access" ? config.JWT_ACCESS_TOKEN_LIFETIME : config.JWT_REFRESH_TOKEN_LIFETIME;
  const issuedAt = Math.floor(now.getTime() / 1000);
  const expiresAt = new Date((issuedAt + lifetimeMinutes * 60) * 1000);
  const jti = newId(type === "access" ? "at" : "rt");
  const token = await new SignJWT({
    tid: subject.tenantId,
    role: subject.role,
    sid: subject.sessionId,
    typ: type,
  })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(JWT_ISSUER)
    .setAudience(JWT_AUDIENCE)
    .setSubject(subject.userId)
    .setJti(jti)
    .setIssuedAt(issuedAt)
    .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
    .sign(signingKey(config.JWT_SECRET));
  return { token, jti, expiresAt };
}

/**
 * Verifies signature (HS256 only: `none`, RS256 and every other algorithm are refused), issuer,
 * audience, expiry and token type. Any failure is a 401 with a message that does not say which
 * check failed beyond "expired".
 */
export async function verifyToken(
  config: AuthConfig,
  token: string,
  expectedType: TokenType,
  now: Date,
): Promise<VerifiedToken> {
  try {
    const { payload } = await jwtVerify(token, signingKey(config.JWT_SECRET), {
      algorithms: ["HS256"],
      issuer: JWT_ISSUER,
      audience: JWT_AUDIENCE,
      currentDate: now,
      requiredClaims: ["sub", "jti", "exp", "iat"],
    });
    const { tid, role, sid, typ } = payload as Record<string, unknown>;
    if (
      typ !== expectedType ||
      typeof tid !== "string" ||
      typeof role !== "string" ||
      typeof sid !== "string" ||
      !payload.sub ||
      !payload.jti ||
      !payload.exp
    ) {
      throw unauthenticated("Invalid token");
    }
    return {
      userId: payload.sub,
      tenantId: tid,
      role: role as Role,
      sessionId: sid,
      jti: payload.jti,
      type: expectedType,
      expiresAt: new Date(payload.exp * 1000),
    };
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw unauthenticated("Token has expired");
    if (error instanceof joseErrors.JOSEError) throw unauthenticated("Invalid token");
    throw error;
  }
}
