// Summaries across the runs of one scenario.

const finite = (values) => values.filter((value) => typeof value === "number" && Number.isFinite(value));

/** Median of the finite values (mean of the middle two for an even count); NaN when there are none. */
export function median(values) {
  const sorted = finite(values).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * Median, lowest and highest of one figure across runs: the median is what the report leads
 * with, min–max (the spread) says how far a single run can be trusted on this machine.
 */
export function summarize(values) {
  const usable = finite(values);
  if (usable.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, n: 0 };
  return { median: median(usable), min: Math.min(...usable), max: Math.max(...usable), n: usable.length };
}

/** Nearest-rank percentile of a sorted array; NaN when it is empty. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}
