import type { Context } from "hono";
import type { AppEnv } from "../env";

export type CsvRow = Record<string, string | number | boolean | null>;

/** What a spreadsheet reads as the start of a formula (OWASP's CSV injection list). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV cell. Text a spreadsheet would run as a formula (a customer's name, an email, a
 * metadata value starting with =, +, -, @, tab or CR) gets a single quote before it and is quoted,
 * the OWASP way. Only text is neutralised: numbers (a negative amount too) stay numbers.
 */
export function csvCell(value: string | number | boolean | null): string {
  if (value === null) return "";
  if (typeof value !== "string") return String(value);
  if (FORMULA_START.test(value)) return `"'${value.replaceAll('"', '""')}"`;
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/**
 * CSV (RFC 4180) of a list of flat records: one header line from the first record's keys, values
 * quoted when they hold a comma, quote or line break, formulas neutralised (`csvCell`). Nested
 * values are flattened by the caller.
 */
export function toCsv(records: CsvRow[]): string {
  const first = records[0];
  if (!first) return "";
  const columns = Object.keys(first);
  return `${[columns.join(","), ...records.map((record) => columns.map((c) => csvCell(record[c] ?? null)).join(","))].join("\r\n")}\r\n`;
}

/** Whether the caller asked for CSV (`?format=csv` or `Accept: text/csv`). */
export const wantsCsv = (format: string | undefined, accept: string | undefined) =>
  format === "csv" || (format === undefined && (accept ?? "").includes("text/csv"));

/** JSON, or the same rows as CSV when the caller asked (`?format=csv` or `Accept: text/csv`). */
export function answer<T extends object>(
  c: Context<AppEnv>,
  format: string | undefined,
  body: T,
  rows: () => CsvRow[],
) {
  if (wantsCsv(format, c.req.header("Accept"))) {
    return c.body(toCsv(rows()), 200, { "Content-Type": "text/csv; charset=utf-8" });
  }
  return c.json(body, 200);
}
