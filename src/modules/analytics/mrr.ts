import type { AppliedDiscount, CustomerSubscriptionStatus } from "../../db/schema";

/**
 * MRR of one subscription, as the contract defines it: `active` and `past_due` subscriptions
 * only (not trials), the price times the quantity normalised to a month (a year / 12, a week ×
 * 52 / 12, a day × 365 / 12, divided by the interval count), less forever discounts and
 * repeating ones while they run (not once-only ones), tax never in it. Integer minor units,
 * rounded half away from zero per subscription.
 */
const MONTHS_PER: Record<"day" | "week" | "month" | "year", number> = {
  day: 12 / 365,
  week: 12 / 52,
  month: 1,
  year: 12,
};

export const COUNTED_STATUSES: readonly CustomerSubscriptionStatus[] = ["active", "past_due"];

export interface PriceTerms {
  status: CustomerSubscriptionStatus;
  unitAmount: number;
  quantity: number;
  currency: string;
  interval: "day" | "week" | "month" | "year";
  intervalCount: number;
  discount: AppliedDiscount | null;
}

/** The monthly value of an amount billed every `intervalCount` `interval`s. */
export function monthly(amount: number, interval: PriceTerms["interval"], intervalCount: number): number {
  return amount / (MONTHS_PER[interval] * Math.max(1, intervalCount));
}

const roundHalfAway = (value: number) => Math.sign(value) * Math.round(Math.abs(value));

/** MRR with or without the discount (`withDiscount`): 0 for a status that does not count. */
export function mrrOf(terms: PriceTerms, withDiscount: boolean): number {
  if (!COUNTED_STATUSES.includes(terms.status)) return 0;
  const gross = monthly(terms.unitAmount * terms.quantity, terms.interval, terms.intervalCount);
  const discount = terms.discount;
  if (!withDiscount || !discount || discount.duration === "once") return roundHalfAway(gross);
  const off =
    discount.percent_off !== null
      ? gross * (discount.percent_off / 100)
      : discount.amount_off !== null && (discount.currency === null || discount.currency === terms.currency)
        ? monthly(discount.amount_off, terms.interval, terms.intervalCount)
        : 0;
  return roundHalfAway(Math.max(0, gross - off));
}

/**
 * What a subscription snapshot adds to MRR from its time on: the MRR now, and, for a repeating
 * discount, when it ends and the MRR after.
 */
export function mrrStateOf(terms: PriceTerms): {
  mrr: number;
  discountEndsAt: number | null;
  mrrAfterDiscount: number | null;
} {
  const withDiscount = mrrOf(terms, true);
  const discount = terms.discount;
  if (discount?.duration === "repeating" && discount.end !== null) {
    return { mrr: withDiscount, discountEndsAt: discount.end * 1000, mrrAfterDiscount: mrrOf(terms, false) };
  }
  return { mrr: withDiscount, discountEndsAt: null, mrrAfterDiscount: null };
}
