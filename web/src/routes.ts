// Every page of the signed-in dashboard: its path, its navigation entry and who may see it.
// Pages are loaded on first visit (their own chunks), so the first load stays small; a new area
// (invoices next) is one more entry here and one page module.
import type { AnyComponent } from "preact";
import lazy from "preact-iso/lazy";
import type { Action } from "./lib/permissions";

export interface PageRoute {
  path: string;
  component: AnyComponent;
  /** The navigation label; routes without one (detail pages) are reached from their list. */
  nav?: string;
  /** The permission needed to see the page at all (reading is open to every role otherwise). */
  needs?: Action;
}

export const BASE = "/dashboard";

export const ROUTES: PageRoute[] = [
  { path: BASE, nav: "Overview", component: lazy(() => import("./pages/overview")) },
  {
    path: `${BASE}/api-keys`,
    nav: "API keys",
    needs: "keys.read",
    component: lazy(() => import("./pages/api-keys")),
  },
  { path: `${BASE}/stripe`, nav: "Stripe Connect", component: lazy(() => import("./pages/stripe-connect")) },
  { path: `${BASE}/plans`, nav: "Plans", component: lazy(() => import("./pages/plans/list")) },
  { path: `${BASE}/plans/new`, needs: "plans.manage", component: lazy(() => import("./pages/plans/edit")) },
  { path: `${BASE}/plans/:id`, component: lazy(() => import("./pages/plans/edit")) },
  { path: `${BASE}/customers`, nav: "Customers", component: lazy(() => import("./pages/customers/list")) },
  {
    path: `${BASE}/customers/new`,
    needs: "customers.manage",
    component: lazy(() => import("./pages/customers/form")),
  },
  { path: `${BASE}/customers/:id`, component: lazy(() => import("./pages/customers/detail")) },
  {
    path: `${BASE}/customers/:id/edit`,
    needs: "customers.manage",
    component: lazy(() => import("./pages/customers/form")),
  },
  {
    path: `${BASE}/subscriptions`,
    nav: "Subscriptions",
    component: lazy(() => import("./pages/subscriptions/list")),
  },
  {
    path: `${BASE}/subscriptions/new`,
    needs: "subscriptions.manage",
    component: lazy(() => import("./pages/subscriptions/new")),
  },
  { path: `${BASE}/subscriptions/:id`, component: lazy(() => import("./pages/subscriptions/detail")) },
  { path: `${BASE}/analytics`, nav: "Analytics", component: lazy(() => import("./pages/analytics/index")) },
  { path: `${BASE}/webhooks`, nav: "Webhooks", component: lazy(() => import("./pages/webhooks/config")) },
  {
    path: `${BASE}/webhooks/deliveries`,
    nav: "Webhook deliveries",
    component: lazy(() => import("./pages/webhooks/deliveries")),
  },
  { path: `${BASE}/webhooks/deliveries/:id`, component: lazy(() => import("./pages/webhooks/delivery")) },
  { path: `${BASE}/team`, nav: "Team", component: lazy(() => import("./pages/team")) },
  {
    path: `${BASE}/audit-log`,
    nav: "Audit log",
    needs: "audit.read",
    component: lazy(() => import("./pages/audit-log")),
  },
  { path: `${BASE}/billing`, nav: "Platform plan", component: lazy(() => import("./pages/billing")) },
  { path: `${BASE}/account`, nav: "Your account", component: lazy(() => import("./pages/account")) },
];
