import { z } from "@hono/zod-openapi";
import { TenantSchema, UserSchema } from "../auth/auth.schemas";

export { LoginBody, RegisterBody } from "../auth/auth.schemas";
export { SetupPasswordBody } from "../users/users.schemas";

/**
 * What the dashboard's session routes answer: the access token (kept in the page's memory only),
 * its expiry, and who is signed in. The refresh token is never in a body: it travels only in the
 * `__Host-eb_refresh` cookie (HttpOnly, Secure, SameSite=Strict, Path=/).
 */
export const DashboardSessionResponse = z
  .object({
    access_token: z
      .string()
      .openapi({ description: "Access JWT for `Authorization: Bearer`; keep it in memory" }),
    token_type: z.literal("Bearer"),
    expires_at: z.iso.datetime().openapi({ description: "When the access token expires" }),
    user: UserSchema,
    tenant: TenantSchema,
  })
  .openapi("DashboardSession");

export const DashboardRegistrationResponse = DashboardSessionResponse.extend({
  api_keys: z.record(z.string(), z.string()).openapi({
    description:
      "The four API keys in full (`live_public`, `live_secret`, `test_public`, `test_secret`), shown this once",
  }),
}).openapi("DashboardRegistration");

export const SignedOutResponse = z.object({ message: z.string() }).openapi("DashboardSignedOut");
