// The API's JSON shapes of the tenant's own billing (customers, subscriptions, invoices, refunds,
// analytics), as documented in /openapi.json. Kept apart from types.ts so only the pages that use
// them import them.

export interface Address {
  line1?: string | null;
  line2?: string | null;
  city?: string | null;
  state?: string | null;
  postal_code?: string | null;
  country?: string | null;
}

export interface Customer {
  id: string;
  object: "customer";
  external_id: string | null;
  email: string | null;
  name: string | null;
  phone: string | null;
  description: string | null;
  address: Address | null;
  metadata: Record<string, string>;
  default_payment_method: string | null;
  deleted: boolean;
  /** What the customer's open invoices ask (every read of a customer carries it). */
  billing?: CustomerBilling;
  livemode: boolean;
  stripe_customer_id: string;
  created_at: string;
  updated_at: string;
}

interface AmountByCurrency {
  currency: string;
  amount: number;
  amount_display: string;
}

export interface CustomerBilling {
  delinquent: boolean;
  open_invoices: number;
  overdue_invoices: number;
  amount_due: AmountByCurrency[];
  amount_overdue: AmountByCurrency[];
}

export interface PaymentMethod {
  id: string;
  type: string;
  card: { brand: string; last4: string; exp_month: number; exp_year: number } | null;
  is_default: boolean;
  created_at: string;
}

export const SUBSCRIPTION_STATES = [
  "incomplete",
  "incomplete_expired",
  "trialing",
  "active",
  "past_due",
  "canceled",
  "unpaid",
  "paused",
] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATES)[number];

export interface Subscription {
  id: string;
  object: "subscription";
  customer: string;
  plan: string | null;
  status: SubscriptionStatus;
  quantity: number;
  unit_amount: number;
  currency: string;
  interval: string;
  interval_count: number;
  amount_display: string;
  current_period_start: string | null;
  current_period_end: string | null;
  trial_start: string | null;
  trial_end: string | null;
  cancel_at_period_end: boolean;
  cancel_at: string | null;
  canceled_at: string | null;
  ended_at: string | null;
  pause_collection: { behavior: string; resumes_at: string | null } | null;
  discount: {
    coupon: string;
    percent_off: number | null;
    amount_off: number | null;
    duration: string;
    end: string | null;
  } | null;
  application_fee_percent: number | null;
  latest_invoice: {
    /** Null until the invoice mirror holds an invoice Stripe has just made. */
    id: string | null;
    stripe_invoice_id: string;
    status: string;
    amount_due: number;
    amount_paid: number;
    currency: string;
    hosted_invoice_url: string | null;
  } | null;
  metadata: Record<string, string>;
  livemode: boolean;
  stripe_subscription_id: string;
  created_at: string;
  updated_at: string;
}

export interface CreatedSubscription extends Subscription {
  client_secret: string | null;
}

export type ProrationBehavior = "create_prorations" | "none" | "always_invoice";

export interface SubscriptionPreview {
  object: "invoice_preview";
  currency: string;
  subtotal: number;
  total: number;
  amount_due: number;
  amount_due_display: string;
  proration_amount: number;
  lines: { description: string | null; amount: number; quantity: number | null; proration: boolean }[];
  period_start: string | null;
  period_end: string | null;
}

export const INVOICE_STATES = ["draft", "open", "paid", "uncollectible", "void"] as const;
export type InvoiceStatus = (typeof INVOICE_STATES)[number];

export interface InvoiceLine {
  id: string;
  description: string | null;
  amount: number;
  currency: string;
  quantity: number | null;
  price: string | null;
  proration: boolean;
  period_start: string | null;
  period_end: string | null;
  discount_amount: number;
}

