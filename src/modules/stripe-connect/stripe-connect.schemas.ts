import { z } from "@hono/zod-openapi";

export const FlowSchema = z
  .enum(["account_links", "oauth"])
  .openapi({ description: "`account_links` (default) or legacy `oauth` (needs STRIPE_CONNECT_CLIENT_ID)" });

export const ConnectBody = z.object({ flow: FlowSchema.optional() }).openapi("ConnectRequest");
export const ConnectQuery = z.object({ flow: FlowSchema.optional() });

export const ConnectResponse = z
  .object({
    url: z.string().openapi({ description: "Where to send the tenant's browser" }),
    state: z.string().openapi({ description: "Single-use, bound to this tenant and user, valid 10 minutes" }),
    redirect_uri: z.string(),
    flow: FlowSchema,
  })
  .openapi("ConnectStart");

export const CallbackQuery = z.object({
  state: z.string().max(200).optional(),
  code: z.string().max(500).optional(),
  error: z.string().max(200).optional(),
  error_description: z.string().max(1000).optional(),
  refresh: z.string().max(10).optional(),
});

const ConnectTenant = z.object({
  id: z.string(),
  company_name: z.string().optional(),
  stripe_connect_account_id: z.string().nullable(),
  stripe_connect_status: z.string(),
});

export const CallbackResponse = z
  .object({ message: z.string(), account_id: z.string(), tenant: ConnectTenant })
  .openapi("ConnectCallback");

export const CallbackErrorResponse = z
  .object({ error: z.string(), description: z.string(), message: z.string(), request_id: z.string() })
  .openapi("ConnectCallbackError", {
    description: "The seed's `{error, description}` body, for `error=access_denied`",
  });

export const StatusResponse = z
  .union([
    z.object({
      connected: z.literal(true),
      account_id: z.string(),
      status: z.string(),
      charges_enabled: z.boolean(),
      payouts_enabled: z.boolean(),
      requirements: z.object({
        currently_due: z.array(z.string()),
        eventually_due: z.array(z.string()),
        past_due: z.array(z.string()),
        disabled_reason: z.string().nullable(),
      }),
      account_details: z.object({
        email: z.string().nullable(),
        business_type: z.string().nullable(),
        country: z.string().nullable(),
        default_currency: z.string().nullable(),
        details_submitted: z.boolean(),
      }),
    }),
    z.object({ connected: z.literal(false), status: z.string(), message: z.string() }),
  ])
  .openapi("ConnectStatus");

export const DisconnectResponse = z
  .object({ message: z.string(), tenant: ConnectTenant })
  .openapi("ConnectDisconnect");
