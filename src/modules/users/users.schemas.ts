import { z } from "@hono/zod-openapi";
import { EmailSchema, RoleSchema, UserSchema } from "../auth/auth.schemas";

export const InviteUserBody = z
  .object({
    email: EmailSchema,
    role: RoleSchema,
    password: z
      .string()
      .optional()
      .openapi({ description: "Initial password. Omit it to get a one-time setup token instead." }),
    first_name: z.string().trim().max(100).optional(),
    last_name: z.string().trim().max(100).optional(),
  })
  .openapi("InviteUserRequest");

export const InviteUserResponse = z
  .object({
    message: z.string(),
    user: UserSchema,
    setup_token: z
      .string()
      .nullable()
      .openapi({ description: "Shown once; the user sets a password with it at `POST /users/setup/`" }),
    setup_token_expires_at: z.iso.datetime().nullable(),
  })
  .openapi("InviteUserResponse");

export const UpdateUserBody = z
  .object({
    role: RoleSchema.optional(),
    first_name: z.string().trim().max(100).nullable().optional(),
    last_name: z.string().trim().max(100).nullable().optional(),
  })
  .refine((body) => Object.keys(body).length > 0, { message: "Send at least one field to change" })
  .openapi("UpdateUserRequest");

export const UserIdParam = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: "id", in: "path" }, example: "usr_8sQmX2bLr5TzN0cVk4hJw1" }),
});

export const UserListResponse = z
  .object({ users: z.array(UserSchema), count: z.number().int() })
  .openapi("UserList");

export const UserResponse = z.object({ user: UserSchema }).openapi("UserResponse");

export const SetupPasswordBody = z
  .object({
    token: z.string().min(1).max(200),
    password: z.string(),
  })
  .openapi("SetupPasswordRequest");
