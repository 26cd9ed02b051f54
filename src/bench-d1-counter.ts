/**
 * A D1 binding that adds up `meta.rows_read` of every query made through it, for the benchmark's
 * `x-bench-d1-rows-read` answer header (`src/bench-routes.ts`). Only a request that asks for it,
 * with the bench routes on, goes through it; no other request pays for it.
 *
 * `raw()` reports no `meta`, so it runs as `all()` here and hands back each row's values in
 * column order (what drizzle itself does with a batch's results).
 */
export function countingD1(binding: D1Database): { binding: D1Database; rowsRead: () => number } {
  let rowsRead = 0;
  const count = (result: D1Result) => {
    rowsRead += result.meta?.rows_read ?? 0;
    return result;
  };
  const unwrapped = new WeakMap<object, D1PreparedStatement>();

  const statement = (real: D1PreparedStatement): D1PreparedStatement => {
    const wrapped = new Proxy(real, {
      get(target, name) {
        switch (name) {
          case "bind":
            return (...values: unknown[]) => statement(target.bind(...values));
          case "all":
            return async () => count(await target.all());
          case "run":
            return async () => count(await target.run());
          case "first":
            return async (column?: string) => {
              const row = (count(await target.all()).results[0] ?? null) as Record<string, unknown> | null;
              return column === undefined ? row : (row?.[column] ?? null);
            };
          case "raw":
            return async (options?: { columnNames?: boolean }) => {
              const rows = count(await target.all()).results as Record<string, unknown>[];
              const values = rows.map((row) => Object.values(row));
              return options?.columnNames ? [Object.keys(rows[0] ?? {}), ...values] : values;
            };
          default: {
            const value = Reflect.get(target, name, target);
            return typeof value === "function" ? value.bind(target) : value;
          }
        }
      },
    });
    unwrapped.set(wrapped, real);
    return wrapped;
  };

  const wrapped = new Proxy(binding, {
    get(target, name) {
      if (name === "prepare") return (query: string) => statement(target.prepare(query));
      if (name === "batch")
        return async (statements: D1PreparedStatement[]) => {
          const results = await target.batch(statements.map((s) => unwrapped.get(s) ?? s));
          for (const result of results) count(result);
          return results;
        };
      const value = Reflect.get(target, name, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { binding: wrapped, rowsRead: () => rowsRead };
}
