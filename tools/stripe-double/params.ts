// Parameter readers with Stripe's validation errors, metadata update semantics, list pagination
// and `expand[]`.
import { apiError, invalid, missing } from "./errors.ts";
import type { FormObject, FormValue } from "./form.ts";
import type { Ctx, Reply } from "./router.ts";
import { clone, type Json } from "./state.ts";

/** Declares the top-level params a handler understands (`expand` is always accepted). */
export function allow(ctx: Ctx, names: string[]): void {
  ctx.allowed = [...names, "expand"];
  const unknown = Object.keys(ctx.params).filter((k) => !ctx.allowed?.includes(k));
  if (unknown.length > 0 && ctx.state.strict) {
    throw invalid(unknown[0] ?? "", `Received unknown parameter: ${unknown[0]}`, "parameter_unknown");
  }
}

function shown(v: FormValue): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

export function str(p: FormObject, name: string, label = name): string | undefined {
  const v = p[name];
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw invalid(label, `Invalid string: ${shown(v)}`, "parameter_invalid_string");
  return v;
}

export function reqStr(p: FormObject, name: string, label = name): string {
  const v = str(p, name, label);
  if (v === undefined) throw missing(label);
  if (v === "") {
    throw invalid(
      label,
      `You passed an empty string for '${label}'. We assume empty values are an attempt to unset a parameter; however '${label}' cannot be unset. You should remove '${label}' from your request or supply a non-empty value.`,
      "parameter_invalid_empty",
    );
  }
  return v;
}

/** Optional string where "" means null (unset), as Stripe treats empty values. */
export function nullableStr(p: FormObject, name: string, label = name): string | null | undefined {
  const v = str(p, name, label);
  return v === "" ? null : v;
}

export function int(
  p: FormObject,
  name: string,
  label = name,
  min = Number.MIN_SAFE_INTEGER,
): number | undefined {
  const v = str(p, name, label);
  if (v === undefined || v === "") return undefined;
  if (!/^-?\d+$/.test(v)) throw invalid(label, `Invalid integer: ${v}`, "parameter_invalid_integer");
  const n = Number(v);
  if (n < min)
    throw invalid(label, `This value must be greater than or equal to ${min}.`, "parameter_invalid_integer");
  return n;
}

export function num(p: FormObject, name: string, label = name): number | undefined {
  const v = str(p, name, label);
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw invalid(label, `Invalid decimal: ${v}`);
  return n;
}

export function bool(p: FormObject, name: string, label = name): boolean | undefined {
  const v = str(p, name, label);
  if (v === undefined || v === "") return undefined;
  if (v !== "true" && v !== "false") throw invalid(label, `Invalid boolean: ${v}`);
  return v === "true";
}

export function oneOf<T extends string>(
  p: FormObject,
  name: string,
  values: readonly T[],
  label = name,
): T | undefined {
  const v = str(p, name, label);
  if (v === undefined || v === "") return undefined;
  if (!(values as readonly string[]).includes(v)) {
    throw invalid(label, `Invalid ${label}: must be one of ${values.join(", ")}`);
  }
  return v as T;
}

export function obj(p: FormObject, name: string, label = name): FormObject | undefined {
  const v = p[name];
  if (v === undefined || v === "") return undefined;
  if (typeof v !== "object" || Array.isArray(v))
    throw invalid(label, `Invalid object`, "parameter_invalid_object");
  return v;
}

export function arr(p: FormObject, name: string, label = name): FormValue[] | undefined {
  const v = p[name];
  if (v === undefined || v === "") return undefined;
  if (!Array.isArray(v)) throw invalid(label, `Invalid array`, "parameter_invalid_array");
  return v;
}

/** Unix seconds, or "now" when allowed. */
export function timestamp(p: FormObject, name: string, allowNow: boolean): number | "now" | undefined {
  const v = str(p, name);
  if (allowNow && v === "now") return "now";
  return int(p, name);
}

/** Stripe's metadata update: keys merge, a key set to "" is removed, `metadata=""` clears all. */
export function applyMetadata(current: Json, p: FormObject, param = "metadata"): Record<string, string> {
  const out: Record<string, string> = { ...(current as Record<string, string>) };
  const v = p[param];
  if (v === undefined) return out;
  if (v === "") return {};
  if (typeof v !== "object" || Array.isArray(v))
    throw invalid(param, "Invalid object", "parameter_invalid_object");
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== "string") throw invalid(`${param}[${k}]`, `Invalid string: ${shown(val)}`);
    if (k.length > 40) throw invalid(`${param}[${k}]`, "Metadata keys can have up to 40 characters.");
    if (val.length > 500) throw invalid(`${param}[${k}]`, "Metadata values can have up to 500 characters.");
    if (val === "") delete out[k];
    else out[k] = val;
  }
  if (Object.keys(out).length > 50) throw invalid(param, "Metadata can have up to 50 keys.");
  return out;
}

