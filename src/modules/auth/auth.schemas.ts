import { z } from "@hono/zod-openapi";
import { ROLES, type TenantRow, type UserRow } from "../../db/schema";
import { passwordProblems } from "../../lib/password";

export const EmailSchema = z
  .email()
  .max(254)
  .transform((email) => email.toLowerCase())
  .openapi({ example: "admin@mysaas.com" });

/** A password that satisfies the policy; the policy's reasons become the error message. */
export const NewPasswordSchema = z
  .string()
  .superRefine((password, ctx) => {
    for (const problem of passwordProblems(password))
      ctx.addIssue({ code: "custom", message: `Password ${problem}` });
  })
  .openapi({ example: "SecurePass123!", description: "10-128 characters with letters and digits" });

export const RoleSchema = z.enum(ROLES).openapi({ example: "developer" });

export const TenantSchema = z
  .object({
    id: z.string().openapi({ example: "ten_4f9XbQ2mKc8RzT1uVw3yLp" }),
    company_name: z.string().openapi({ example: "Acme Corp" }),
    slug: z.string().openapi({ example: "acme-corp" }),
    domain: z.string().nullable().openapi({ example: "acme.com" }),
    status: z.enum(["active", "suspended"]),
    subscription_tier: z.string().openapi({ example: "free" }),
    stripe_connect_account_id: z.string().nullable(),
    stripe_connect_status: z.string().openapi({ example: "not_connected" }),
    created_at: z.iso.datetime(),
  })
  .openapi("Tenant");

export const UserSchema = z
  .object({
    id: z.string().openapi({ example: "usr_8sQmX2bLr5TzN0cVk4hJw1" }),
    email: z.string(),
    first_name: z.string().nullable(),
    last_name: z.string().nullable(),
    role: RoleSchema,
    is_active: z.boolean(),
    has_password: z.boolean(),
    last_login_at: z.iso.datetime().nullable(),
    created_at: z.iso.datetime(),
  })
  .openapi("User");

export const TokenPairSchema = z
  .object({
    access: z
      .string()
      .openapi({ description: "Access JWT (HS256), sent as `Authorization: Bearer <access>`" }),
    refresh: z.string().openapi({ description: "Single-use refresh JWT; each refresh returns a new one" }),
  })
  .openapi("TokenPair");

export const serializeTenant = (tenant: TenantRow): z.infer<typeof TenantSchema> => ({
  id: tenant.id,
  company_name: tenant.companyName,
  slug: tenant.slug,
  domain: tenant.domain,
  status: tenant.status,
  subscription_tier: tenant.subscriptionTier,
  stripe_connect_account_id: tenant.stripeConnectAccountId,
  stripe_connect_status: tenant.stripeConnectStatus,
  created_at: tenant.createdAt.toISOString(),
});

export const serializeUser = (user: UserRow): z.infer<typeof UserSchema> => ({
  id: user.id,
  email: user.email,
  first_name: user.firstName,
  last_name: user.lastName,
  role: user.role,
  is_active: user.isActive,
  has_password: user.passwordHash !== null,
  last_login_at: user.lastLoginAt?.toISOString() ?? null,
  created_at: user.createdAt.toISOString(),
});

export const RegisterBody = z
  .object({
    company_name: z.string().trim().min(2).max(100).openapi({ example: "My SaaS" }),
    email: EmailSchema,
    password: NewPasswordSchema,
    domain: z
      .string()
      .trim()
      .toLowerCase()
      .regex(/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, "Invalid domain name")
      .optional()
      .openapi({ example: "mysaas.com" }),
    first_name: z.string().trim().max(100).optional(),
    last_name: z.string().trim().max(100).optional(),
  })
  .openapi("RegisterRequest");

export const SessionResponse = z
  .object({
    message: z.string(),
    tenant: TenantSchema,
    user: UserSchema,
    tokens: TokenPairSchema,
  })
  .openapi("Session");

export const RegisterResponse = SessionResponse.extend({
  api_keys: z.record(z.string(), z.string()).openapi({
    description:
      "The four API keys in full (`live_public`, `live_secret`, `test_public`, `test_secret`), shown this once",
  }),
}).openapi("Registration");

export const LoginBody = z
  .object({
    email: EmailSchema,
    password: z.string().min(1).max(1024),
  })
  .openapi("LoginRequest");

export const RefreshBody = z.object({ refresh: z.string().min(1).max(4096) }).openapi("RefreshRequest");

export const LogoutBody = z
  .object({
    all: z
      .boolean()
      .optional()
      .openapi({ description: "true: end every session of the user, not only this one" }),
  })
  .openapi("LogoutRequest");

export const ChangePasswordBody = z
  .object({
    current_password: z.string().min(1).max(1024),
    new_password: NewPasswordSchema,
  })
  .openapi("ChangePasswordRequest");

export const MeResponse = UserSchema.extend({ tenant: TenantSchema }).openapi("Me");

export const MessageResponse = z.object({ message: z.string() }).openapi("Message");

export const UsageLimitsSchema = z
  .object({
    api_requests_per_minute: z.number().int(),
    api_requests_per_month: z.number().int().nullable(),
    plans: z.number().int().nullable(),
    webhook_endpoints: z.number().int(),
    users: z.number().int().nullable(),
  })
  .openapi("UsageLimits", { description: "Limits of the tenant's platform tier; null means unlimited" });

export const TenantDetailsResponse = TenantSchema.extend({
  suspended_reason: z.string().nullable(),
  suspended_at: z.iso.datetime().nullable(),
  usage_limits: UsageLimitsSchema,
  usage: z.object({
    users: z.number().int(),
    plans: z.number().int().openapi({ description: "Active plans" }),
    webhook_endpoints: z.number().int(),
  }),
  subscription: z.object({
    status: z.string().openapi({ example: "active" }),
    plan_id: z.string().nullable(),
  }),
  stripe_connect: z.object({
    connected: z.boolean(),
    account_id: z.string().nullable(),
    status: z.string(),
  }),
  user_count: z.number().int(),
}).openapi("TenantDetails");
