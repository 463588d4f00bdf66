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
 * nFeatures values (default: the first row's length). With `into`, the matrix is written at the
 * start of that buffer (large enough) and returned as a view of it: no allocation.
 */
export function toFloat32Rows(
  vectors: readonly (readonly (number | null | undefined)[])[],
  nFeatures: number = vectors[0]?.length ?? 0,
  into?: Float32Array,
): Float32Array {
  const size = vectors.length * nFeatures;
  if (into && into.length < size) throw new RangeError(`buffer of ${into.length} values for ${size}`);
  const out = into ? into.subarray(0, size) : new Float32Array(size);
  for (let r = 0; r < vectors.length; r++) {
    const row = vectors[r]!;
    if (row.length !== nFeatures) throw new RangeError(`row ${r} has ${row.length} values, expected ${nFeatures}`);
    const base = r * nFeatures;
    for (let i = 0; i < nFeatures; i++) {
      const v = row[i];
      out[base + i] = v === null || v === undefined ? NaN : v;
    }
  }
  return out;
}

/**
 * Matrices for toFloat32Rows kept across batches: a batch takes one, and gives it back once its
 * model, challenger and factors are done with it (batches in flight at once each hold their
 * own). A buffer grows to the largest batch seen and stays.
 */
export class RowBuffers {
  private readonly free: Float32Array[] = [];

  /** A buffer of at least `size` values, for the caller alone until release. */
  take(size: number): Float32Array {
    const buf = this.free.pop();
    return buf && buf.length >= size ? buf : new Float32Array(Math.max(size, buf?.length ?? 0));
  }

  release(buf: Float32Array): void {
    // At most a few batches are in flight: as many buffers are kept.
    if (this.free.length < 8) this.free.push(buf);
  }
}
