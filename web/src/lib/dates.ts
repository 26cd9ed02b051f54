// Days as the billing API counts them: UTC calendar days, `YYYY-MM-DD`.

const DAY_MS = 86_400_000;

/** Today's UTC day. */
export const todayUtc = () => new Date().toISOString().slice(0, 10);

/** `day` moved by `days` (negative: earlier). */
export const addDays = (day: string, days: number) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);

/** `day` moved by whole months, clamped to the month's last day. */
export function addMonths(day: string, months: number): string {
  const [year = 1970, month = 1, date = 1] = day.split("-").map(Number);
  const last = new Date(Date.UTC(year, month - 1 + months + 1, 0)).getUTCDate();
  return new Date(Date.UTC(year, month - 1 + months, Math.min(date, last))).toISOString().slice(0, 10);
}

export const isDay = (value: string) => /^\d{4}-\d{2}-\d{2}$/.test(value);

/** A `date` input's value (a UTC day) → ISO at the start or the end of that day, or "". */
export const dayBound = (day: string, end: boolean) =>
  isDay(day) ? `${day}T${end ? "23:59:59.999" : "00:00:00.000"}Z` : "";

/** A `datetime-local` value → ISO UTC, or "" when empty or invalid. */
export const localToIso = (local: string) => {
  const date = new Date(local);
  return local && !Number.isNaN(date.getTime()) ? date.toISOString() : "";
};
