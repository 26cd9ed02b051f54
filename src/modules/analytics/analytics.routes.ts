import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../../lib/create-app";
import { answer, type CsvRow as Row } from "../../lib/csv";
import { errorResponses, USER_OR_KEY_AUTH } from "../../lib/openapi";
import { billingReaders } from "../api-keys/middleware";
import {
  CommonQuery,
  CustomerAnalyticsSchema,
  jsonOrCsv,
  ModeQuery,
  MovementListSchema,
  MovementsQuery,
  MrrQuery,
  MrrSeriesSchema,
  PlansSchema,
  SummarySchema,
} from "./analytics.schemas";
import * as analytics from "./analytics.service";

const tags = ["Analytics"];
const BASE = "/api/v1/auth/analytics";
const note =
  "Every role and secret keys (a key reads its own mode). Figures come from daily and monthly rollups of the MRR ledger: a read costs O(days in the range), never O(subscriptions). One series per currency, no conversion. `?format=csv` or `Accept: text/csv` answers CSV.";

const summaryRoute = createRoute({
  method: "get",
  path: `${BASE}/summary`,
  tags,
  summary:
    "MRR, ARR, growth, paying customers, ARPA, churn, net MRR churn, LTV, trial conversion, revenue, refunds, fees",
  description: `Over \`from\`..\`to\` (default: the last 30 days). Definitions: see the README's Analytics section. ${note}`,
  security: USER_OR_KEY_AUTH,
  middleware: billingReaders,
  request: { query: CommonQuery },
  responses: { 200: jsonOrCsv(SummarySchema, "The figures, per currency"), ...errorResponses },
});

const mrrRoute = createRoute({
  method: "get",
  path: `${BASE}/mrr`,
  tags,
  summary: "MRR series with each bucket's movements",
  description: `\`interval\`: day, week (ISO, from Monday) or month (default). The first and last buckets are cut at \`from\` and \`to\` (a cut first bucket starts at \`from\`), so the series adds up to the summary of the same range. ${note}`,
  security: USER_OR_KEY_AUTH,
  middleware: billingReaders,
  request: { query: MrrQuery },
  responses: { 200: jsonOrCsv(MrrSeriesSchema, "The series, per currency"), ...errorResponses },
});

const movementsRoute = createRoute({
  method: "get",
  path: `${BASE}/movements`,
  tags,
  summary: "The MRR ledger: every movement, newest first",
  description: `Filters: \`type\`, \`customer\` (id or ext:), \`from\`/\`to\`. ${note}`,
  security: USER_OR_KEY_AUTH,
  middleware: billingReaders,
  request: { query: MovementsQuery },
  responses: { 200: jsonOrCsv(MovementListSchema, "A page of movements"), ...errorResponses },
});

const plansRoute = createRoute({
  method: "get",
  path: `${BASE}/plans`,
  tags,
  summary: "MRR and subscribers by plan, now",
  security: USER_OR_KEY_AUTH,
  middleware: billingReaders,
  request: { query: ModeQuery },
  responses: { 200: jsonOrCsv(PlansSchema, "By plan"), ...errorResponses },
});

const customerRoute = createRoute({
  method: "get",
  path: `${BASE}/customers/{id}`,
  tags,
  summary: "One customer: MRR history, MRR now, lifetime revenue, predicted LTV",
  security: USER_OR_KEY_AUTH,
  middleware: billingReaders,
  request: {
    params: z.object({
      id: z
        .string()
        .min(1)
        .max(120)
        .openapi({ param: { name: "id", in: "path" } }),
    }),
    query: ModeQuery.pick({ format: true }),
  },
  responses: { 200: jsonOrCsv(CustomerAnalyticsSchema, "The customer's analytics"), ...errorResponses },
});

const flatSummary = (body: Awaited<ReturnType<typeof analytics.summary>>): Row[] =>
  body.currencies.map(({ movements, trials, ...figures }) => ({
    from: body.from,
    to: body.to,
    ...figures,
    new_mrr: movements.new.mrr,
    expansion_mrr: movements.expansion.mrr,
    contraction_mrr: movements.contraction.mrr,
    churn_mrr: movements.churn.mrr,
    reactivation_mrr: movements.reactivation.mrr,
    churned_customers: movements.churn.count,
    trials_started: trials.started,
    trials_converted: trials.converted,
    trials_lost: trials.lost,
  }));

export const analyticsRoutes = createRouter()
  .openapi(summaryRoute, async (c) => {
    const query = c.req.valid("query");
    const body = await analytics.summary(c.var.ctx, query);
    return answer(c, query.format, body, () => flatSummary(body));
  })
  .openapi(mrrRoute, async (c) => {
    const query = c.req.valid("query");
    const body = await analytics.mrrSeries(c.var.ctx, query);
    return answer(c, query.format, body, () =>
      body.series.flatMap((s) => s.data.map((point) => ({ currency: s.currency, ...point }))),
    );
  })
  .openapi(movementsRoute, async (c) => {
    const query = c.req.valid("query");
    const page = await analytics.listMovements(c.var.ctx, query);
    const data = page.page.map(analytics.serializeMovement);
    return answer(
      c,
      query.format,
      { data, has_more: page.hasMore, next_cursor: page.nextCursor },
      () => data,
    );
  })
  .openapi(plansRoute, async (c) => {
    const query = c.req.valid("query");
    const body = await analytics.byPlan(c.var.ctx, query);
    return answer(c, query.format, body, () => body.data);
  })
  .openapi(customerRoute, async (c) => {
    const body = await analytics.customerAnalytics(c.var.ctx, c.req.valid("param").id);
    return answer(c, c.req.valid("query").format, body, () => body.history);
  });
