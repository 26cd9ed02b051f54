// Every route of the double, in matching order (control endpoints first).
import { accountLinkRoutes } from "./account-links.ts";
import { accountRoutes } from "./accounts.ts";
import { applicationFeeRoutes } from "./application-fees.ts";
import { authenticationRoutes } from "./authenticate.ts";
import { catalogRoutes } from "./catalog.ts";
import { chargeRoutes } from "./charges.ts";
import { checkoutRoutes } from "./checkout.ts";
import { checkoutPageRoutes } from "./checkout-page.ts";
import { controlRoutes } from "./control.ts";
import { couponRoutes } from "./coupons.ts";
import { customerRoutes } from "./customers.ts";
import { feeRefundRoutes } from "./fee-refunds.ts";
import { invoiceActionRoutes } from "./invoice-actions.ts";
import { invoiceItemRoutes } from "./invoice-item-routes.ts";
import { invoicePageRoutes } from "./invoice-pages.ts";
import { invoicePaymentRoutes } from "./invoice-payments.ts";
import { invoiceRoutes } from "./invoices.ts";
import { oauthRoutes } from "./oauth.ts";
import { paymentIntentRoutes } from "./payment-intent-routes.ts";
import { paymentRoutes } from "./payments.ts";
import { portalRoutes } from "./portal.ts";
import { promotionCodeRoutes } from "./promotion-codes.ts";
import { refundRoutes } from "./refunds.ts";
import { retryRoutes } from "./retries.ts";
import type { Route } from "./router.ts";
import { setupIntentRoutes } from "./setup-intents.ts";
import { discountRoutes } from "./subscription-discounts.ts";
import { subscriptionRoutes } from "./subscriptions.ts";
import { testClockRoutes } from "./test-clocks.ts";
import { eventRoutes } from "./webhooks.ts";

export const ROUTES: Route[] = [
  ...controlRoutes,
  ...retryRoutes,
  ...accountRoutes,
  ...accountLinkRoutes,
  ...oauthRoutes,
  ...catalogRoutes,
  ...customerRoutes,
  ...paymentRoutes,
  ...setupIntentRoutes,
  ...authenticationRoutes,
  ...subscriptionRoutes,
  ...invoiceRoutes,
  ...invoiceActionRoutes,
  ...invoiceItemRoutes,
  ...invoicePageRoutes,
  ...invoicePaymentRoutes,
  ...paymentIntentRoutes,
  ...chargeRoutes,
  ...applicationFeeRoutes,
  ...feeRefundRoutes,
  ...refundRoutes,
  ...checkoutRoutes,
  ...checkoutPageRoutes,
  ...portalRoutes,
  ...testClockRoutes,
  ...couponRoutes,
  ...promotionCodeRoutes,
  ...discountRoutes,
  ...eventRoutes,
];
