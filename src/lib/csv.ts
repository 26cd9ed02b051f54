import type { Context } from "hono";
import type { AppEnv } from "../env";

export type CsvRow = Record<string, string | number | boolean | null>;

/**
 * CSV (RFC 4180) of a list of flat records: one header line from the first record's keys, values
 * quoted when they hold a comma, quote or line break. Nested values are flattened by the caller.
 */
export function toCsv(records: CsvRow[]): string {
  const first = records[0];
  if (!first) return "";
  const columns = Object.keys(first);
  const cell = (value: string | number | boolean | null) => {
    if (value === null) return "";
    const text = String(value);
    return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  return `${[columns.join(","), ...records.map((record) => columns.map((c) => cell(record[c] ?? null)).join(","))].join("\r\n")}\r\n`;
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
