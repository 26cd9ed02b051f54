// The "D1 rows read/req" figure of a scenario: a few more requests, outside the timed windows,
// asking the Worker (bench routes on) to count D1's `meta.rows_read` of everything it queried.

/**
 * Requests measured per run; the smallest count is the request's own. A request can also carry
 * work that is not its own: the API keys' last-used flush (up to 500 keys, about 2,500 rows read,
 * at most every 5 s per isolate, off the response path but on the request's D1 binding) rode in
 * one such request after apikey-cold had used 20,000 keys, and a single measurement then showed
 * 3,101 rows for a customers search that reads about 600.
 */
const MEASUREMENTS = 3;

/** An `extra` for GET scenarios (one request, or the first of a rotation): the rows D1 read to answer it. */
export const rowsReadExtra = {
  title: "D1 rows read/req",
  async measure({ baseUrl, request: options }) {
    const request = options.requests?.[0] ?? options;
    const counts = [];
    for (let i = 0; i < MEASUREMENTS; i++) {
      const response = await fetch(new URL(request.path, baseUrl), {
        method: request.method ?? "GET",
        headers: { ...request.headers, "x-bench-d1-rows-read": "1" },
      });
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`${request.path} answered ${response.status}`);
      const header = response.headers.get("x-bench-d1-rows-read");
      counts.push(header === null ? Number.NaN : Number(header));
    }
    return Math.min(...counts);
  },
};
