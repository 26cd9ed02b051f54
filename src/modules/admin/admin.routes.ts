import { createRouter } from "../../lib/create-app";
import { adminPlatformPlansRoutes } from "./platform-plans.routes";
import { adminStripeEventsRoutes } from "./stripe-events.routes";
import { adminTenantsRoutes } from "./tenants.routes";

/**
 * The platform operator API under `/api/v1/admin/`: platform plans and their Stripe sync,
 * tenants, received Stripe events. Every route needs `Authorization: Bearer <PLATFORM_ADMIN_TOKEN>`
 * (`requireAdmin`); mount with `app.route("/", adminRoutes)`.
 */
export const adminRoutes = createRouter()
  .route("/", adminPlatformPlansRoutes)
  .route("/", adminTenantsRoutes)
  .route("/", adminStripeEventsRoutes);

export { ADMIN_BEARER_SCHEME } from "./admin.auth";
