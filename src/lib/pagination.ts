import { z } from "@hono/zod-openapi";
import { and, eq, lt, or, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { toBase64Url } from "./crypto";
import { validationError } from "./errors";

/** Query parameters of every list: `limit` (1-100, default 20) and an opaque `cursor`. */
export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).optional().default(20).openapi({ example: 20 }),
  cursor: z.string().max(200).optional().openapi({ description: "`next_cursor` of the previous page" }),
});

/** A position in a list sorted newest first: the last item's creation time and id. */
export interface CursorPosition {
  createdAt: Date;
  id: string;
}

export function encodeCursor(position: CursorPosition): string {
  return toBase64Url(new TextEncoder().encode(`${position.createdAt.getTime()}.${position.id}`));
}

/** The latest time a JavaScript Date holds (ECMAScript: ±8.64e15 ms). */
const MAX_DATE_MS = 8.64e15;

export function decodeCursor(cursor: string | undefined): CursorPosition | null {
  if (!cursor) return null;
  try {
    const text = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
    const dot = text.indexOf(".");
    const ms = Number(text.slice(0, dot));
    const id = text.slice(dot + 1);
    // A time outside what a Date holds would match nothing and answer an empty page, not 400.
    if (dot < 1 || !Number.isSafeInteger(ms) || ms < 0 || ms > MAX_DATE_MS || !id)
      throw new Error("bad cursor");
    return { createdAt: new Date(ms), id };
  } catch {
    throw validationError("cursor", "Invalid cursor");
  }
}

/** Cuts a page fetched with `limit + 1` rows into the page and the cursor of the next one. */
export function toPage<T extends { createdAt: Date; id: string }>(rows: T[], limit: number) {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  const hasMore = rows.length > limit;
  return { page, hasMore, nextCursor: hasMore && last ? encodeCursor(last) : null };
}

export const pageShape = <T extends z.ZodType>(item: T) =>
  z.object({
    data: z.array(item),
    has_more: z.boolean(),
    next_cursor: z.string().nullable(),
  });

/**
 * The WHERE condition of "after this cursor" for a list sorted newest first by
 * (`createdColumn` desc, `idColumn` desc); undefined without a cursor.
 */
export function afterCursor(
  createdColumn: SQLiteColumn,
  idColumn: SQLiteColumn,
  after: CursorPosition | null,
): SQL | undefined {
  if (!after) return undefined;
  return or(
    lt(createdColumn, after.createdAt),
    and(eq(createdColumn, after.createdAt), lt(idColumn, after.id)),
  );
}

/** The list body every list answers: `{data, has_more, next_cursor}`. */
export function pageBody<T, S>(
  page: { page: T[]; hasMore: boolean; nextCursor: string | null },
  serialize: (row: T) => S,
) {
  return { data: page.page.map(serialize), has_more: page.hasMore, next_cursor: page.nextCursor };
}
