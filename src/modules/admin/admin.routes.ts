import { createRouter } from "../../lib/create-app";
import { adminAnalyticsRoutes } from "./analytics.routes";
import { adminPlatformPlansRoutes } from "./platform-plans.routes";
import { adminStripeEventsRoutes } from "./stripe-events.routes";
import { adminTenantsRoutes } from "./tenants.routes";

/**
 * The platform operator API under `/api/v1/admin/`: platform plans and their Stripe sync,
 * tenants, received Stripe events, platform analytics and the analytics reconciliation. Every route needs `Authorization: Bearer <PLATFORM_ADMIN_TOKEN>`
 * (`requireAdmin`); mount with `app.route("/", adminRoutes)`.
 */
export const adminRoutes = createRouter()
  .route("/", adminPlatformPlansRoutes)
  .route("/", adminTenantsRoutes)
  .route("/", adminStripeEventsRoutes)
  .route("/", adminAnalyticsRoutes);

export { ADMIN_BEARER_SCHEME } from "./admin.auth";
