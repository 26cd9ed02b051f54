const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });

export const formatDateTime = (iso: string | null | undefined) =>
  iso ? dateTime.format(new Date(iso)) : "—";
export const formatDate = (iso: string | null | undefined) => (iso ? dateOnly.format(new Date(iso)) : "—");

/** `2999, "usd"` → `$29.99`, with the currency's own minor units (`500, "jpy"` → `¥500`). */
export function formatMoney(minor: number, currency: string): string {
  const code = currency.toUpperCase();
  try {
    const format = new Intl.NumberFormat(undefined, { style: "currency", currency: code });
    const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
    return format.format(minor / 10 ** digits);
  } catch {
    return `${(minor / 100).toFixed(2)} ${code}`;
  }
}

/** Minor units of `currency` from what a person types (`29.99` → 2999 for usd, `500` → 500 for jpy). */
export function toMinorUnits(amount: string, currency: string): number | null {
  const value = Number(amount.trim().replace(",", "."));
  if (!Number.isFinite(value) || value < 0) return null;
  let digits = 2;
  try {
    digits =
      new Intl.NumberFormat(undefined, {
        style: "currency",
        currency: currency.toUpperCase(),
      }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    // Unknown currency: the API will say so; assume two decimals meanwhile.
  }
  return Math.round(value * 10 ** digits);
}

export function fromMinorUnits(minor: number, currency: string): string {
  let digits = 2;
  try {
    digits =
      new Intl.NumberFormat(undefined, {
        style: "currency",
        currency: currency.toUpperCase(),
      }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    // Unknown currency: two decimals.
  }
  return (minor / 10 ** digits).toFixed(digits);
}

export const displayName = (user: { first_name: string | null; last_name: string | null; email: string }) =>
  [user.first_name, user.last_name].filter(Boolean).join(" ") || user.email;

/** `snake_case.words` → `Snake case words`, for codes shown to people. */
export const humanize = (code: string) => {
  const text = code.replace(/[._]/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
};
