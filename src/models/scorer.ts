/**
 * What the pipeline needs of a model: a version and a batched score. Its own module so that code
 * needing the type (the engine, backtests, tests with a stand-in scorer) does not import
 * onnxruntime; the ONNX implementation is ./onnx-scorer.ts.
 */
import type { Explainer } from './explain/explainer.js';

export interface Scorer {
  readonly version: string;
  /** The model's per-feature contributions (its trees file), when it has one. */
  readonly explainer?: Explainer | null;
  /** rows: nRows × F float32, row-major, NaN for missing. Resolves to nRows fraud probabilities. */
  score(rows: Float32Array, nRows: number): Promise<Float32Array>;
}

/**
 * Packs feature vectors into one row-major float32 matrix for Scorer.score; null or undefined
 * (a missing feature) becomes NaN, which the model treats as missing. Every row must have
 * nFeatures values (default: the first row's length).
 */
export function toFloat32Rows(
  vectors: readonly (readonly (number | null | undefined)[])[],
  nFeatures: number = vectors[0]?.length ?? 0,
): Float32Array {
  const out = new Float32Array(vectors.length * nFeatures);
  vectors.forEach((row, r) => {
    if (row.length !== nFeatures) throw new RangeError(`row ${r} has ${row.length} values, expected ${nFeatures}`);
    const base = r * nFeatures;
    for (let i = 0; i < nFeatures; i++) {
      const v = row[i];
      out[base + i] = v === null || v === undefined ? NaN : v;
    }
  });
  return out;
}
