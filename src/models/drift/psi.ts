/**
 * The population stability index, pure: which bin a value falls in, and the PSI of observed
 * counts against the training window's proportions (reference.ts). The bins of a column are
 * edges.length + 1 value bins then one bin for missing values, last.
 *
 * PSI = Σ over bins (a − e) · ln(a / e), a and e the observed and expected proportions, each at
 * least `epsilon` so that an empty bin counts as rare rather than infinitely surprising.
 */

/**
 * The bin of x: the number of edges ≤ x (numpy's searchsorted side="right", as the trainer
 * binned), or the missing bin (edges.length + 1) for null, undefined and NaN. x is rounded to
 * float32 first: the model and the trainer's edges see float32 values.
 */
export function binOf(edges: Float64Array | readonly number[], x: number | null | undefined): number {
  if (x === null || x === undefined || Number.isNaN(x)) return edges.length + 1;
  const v = Math.fround(x);
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Σ (a − e) · ln(a / e) over the bins, both proportions floored at epsilon. */
export function psi(expected: readonly number[], actual: readonly number[], epsilon: number): number {
  if (expected.length !== actual.length)
    throw new RangeError(`psi: ${expected.length} expected bins, ${actual.length} actual`);
  let sum = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i]!, epsilon);
    const a = Math.max(actual[i]!, epsilon);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}

/** The PSI of observed counts (any integers per bin) against expected proportions; null without observations. */
export function psiOfCounts(expected: readonly number[], counts: ArrayLike<number>, epsilon: number): number | null {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  if (total === 0) return null;
  const actual = Array.from({ length: counts.length }, (_, i) => counts[i]! / total);
  return psi(expected, actual, epsilon);
}

/** Reading a PSI: below 0.1 stable, 0.1 to 0.25 a moderate shift worth a look, above 0.25 a significant shift. */
export const PSI_MODERATE = 0.1;
export const PSI_SIGNIFICANT = 0.25;
