// The "D1 rows read/req" figure of a scenario: one more request, outside the timed windows,
// asking the Worker (bench routes on) to count D1's `meta.rows_read` of everything it queried.

/** An `extra` for GET scenarios (one request, or the first of a rotation): the rows D1 read to answer it. */
export const rowsReadExtra = {
  title: "D1 rows read/req",
  async measure({ baseUrl, request: options }) {
    const request = options.requests?.[0] ?? options;
    const response = await fetch(new URL(request.path, baseUrl), {
      method: request.method ?? "GET",
      headers: { ...request.headers, "x-bench-d1-rows-read": "1" },
    });
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`${request.path} answered ${response.status}`);
    const rows = response.headers.get("x-bench-d1-rows-read");
    return rows === null ? Number.NaN : Number(rows);
  },
};
