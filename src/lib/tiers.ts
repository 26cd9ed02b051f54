/**
 * Usage limits of the platform's tiers. A tenant without a platform subscription is on `free`.
 * `null` means unlimited. API rate limits are enforced per key by the API-key middleware.
 */
import type { PlanLimits } from "../db/schema";
import { ApiError } from "./errors";

export type TierLimits = PlanLimits;

export const TIER_LIMITS = {
  free: {
    api_requests_per_minute: 60,
    api_requests_per_month: 10_000,
    plans: 3,
    webhook_endpoints: 1,
    users: 5,
  },
  starter: {
    api_requests_per_minute: 600,
    api_requests_per_month: 250_000,
    plans: 20,
    webhook_endpoints: 3,
    users: 10,
  },
  pro: {
    api_requests_per_minute: 6_000,
    api_requests_per_month: null,
    plans: null,
    webhook_endpoints: 10,
    users: null,
  },
} as const satisfies Record<string, TierLimits>;

export type Tier = keyof typeof TIER_LIMITS;

export function tierLimits(tier: string): TierLimits {
  return TIER_LIMITS[(tier in TIER_LIMITS ? tier : "free") as Tier];
}

/** A tenant's limits: its platform plan's when it has one, else its tier's defaults. */
export function effectiveLimits(tenant: { subscriptionTier: string; limits: PlanLimits | null }): TierLimits {
  return tenant.limits ?? tierLimits(tenant.subscriptionTier);
}

/** The 402 `plan_limit_reached` of a count limit of the tenant's plan, naming the limit. */
export function limitReached(max: number, limit: string, what: string): ApiError {
  return new ApiError(
    "plan_limit_reached",
    `Your platform plan allows ${max} ${what} (limit: ${limit}); upgrade the plan or remove some first`,
  );
}
