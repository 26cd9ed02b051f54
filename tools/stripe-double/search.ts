// Stripe's search query language, the subset the double understands: `field:'value'` (exact, case
// insensitive), `field~'value'` (substring), `field>n` / `<` / `>=` / `<=` on numbers,
// `metadata['key']:'value'`, `-clause` (negation), `field:null`, and clauses joined by AND or by OR
// (not both, as Stripe requires). Answers `{object: "search_result", data, has_more, next_page, url}`.
import { invalid } from "./errors.ts";
import { allow, int, render, reqStr, str } from "./params.ts";
import type { Ctx, Reply } from "./router.ts";
import type { Json } from "./state.ts";

interface Clause {
  negate: boolean;
  field: string;
  metadataKey: string | null;
  op: ":" | "~" | ">" | "<" | ">=" | "<=";
  value: string | number | null;
}

const PARSE_ERROR =
  'We were unable to parse your search query. Try using the format `metadata["key"]:"value"` to query for metadata or `key:"value"` to query for other fields.';

const CLAUSE =
  /^\s*(-?)([a-z_]+)(?:\[(?:'([^']*)'|"([^"]*)")\])?\s*(>=|<=|:|~|>|<)\s*(?:'([^']*)'|"([^"]*)"|(-?\d+(?:\.\d+)?)|(null))\s*/;

export function parseQuery(query: string): { clauses: Clause[]; join: "AND" | "OR" } {
  const clauses: Clause[] = [];
  const joins = new Set<string>();
  let rest = query;
  for (;;) {
    const m = CLAUSE.exec(rest);
    if (!m) throw invalid("query", PARSE_ERROR);
    const [whole, neg, field = "", sq, dq, op, vsq, vdq, vnum, vnull] = m;
    const metadataKey = sq ?? dq ?? null;
    if (metadataKey !== null && field !== "metadata") throw invalid("query", PARSE_ERROR);
    const text = vsq ?? vdq;
    clauses.push({
      negate: neg === "-",
      field,
      metadataKey,
      op: op as Clause["op"],
      value: text !== undefined ? text : vnum !== undefined ? Number(vnum) : vnull ? null : null,
    });
    rest = rest.slice(whole.length);
    if (rest.trim() === "") break;
    const join = /^(AND|OR)\s+/.exec(rest);
    if (!join) throw invalid("query", PARSE_ERROR);
    joins.add(join[1] ?? "");
    rest = rest.slice(join[0].length);
  }
  if (joins.size > 1) {
    throw invalid("query", "Search queries can't combine `AND` and `OR`. Use only one of them in a query.");
  }
  return { clauses, join: joins.has("OR") ? "OR" : "AND" };
}

function matches(obj: Json, c: Clause): boolean {
  const raw =
    c.metadataKey !== null
      ? ((obj.metadata as Record<string, string> | null)?.[c.metadataKey] ?? null)
      : (obj[c.field] ?? null);
  let hit: boolean;
  if (c.value === null) hit = raw === null;
  else if (c.op === ":") hit = raw !== null && String(raw).toLowerCase() === String(c.value).toLowerCase();
  else if (c.op === "~")
    hit = raw !== null && String(raw).toLowerCase().includes(String(c.value).toLowerCase());
  else {
    const a = Number(raw);
    const b = Number(c.value);
    hit = raw !== null && (c.op === ">" ? a > b : c.op === "<" ? a < b : c.op === ">=" ? a >= b : a <= b);
  }
  return c.negate ? !hit : hit;
}

/** Answers a search request over `items` (newest first); `fields` are the searchable fields. */
export function searchReply(
  ctx: Ctx,
  items: Json[],
  resource: string,
  fields: string[],
  extra: string[] = [],
): Reply {
  allow(ctx, ["query", "limit", "page", ...extra]);
  const query = reqStr(ctx.params, "query");
  const { clauses, join } = parseQuery(query);
  for (const c of clauses) {
    if (!fields.includes(c.field)) {
      throw invalid(
        "query",
        `Field \`${c.field}\` is an unsupported search field for resource \`${resource}\`. See http://stripe.com/docs/search#query-fields-for-${resource.replace(/_/g, "-")} for a list of supported fields.`,
      );
    }
    if (c.op === "~" && typeof c.value === "string" && c.value.length < 3) {
      throw invalid("query", "Substring queries (`~`) must have at least 3 characters.");
    }
  }
  const limit = int(ctx.params, "limit") ?? 10;
  if (limit < 1 || limit > 100) {
    throw invalid("limit", "This value must be greater than or equal to 1 and less than or equal to 100.");
  }
  const page = str(ctx.params, "page");
  const offset = page ? Number(Buffer.from(page, "base64url").toString("utf8")) : 0;
  if (!Number.isInteger(offset) || offset < 0) throw invalid("page", "Invalid page token.");
  const found = items.filter((o) =>
    join === "AND" ? clauses.every((c) => matches(o, c)) : clauses.some((c) => matches(o, c)),
  );
  const slice = found.slice(offset, offset + limit);
  const more = offset + limit < found.length;
  return {
    status: 200,
    body: {
      object: "search_result",
      data: slice.map((o) => render(ctx, o, "data.")),
      has_more: more,
      next_page: more ? Buffer.from(String(offset + limit), "utf8").toString("base64url") : null,
      url: `/v1/${resource}/search`,
    },
  };
}