function expandPaths(ctx: Ctx): string[] {
  const v = ctx.params.expand;
  if (v === undefined) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => {
    if (typeof x !== "string") throw invalid("expand", "Invalid array");
    return x;
  });
}

function lookup(ctx: Ctx, id: string): Json | undefined {
  const s = ctx.state.objects.get(id);
  if (!s || (s.account !== ctx.scope && s.kind !== "account")) return undefined;
  return clone(s.obj);
}

/** Computes a field Stripe only returns when expanded (e.g. `invoice.payments`). */
export type Includable = (ctx: Ctx, object: Json) => unknown;
const INCLUDABLE = new Map<string, Includable>();

/** Registers `field` of objects whose `object` is `objectType` as includable through `expand[]`. */
export function includable(objectType: string, field: string, provide: Includable): void {
  INCLUDABLE.set(`${objectType}.${field}`, provide);
}

function expandAt(ctx: Ctx, node: unknown, segs: string[], full: string): void {
  if (Array.isArray(node)) {
    for (const item of node) expandAt(ctx, item, segs, full);
    return;
  }
  if (typeof node !== "object" || node === null) return;
  const rec = node as Json;
  const [head, ...rest] = segs;
  if (head === undefined) return;
  if (!(head in rec)) {
    const provide = INCLUDABLE.get(`${String(rec.object)}.${head}`);
    if (!provide) throw invalid("expand", `This property cannot be expanded (${full}).`);
    rec[head] = provide(ctx, rec);
  }
  const value = rec[head];
  if (typeof value === "string") {
    const found = lookup(ctx, value);
    if (found) rec[head] = found;
  } else if (Array.isArray(value) && rest.length === 0) {
    // A list of ids (`discounts`) expands element by element.
    rec[head] = value.map((v) => (typeof v === "string" ? (lookup(ctx, v) ?? v) : v));
  }
  if (rest.length > 0) expandAt(ctx, rec[head], rest, full);
}

/** A copy of a stored object with the request's `expand[]` applied. */
export function render(ctx: Ctx, object: Json, prefix = ""): Json {
  const out = clone(object);
  for (const path of expandPaths(ctx)) {
    if (prefix && !path.startsWith(prefix)) continue;
    const rel = prefix ? path.slice(prefix.length) : path;
    expandAt(ctx, out, rel.split("."), path);
  }
  return out;
}

export function reply(ctx: Ctx, object: Json, status = 200): Reply {
  return { status, body: render(ctx, object) };
}

/** Stripe list object with `limit`, `starting_after`, `ending_before`; items newest first. */
export function listReply(ctx: Ctx, items: Json[], url: string): Reply {
  const p = ctx.params;
  const limit = int(p, "limit") ?? 10;
  if (limit < 1 || limit > 100) {
    throw invalid("limit", "This value must be greater than or equal to 1 and less than or equal to 100.");
  }
  const after = str(p, "starting_after");
  const before = str(p, "ending_before");
  let start = 0;
  let end = items.length;
  if (after) {
    const i = items.findIndex((o) => o.id === after);
    if (i < 0)
      throw apiError(400, {
        type: "invalid_request_error",
        param: "starting_after",
        code: "resource_missing",
        message: `No such object: '${after}'`,
      });
    start = i + 1;
  }
  if (before) {
    const i = items.findIndex((o) => o.id === before);
    if (i < 0)
      throw apiError(400, {
        type: "invalid_request_error",
        param: "ending_before",
        code: "resource_missing",
        message: `No such object: '${before}'`,
      });
    end = i;
    start = Math.max(start, end - limit);
  }
  const page = items.slice(start, Math.min(end, start + limit));
  const hasMore = before ? start > 0 : start + limit < end;
  return {
    status: 200,
    body: { object: "list", data: page.map((o) => render(ctx, o, "data.")), has_more: hasMore, url },
  };
}

/** A list-valued param filter helper: `created[gte]` etc. are not supported, plain values are. */
export function allowList(ctx: Ctx, extra: string[] = []): void {
  allow(ctx, ["limit", "starting_after", "ending_before", ...extra]);
}
