/**
 * A D1 binding that adds up what its queries read (`meta.rows_read`), for tests that bound a
 * read's cost. drizzle reads selects with `raw()`, which gives no meta: the wrapper runs the
 * same statement with `all()` once more to learn its cost (tests only; reads have no effects).
 */
export interface ReadCount {
  rows: number;
  queries: number;
}

export function countingD1(binding: D1Database): { db: D1Database; count: ReadCount; reset(): void } {
  const count: ReadCount = { rows: 0, queries: 0 };
  const note = (meta: { rows_read?: number } | undefined) => {
    count.rows += meta?.rows_read ?? 0;
    count.queries += 1;
  };
  const wrap = (statement: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(statement, {
      get(target, name) {
        if (name === "bind") return (...values: unknown[]) => wrap(target.bind(...values));
        if (name === "all" || name === "run")
          return async () => {
            const result = await target[name]();
            note(result.meta);
            return result;
          };
        if (name === "raw" || name === "first")
          return async (...args: unknown[]) => {
            note((await target.all()).meta);
            return (target[name] as (...a: unknown[]) => unknown)(...args);
          };
        const value = Reflect.get(target, name, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  const db = new Proxy(binding, {
    get(target, name) {
      if (name === "prepare") return (query: string) => wrap(target.prepare(query));
      if (name === "batch")
        return async (statements: D1PreparedStatement[]) => {
          const results = await target.batch(statements);
          for (const result of results) note(result.meta);
          return results;
        };
      const value = Reflect.get(target, name, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return {
    db,
    count,
    reset() {
      count.rows = 0;
      count.queries = 0;
    },
  };
}
