import { z } from "@hono/zod-openapi";
import { MOVEMENT_TYPES } from "../../db/schema";
import { PageQuery, pageShape } from "../../lib/pagination";

const Day = z.iso.date().or(z.iso.datetime()).openapi({ example: "2026-11-01" });

export const CommonQuery = z.object({
  from: Day.optional().openapi({ description: "First day (UTC), default 29 days before `to`" }),
  to: Day.optional().openapi({ description: "Last day (UTC), default today" }),
  mode: z
    .enum(["live", "test"])
    .optional()
    .openapi({ description: "Users: which mode's figures (default: the platform's). Keys read their own." }),
  currency: z
    .string()
    .regex(/^[a-z]{3}$/)
    .optional()
    .openapi({ description: "One currency; default every currency, each a series of its own" }),
  format: z
    .enum(["json", "csv"])
    .optional()
    .openapi({ description: "`csv` (or `Accept: text/csv`) answers CSV" }),
});

export const MrrQuery = CommonQuery.extend({
  interval: z.enum(["day", "week", "month"]).optional().default("month"),
});

export const MovementsQuery = PageQuery.extend(CommonQuery.shape).extend({
  type: z.enum(MOVEMENT_TYPES).optional(),
  customer: z.string().max(120).optional(),
});

export const ModeQuery = CommonQuery.pick({ mode: true, format: true });

const Money = z.number().int().openapi({ description: "Minor units of the currency" });
const Rate = z
  .number()
  .nullable()
  .openapi({ description: "A fraction (0.05 = 5 %); null when undefined (nothing to divide by)" });
const MovementTotal = z.object({ mrr: Money, count: z.number().int() });

export const SummaryFiguresSchema = z
  .object({
    currency: z.string(),
    mrr: Money,
    arr: Money,
    mrr_at_start: Money,
    mrr_growth_rate: Rate,
    paying_customers: z.number().int(),
    paying_customers_at_start: z.number().int(),
    subscribers: z.number().int(),
    arpa: Money.nullable(),
    customer_churn_rate: Rate,
    net_mrr_churn_rate: Rate,
    ltv: Money.nullable(),
    trial_conversion_rate: Rate,
    movements: z.object({
      new: MovementTotal,
      expansion: MovementTotal,
      contraction: MovementTotal,
      churn: MovementTotal,
      reactivation: MovementTotal,
    }),
    trials: z.object({ started: z.number().int(), converted: z.number().int(), lost: z.number().int() }),
    revenue: Money,
    refunds: Money,
    net_revenue: Money,
    fees: Money,
  })
  .openapi("AnalyticsSummaryFigures");

export const SummarySchema = z
  .object({
    from: z.string(),
    to: z.string(),
    livemode: z.boolean(),
    currencies: z.array(SummaryFiguresSchema),
  })
  .openapi("AnalyticsSummary");

export const MrrSeriesSchema = z
  .object({
    from: z.string(),
    to: z.string(),
    interval: z.enum(["day", "week", "month"]),
    livemode: z.boolean(),
    series: z.array(
      z.object({
        currency: z.string(),
        data: z.array(
          z.object({
            period_start: z.string(),
            mrr: Money.openapi({ description: "At the end of the period" }),
            subscribers: z.number().int(),
            paying_customers: z.number().int(),
            new: Money,
            expansion: Money,
            contraction: Money,
            churn: Money,
            reactivation: Money,
            net_change: Money,
          }),
        ),
      }),
    ),
  })
  .openapi("AnalyticsMrrSeries");

export const MovementSchema = z
  .object({
    id: z.string(),
    type: z.enum(MOVEMENT_TYPES),
    customer: z.string(),
    subscription: z.string().nullable(),
    currency: z.string(),
    mrr_before: Money,
    mrr_after: Money,
    amount: Money.openapi({ description: "mrr_after − mrr_before" }),
    effective_at: z.iso.datetime(),
    source_event_id: z.string().openapi({ description: "The Stripe event that caused it" }),
  })
  .openapi("MrrMovement");

export const MovementListSchema = pageShape(MovementSchema).openapi("MrrMovementList");

export const PlansSchema = z
  .object({
    livemode: z.boolean(),
    data: z.array(
      z.object({
        plan: z.string(),
        name: z.string().nullable(),
        currency: z.string(),
        mrr: Money,
        subscribers: z.number().int(),
      }),
    ),
  })
  .openapi("AnalyticsByPlan");

export const CustomerAnalyticsSchema = z
  .object({
    customer: z.string(),
    livemode: z.boolean(),
    currencies: z.array(
      z.object({
        currency: z.string(),
        mrr: Money,
        lifetime_revenue: Money,
        predicted_ltv: Money.nullable(),
      }),
    ),
    history: z.array(MovementSchema),
  })
  .openapi("CustomerAnalytics");

/** A JSON answer that can also be had as CSV. */
export const jsonOrCsv = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: {
    "application/json": { schema },
    "text/csv": { schema: z.string().openapi({ description: "The same rows as CSV (RFC 4180)" }) },
  },
});
