import { describe, expect, it } from "vitest";
import { type PeriodFigures, zeroFlows } from "../../src/modules/analytics/analytics.reads";
import { lifetimeValue, monthlyChurnRate, summaryFigures } from "../../src/modules/analytics/figures";

// Three paying customers at the start, one lost over 30 days; two left paying $50 each.
const period: PeriodFigures = {
  currency: "usd",
  start: { mrr: 15_000, subscribers: 3, customers: 3 },
  end: { mrr: 10_000, subscribers: 2, customers: 2 },
  flows: { ...zeroFlows(), churnMrr: 5000, churnCount: 1 },
  customersLost: 1,
};

describe("LTV", () => {
  it("divides by the unrounded monthly churn rate and rounds only the result", () => {
    const monthly = monthlyChurnRate(period, 30);
    expect(monthly).toBe((1 / 3) * (365.25 / 12 / 30));
    // 5000 / 0.338194… = 14784.4; the shown rate (0.3333) would give 5000 / 0.338161 = 14785.8.
    expect(lifetimeValue(5000, monthly)).toBe(14_784);
    const figures = summaryFigures(period, 30);
    expect(figures.customer_churn_rate).toBe(0.3333);
    expect(figures.arpa).toBe(5000);
    expect(figures.ltv).toBe(14_784);
  });

  it("is null without churn or without customers to divide by", () => {
    expect(lifetimeValue(5000, null)).toBeNull();
    expect(lifetimeValue(5000, 0)).toBeNull();
    expect(lifetimeValue(null, 0.1)).toBeNull();
    expect(monthlyChurnRate({ ...period, start: { ...period.start, customers: 0 } }, 30)).toBeNull();
    expect(lifetimeValue(0, 0.1)).toBe(0);
  });
});
