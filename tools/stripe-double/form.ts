// Stripe's form encoding: `application/x-www-form-urlencoded` with bracket notation for nested
// objects (`metadata[tenant_id]=t1`) and arrays (`items[0][price]=price_1`, `expand[]=customer`).
// The official SDKs send indexed arrays; `[]` (append) is accepted too, as Stripe does.

export type FormValue = string | FormValue[] | FormObject;
export interface FormObject {
  [key: string]: FormValue;
}

/** Keys of objects that are maps of arbitrary strings, never arrays (`metadata[0]=x` stays a map). */
const MAP_KEYS = new Set(["metadata"]);

/** Splits `a[b][0][]` into `["a", "b", "0", ""]`; a malformed key is taken whole. */
export function splitKey(key: string): string[] {
  const open = key.indexOf("[");
  if (open <= 0 || !key.endsWith("]")) return [key];
  const parts = [key.slice(0, open)];
  const rest = key.slice(open);
  const re = /\[([^[\]]*)\]/g;
  let consumed = 0;
  for (let m = re.exec(rest); m; m = re.exec(rest)) {
    if (m.index !== consumed) return [key];
    parts.push(m[1] ?? "");
    consumed = re.lastIndex;
  }
  return consumed === rest.length ? parts : [key];
}

/** Parses a form body or a query string into nested objects and arrays. */
export function parseForm(input: string | URLSearchParams): FormObject {
  const search = typeof input === "string" ? new URLSearchParams(input) : input;
  const root: FormObject = {};
  for (const [rawKey, value] of search) {
    const parts = splitKey(rawKey);
    let node: FormObject = root;
    for (let i = 0; i < parts.length; i++) {
      let part = parts[i] ?? "";
      if (part === "") part = String(nextIndex(node));
      if (i === parts.length - 1) {
        node[part] = value;
        break;
      }
      const child = node[part];
      if (typeof child === "object" && child !== null && !Array.isArray(child)) {
        node = child;
      } else {
        const created: FormObject = {};
        node[part] = created;
        node = created;
      }
    }
  }
  return arrayify(root, "") as FormObject;
}

function nextIndex(node: FormObject): number {
  let n = 0;
  while (String(n) in node) n++;
  return n;
}

/** Turns objects whose keys are all array indexes into arrays (ordered by index). */
function arrayify(value: FormValue, key: string): FormValue {
  if (typeof value === "string" || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  const out: FormObject = {};
  for (const k of keys) out[k] = arrayify(value[k] as FormValue, k);
  if (MAP_KEYS.has(key) || keys.length === 0 || !keys.every((k) => /^\d+$/.test(k))) return out;
  return keys
    .map(Number)
    .sort((a, b) => a - b)
    .map((i) => out[String(i)] as FormValue);
}

/** The inverse, for tests and tools: nested values to Stripe's bracket form encoding. */
export function encodeForm(data: Record<string, unknown>): string {
  const pairs: string[] = [];
  const walk = (key: string, value: unknown): void => {
    if (value === undefined) return;
    if (value === null || typeof value !== "object") {
      pairs.push(`${encodeURIComponent(key)}=${encodeURIComponent(value === null ? "" : String(value))}`);
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => {
        walk(`${key}[${i}]`, v);
      });
    } else {
      for (const [k, v] of Object.entries(value)) walk(`${key}[${k}]`, v);
    }
  };
  for (const [k, v] of Object.entries(data)) walk(k, v);
  return pairs.join("&");
}
