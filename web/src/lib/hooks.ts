import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError, api, type Page, type Query } from "./api";

export interface Resource<T> {
  data: T | undefined;
  error: ApiError | null;
  loading: boolean;
  reload: () => void;
}

const asApiError = (error: unknown) =>
  error instanceof ApiError
    ? error
    : new ApiError(0, "client_error", error instanceof Error ? error.message : String(error));

/** GETs `path` (again whenever it or `query` changes); `null` waits. */
export function useApi<T>(path: string | null, query?: Query): Resource<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(path !== null);
  const [tick, setTick] = useState(0);
  const key = path === null ? null : `${path}?${JSON.stringify(query ?? {})}`;

  useEffect(() => {
    if (path === null) return;
    const controller = new AbortController();
    setLoading(true);
    api<T>(path, { query, signal: controller.signal })
      .then((value) => {
        setData(value);
        setError(null);
      })
      .catch((caught) => {
        if (!controller.signal.aborted) setError(asApiError(caught));
      })
      .finally(() => {
        if (!controller.signal.aborted) setLoading(false);
      });
    return () => controller.abort();
  }, [key, tick]);

  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, loading, reload };
}

export interface PagedList<T> extends Resource<T[]> {
  hasMore: boolean;
  loadingMore: boolean;
  loadMore: () => void;
}

/** A cursor-paginated list (`{data, has_more, next_cursor}`) with "load more". */
export function usePagedList<T>(path: string, query: Query = {}): PagedList<T> {
  const first = useApi<Page<T>>(path, { limit: 20, ...query });
  const [more, setMore] = useState<T[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [hasMore, setHasMore] = useState(false);
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<ApiError | null>(null);

  useEffect(() => {
    setMore([]);
    setCursor(first.data?.next_cursor ?? null);
    setHasMore(first.data?.has_more ?? false);
  }, [first.data]);

  const loadMore = () => {
    if (!cursor || loadingMore) return;
    setLoadingMore(true);
    api<Page<T>>(path, { query: { limit: 20, ...query, cursor } })
      .then((page) => {
        setMore((rows) => [...rows, ...page.data]);
        setCursor(page.next_cursor);
        setHasMore(page.has_more);
        setMoreError(null);
      })
      .catch((caught) => setMoreError(asApiError(caught)))
      .finally(() => setLoadingMore(false));
  };

  return {
    data: first.data ? [...first.data.data, ...more] : undefined,
    error: first.error ?? moreError,
    loading: first.loading,
    reload: first.reload,
    hasMore,
    loadingMore,
    loadMore,
  };
}

export interface Action<A extends unknown[], R> {
  run: (...args: A) => Promise<R | undefined>;
  pending: boolean;
  error: ApiError | null;
  reset: () => void;
}

/** Runs a change (POST, PATCH, DELETE): tracks pending, keeps the API's error to show it. */
export function useAction<A extends unknown[], R>(fn: (...args: A) => Promise<R>): Action<A, R> {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const fnRef = useRef(fn);
  fnRef.current = fn;
  const run = useCallback(async (...args: A) => {
    setPending(true);
    setError(null);
    try {
      return await fnRef.current(...args);
    } catch (caught) {
      setError(asApiError(caught));
      return undefined;
    } finally {
      setPending(false);
    }
  }, []);
  const reset = useCallback(() => setError(null), []);
  return { run, pending, error, reset };
}

/** A value that follows `value` after `ms` of quiet (search boxes). */
export function useDebounced<T>(value: T, ms = 300): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}
