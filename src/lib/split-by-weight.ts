/**
 * Splits `items`, in order, into runs whose weights add up to at most `limit` each (an item
 * heavier than the limit makes a run of its own): e.g. rows bound as one JSON string per
 * statement, kept under D1's limit on one bound value.
 */
export function splitByWeight<T>(items: Iterable<T>, weight: (item: T) => number, limit: number): T[][] {
  const runs: T[][] = [];
  let current: T[] = [];
  let total = 0;
  for (const item of items) {
    const itemWeight = weight(item);
    if (current.length && total + itemWeight > limit) {
      runs.push(current);
      current = [];
      total = 0;
    }
    current.push(item);
    total += itemWeight;
  }
  if (current.length) runs.push(current);
  return runs;
}
