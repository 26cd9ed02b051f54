// How Stripe writes amounts and dates into descriptions and messages.

const SYMBOLS: Record<string, string> = { usd: "$", eur: "€", gbp: "£", cad: "CA$", aud: "A$", jpy: "¥" };
const ZERO_DECIMAL = new Set(["jpy", "krw", "vnd", "clp", "isk", "ugx", "xaf", "xof"]);

/** `1500, "usd"` → `$15.00`. */
export function money(amount: number, currency: unknown): string {
  const code = String(currency ?? "usd").toLowerCase();
  const sign = amount < 0 ? "-" : "";
  const abs = Math.abs(amount);
  const value = ZERO_DECIMAL.has(code) ? String(abs) : (abs / 100).toFixed(2);
  const symbol = SYMBOLS[code];
  return symbol ? `${sign}${symbol}${value}` : `${sign}${value} ${code.toUpperCase()}`;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** Unix seconds → `05 Jan 2026` (UTC). */
export function day(ts: number): string {
  const d = new Date(ts * 1000);
  return `${String(d.getUTCDate()).padStart(2, "0")} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
}

/** Half away from zero, as Stripe rounds prorations and discounts. */
export function roundAmount(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x));
}