/** An invoice of the tenant's connected account (a subscription cycle or a one-off), mirrored. */
export interface Invoice {
  id: string;
  object: "invoice";
  customer: string | null;
  subscription: string | null;
  number: string | null;
  status: InvoiceStatus;
  billing_reason: string | null;
  collection_method: string;
  currency: string;
  subtotal: number;
  discount_amount: number;
  tax: number;
  total: number;
  amount_due: number;
  amount_paid: number;
  amount_remaining: number;
  amount_refunded: number;
  total_display: string;
  amount_due_display: string;
  application_fee_amount: number | null;
  attempt_count: number;
  next_payment_attempt: string | null;
  due_date: string | null;
  period_start: string | null;
  period_end: string | null;
  description: string | null;
  hosted_invoice_url: string | null;
  invoice_pdf: string | null;
  lines: InvoiceLine[];
  discounts: { coupon: string; amount: number }[];
  metadata: Record<string, string>;
  finalized_at: string | null;
  paid_at: string | null;
  voided_at: string | null;
  livemode: boolean;
  stripe_invoice_id: string;
  created_at: string;
  updated_at: string;
}

export const REFUND_REASONS = ["requested_by_customer", "duplicate", "fraudulent"] as const;
export type RefundReason = (typeof REFUND_REASONS)[number];

export interface Refund {
  id: string;
  object: "refund";
  invoice: string | null;
  customer: string | null;
  amount: number;
  currency: string;
  amount_display: string;
  reason: string | null;
  status: "pending" | "requires_action" | "succeeded" | "failed" | "canceled";
  failure_reason: string | null;
  refund_application_fee: boolean;
  metadata: Record<string, string>;
  livemode: boolean;
  stripe_refund_id: string;
  stripe_charge_id: string | null;
  stripe_payment_intent_id: string | null;
  created_at: string;
  updated_at: string;
}

/** What dunning did about an invoice: a failed attempt, the action taken, or a recovery. */
export interface DunningStep {
  id: string;
  object: "dunning_step";
  kind: "failure" | "action" | "recovery";
  attempt: number;
  action: string | null;
  note: string;
  invoice: string | null;
  subscription: string | null;
  customer: string | null;
  stripe_invoice_id: string;
  livemode: boolean;
  created_at: string;
}

export const MOVEMENT_TYPES = ["new", "expansion", "contraction", "churn", "reactivation"] as const;
export type MovementType = (typeof MOVEMENT_TYPES)[number];

export interface Movement {
  id: string;
  type: MovementType;
  customer: string;
  subscription: string | null;
  currency: string;
  mrr_before: number;
  mrr_after: number;
  amount: number;
  effective_at: string;
  source_event_id: string;
}

export type AnalyticsInterval = "day" | "week" | "month";

interface MovementTotal {
  mrr: number;
  count: number;
}

/** One currency's figures over a range (rates are fractions, null when undefined). */
export interface SummaryFigures {
  currency: string;
  mrr: number;
  arr: number;
  mrr_at_start: number;
  mrr_growth_rate: number | null;
  paying_customers: number;
  paying_customers_at_start: number;
  subscribers: number;
  arpa: number | null;
  customer_churn_rate: number | null;
  net_mrr_churn_rate: number | null;
  ltv: number | null;
  trial_conversion_rate: number | null;
  movements: Record<MovementType, MovementTotal>;
  trials: { started: number; converted: number; lost: number };
  revenue: number;
  refunds: number;
  net_revenue: number;
  fees: number;
}

export interface AnalyticsSummary {
  from: string;
  to: string;
  livemode: boolean;
  currencies: SummaryFigures[];
}

export interface MrrPoint {
  period_start: string;
  mrr: number;
  subscribers: number;
  paying_customers: number;
  new: number;
  expansion: number;
  contraction: number;
  churn: number;
  reactivation: number;
  net_change: number;
}

export interface MrrSeries {
  from: string;
  to: string;
  interval: AnalyticsInterval;
  livemode: boolean;
  series: { currency: string; data: MrrPoint[] }[];
}

export interface PlanFigures {
  livemode: boolean;
  data: { plan: string; name: string | null; currency: string; mrr: number; subscribers: number }[];
}

export interface CustomerAnalytics {
  customer: string;
  livemode: boolean;
  currencies: { currency: string; mrr: number; lifetime_revenue: number; predicted_ltv: number | null }[];
  history: Movement[];
}
