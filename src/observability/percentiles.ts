/**
 * Percentiles of latencies, each meaning under its own name. Both take values sorted ascending.
 *
 * - percentileNearestRank(sorted, p): p in [0, 100], the nearest-rank percentile, the smallest
 *   value with at least p% of the values at or below it (sorted[ceil(p/100 * n) - 1]); what the
 *   bench and the demo report.
 * - quantileUpper(sorted, q): q in [0, 1], the value at index floor(q * n), one rank above the
 *   nearest rank when q * n is whole: a pessimistic p99 of small samples (the fault tests'
 *   bounds are checked against it).
 *
 * Both are NaN for no values.
 */
export function percentileNearestRank(sorted: readonly number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function quantileUpper(sorted: readonly number[], q: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}
