import { createRoute } from "@hono/zod-openapi";
import { createRouter } from "../../lib/create-app";
import { BEARER_AUTH, errorResponses, jsonBody, jsonResponse, publicErrorResponses } from "../../lib/openapi";
import { MessageResponse, SessionResponse, serializeTenant, serializeUser } from "../auth/auth.schemas";
import { requireRole, requireUser } from "../auth/middleware";
import { tokenPair } from "../auth/sessions";
import { SHOWN_ONCE } from "../idempotency/idempotency";
import {
  InviteUserBody,
  InviteUserResponse,
  SetupPasswordBody,
  UpdateUserBody,
  UserIdParam,
  UserListResponse,
  UserResponse,
} from "./users.schemas";
import * as usersService from "./users.service";

const tags = ["Users"];
const BASE = "/api/v1/auth/tenants/users";
const ownerOnly = [requireUser, requireRole("owner")];

const listRoute = createRoute({
  method: "get",
  path: BASE,
  tags,
  summary: "List the tenant's users",
  security: BEARER_AUTH,
  middleware: [requireUser] as const,
  responses: { 200: jsonResponse(UserListResponse, "Users of the tenant"), ...errorResponses },
});

const inviteRoute = createRoute({
  method: "post",
  path: BASE,
  tags,
  summary: "Invite a user (owner)",
  description:
    "Creates a user with a role. With `password` the user can log in at once; without it the answer carries a one-time `setup_token` (72 h) that the user redeems at `POST /users/setup/`.",
  security: BEARER_AUTH,
  middleware: ownerOnly,
  request: { body: jsonBody(InviteUserBody) },
  responses: { 201: jsonResponse(InviteUserResponse, "User created"), ...errorResponses },
});

const updateRoute = createRoute({
  method: "patch",
  path: `${BASE}/{id}`,
  tags,
  summary: "Change a user's role or name (owner)",
  description: "The last owner of a tenant cannot be demoted (409).",
  security: BEARER_AUTH,
  middleware: ownerOnly,
  request: { params: UserIdParam, body: jsonBody(UpdateUserBody) },
  responses: { 200: jsonResponse(UserResponse, "User updated"), ...errorResponses },
});

const deleteRoute = createRoute({
  method: "delete",
  path: `${BASE}/{id}`,
  tags,
  summary: "Remove a user (owner)",
  description: "Signs the user out everywhere. The last owner of a tenant cannot be removed (409).",
  security: BEARER_AUTH,
  middleware: ownerOnly,
  request: { params: UserIdParam },
  responses: { 200: jsonResponse(MessageResponse, "User removed"), ...errorResponses },
});

const setupRoute = createRoute({
  method: "post",
  path: `${BASE}/setup`,
  tags,
  summary: "Set a password with a one-time setup token",
  request: { body: jsonBody(SetupPasswordBody) },
  responses: {
    200: jsonResponse(SessionResponse, "Password set; signed in"),
    401: errorResponses[401],
    ...publicErrorResponses,
  },
});

export const usersRoutes = createRouter()
  .openapi(setupRoute, async (c) => {
    const { tenant, user, session } = await usersService.completeSetup(c.var.ctx, c.req.valid("json"));
    return c.json(
      {
        message: "Password set successfully",
        tenant: serializeTenant(tenant),
        user: serializeUser(user),
        tokens: tokenPair(session),
      },
      200,
      SHOWN_ONCE,
    );
  })
  .openapi(listRoute, async (c) => {
    const users = await usersService.listUsers(c.var.ctx);
    return c.json({ users: users.map(serializeUser), count: users.length }, 200);
  })
  .openapi(inviteRoute, async (c) => {
    const { user, setupToken } = await usersService.inviteUser(c.var.ctx, c.req.valid("json"));
    return c.json(
      {
        message: setupToken ? "User invited; share the setup token with them" : "User created",
        user: serializeUser(user),
        setup_token: setupToken,
        setup_token_expires_at: user.setupTokenExpiresAt?.toISOString() ?? null,
      },
      201,
      setupToken ? SHOWN_ONCE : {},
    );
  })
  .openapi(updateRoute, async (c) => {
    const user = await usersService.updateUser(c.var.ctx, c.req.valid("param").id, c.req.valid("json"));
    return c.json({ user: serializeUser(user) }, 200);
  })
  .openapi(deleteRoute, async (c) => {
    await usersService.removeUser(c.var.ctx, c.req.valid("param").id);
    return c.json({ message: "User removed" }, 200);
  });
