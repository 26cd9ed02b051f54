// The API's JSON shapes the dashboard reads, as documented in /openapi.json.

export type Role = "owner" | "admin" | "developer" | "billing";
export const ROLES: Role[] = ["owner", "admin", "developer", "billing"];

export interface Tenant {
  id: string;
  company_name: string;
  slug: string;
  domain: string | null;
  status: "active" | "suspended";
  subscription_tier: string;
  stripe_connect_account_id: string | null;
  stripe_connect_status: string;
  created_at: string;
}

export interface User {
  id: string;
  email: string;
  first_name: string | null;
  last_name: string | null;
  role: Role;
  is_active: boolean;
  has_password: boolean;
  last_login_at: string | null;
  created_at: string;
}

export interface DashboardSession {
  access_token: string;
  expires_at: string;
  user: User;
  tenant: Tenant;
}

export interface UsageLimits {
  api_requests_per_minute: number;
  api_requests_per_month: number | null;
  plans: number | null;
  webhook_endpoints: number;
  users: number | null;
}

export interface TenantDetails extends Tenant {
  suspended_reason: string | null;
  suspended_at: string | null;
  usage_limits: UsageLimits;
  usage: { users: number; plans: number; webhook_endpoints: number };
  subscription: { status: string; plan_id: string | null };
  stripe_connect: { connected: boolean; account_id: string | null; status: string };
  user_count: number;
}

export interface ApiKey {
  type: string;
  key: string;
  masked: boolean;
  status: "active" | "expiring";
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
}

export type ConnectStatus =
  | {
      connected: true;
      account_id: string;
      status: string;
      charges_enabled: boolean;
      payouts_enabled: boolean;
      requirements: {
        currently_due: string[];
        eventually_due: string[];
        past_due: string[];
        disabled_reason: string | null;
      };
      account_details: {
        email: string | null;
        business_type: string | null;
        country: string | null;
        default_currency: string | null;
        details_submitted: boolean;
      };
    }
  | { connected: false; status: string; message: string };

export type BillingInterval = "day" | "week" | "month" | "year";
export const INTERVALS: BillingInterval[] = ["day", "week", "month", "year"];

export interface Plan {
  id: string;
  name: string;
  description: string | null;
  price_cents: number;
  currency: string;
  billing_interval: BillingInterval;
  trial_days: number;
  features: string[];
  metadata: Record<string, string>;
  is_active: boolean;
  is_visible: boolean;
  livemode: boolean;
  stripe_product_id: string;
  stripe_price_id: string;
  price_display: string;
  has_trial: boolean;
  created_at: string;
  updated_at: string;
}

export interface WebhookConfig {
  webhook_url: string | null;
  webhook_secret: string | null;
  configured: boolean;
  enabled_events: string[];
  status: "enabled" | "disabled" | null;
  disabled_reason: string | null;
  disabled_at: string | null;
  previous_secret_expires_at: string | null;
}

export type DeliveryStatus = "pending" | "delivered" | "failed" | "skipped";

export interface Delivery {
  event_id: string;
  type: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: string | null;
  last_attempt_at: string | null;
  delivered_at: string | null;
  last_error: string | null;
  created_at: string;
}

export interface DeliveryAttempt {
  attempt: number;
  url: string;
  status_code: number | null;
  outcome: string;
  reason: string;
  duration_ms: number;
  response_body: string | null;
  created_at: string;
}

export interface DeliveryDetail extends Delivery {
  payload: Record<string, unknown>;
  attempt_log: DeliveryAttempt[];
}

export interface AuditEntry {
  id: string;
  action: string;
  actor: { type: string; id: string | null };
  target: { type: string | null; id: string | null };
  reason: string | null;
  metadata: Record<string, unknown> | null;
  request_id: string | null;
  created_at: string;
}

export interface PlatformPlan {
  id: string;
  name: string;
  description: string | null;
  tier: string;
  price_cents: number;
  currency: string;
  billing_interval: BillingInterval;
  price_display: string;
  limits: UsageLimits;
}

export interface PlatformSubscription {
  tenant_status: "active" | "suspended";
  suspended_reason: string | null;
  tier: string;
  limits: UsageLimits;
  plan: PlatformPlan | null;
  status: string;
  stripe_customer_id: string | null;
  stripe_subscription_id: string | null;
  current_period_start: string | null;
  current_period_end: string | null;
  trial_end: string | null;
  cancel_at_period_end: boolean;
}
