import { validationError } from "./errors";

/** Money rules: ISO 4217 currencies (lower-case, as Stripe writes them) in minor units. */

const FALLBACK_CURRENCIES = [
  "usd",
  "eur",
  "gbp",
  "jpy",
  "cad",
  "aud",
  "chf",
  "sek",
  "nok",
  "dkk",
  "inr",
  "brl",
  "mxn",
];

let known: Set<string> | null = null;
function currencies(): Set<string> {
  if (!known) {
    const list =
      typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("currency") : FALLBACK_CURRENCIES;
    known = new Set(list.map((code) => code.toLowerCase()));
  }
  return known;
}

export function isIsoCurrency(code: string): boolean {
  return /^[a-z]{3}$/.test(code) && currencies().has(code);
}

/** Decimal places of a currency's major unit: 2 for usd, 0 for jpy, 3 for kwd. */
export function minorUnitDigits(currency: string): number {
  return (
    new Intl.NumberFormat("en-US", { style: "currency", currency: currency.toUpperCase() }).resolvedOptions()
      .maximumFractionDigits ?? 2
  );
}

/** "$29.99", "¥500", "-€12.00": an amount in minor units, for people (`*_display` fields). */
export function moneyDisplay(amount: number, currency: string): string {
  const digits = minorUnitDigits(currency);
  return new Intl.NumberFormat("en-US", {
    style: "currency",
    currency: currency.toUpperCase(),
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(amount / 10 ** digits);
}

/** "$29.99/month", "¥500/year", "€1,200.00/month". */
export function priceDisplay(amount: number, currency: string, interval: string): string {
  return `${moneyDisplay(amount, currency)}/${interval}`;
}

/**
 * The most minor units Stripe takes for one amount (8 digits): an item's price × quantity, and the
 * invoice it makes. Past it Stripe refuses the invoice (at finalize, or at a renewal after a trial),
 * so a request that would make one is bad input, refused before Stripe is called.
 */
export const MAX_STRIPE_AMOUNT = 99_999_999;

/** 400 on `field` when a price × quantity passes Stripe's cap on one amount. */
export function assertStripeAmount(unitAmount: number, quantity: number, field: string) {
  if (unitAmount * quantity > MAX_STRIPE_AMOUNT)
    throw validationError(
      field,
      `The plan's price × quantity is ${unitAmount * quantity} minor units: Stripe takes at most ${MAX_STRIPE_AMOUNT} for one amount`,
    );
}
