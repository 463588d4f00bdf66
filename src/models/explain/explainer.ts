/**
 * Why the model scored a row: each feature's exact contribution to the model's raw score, from
 * the trees file beside the model (./trees-file.ts). The LightGBM parts go through TreeSHAP
 * (./treeshap.ts, LightGBM's pred_contrib); the linear part of a blend contributes
 * coef·(z − center) per feature (the exact Shapley values of a linear model). Every
 * contribution is weighted as its part is in the raw score, so
 *
 *   baseValue + Σ contributions = raw score = Σ weight · part's raw score.
 *
 * For one LightGBM the raw score is LightGBM's log-odds and score = sigmoid(raw). For the blend
 * it is the weighted sum of the parts' log-odds (the score is the weighted sum of their
 * probabilities, which has no additive decomposition); docs/model.md says more.
 *
 * The explainer keeps buffers between calls (no allocation per row): one per thread of work, as
 * the engine has.
 */
import { existsSync } from 'node:fs';
import type { DecisionFactor } from '../../events/types.js';
import type { ModelMetadata } from '../metadata.js';
import type { Scorer } from '../scorer.js';
import { PathTables } from './path-tables.js';
import { TreeShap } from './treeshap.js';
import {
  loadTreesFile,
  treesPathFor,
  TreesFileError,
  type LightGbmPart,
  type LinearPart,
  type TreesDocument,
} from './trees-file.js';

/** One of a decision's top factors: the feature, its input value (null: missing), its contribution to the raw score. */
export type Factor = DecisionFactor;

export const TOP_FACTORS = 5;

const slog = (z: number): number => Math.sign(z) * Math.log1p(Math.abs(z));
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

export class Explainer {
  readonly modelVersion: string;
  readonly features: readonly string[];
  /** The raw score with nothing known of the row: Σ weight · each part's expected raw score. */
  readonly baseValue: number;
  private readonly trees: TreeShap;
  /** The tabulated form of the same computation (./path-tables.ts), null when too large or not asked for. */
  private readonly tables: PathTables | null;
  private readonly gbms: readonly LightGbmPart[];
  private readonly linear: LinearPart | null;
  private readonly groupRaw: Float64Array;
  private readonly phi: Float64Array;

  /**
   * algorithm: 'tables' (default: ./path-tables.ts, O(L·D) a tree and row, when its tables fit)
   * or 'recursive' (./treeshap.ts, Lundberg's O(L·D²), no tables). Both give the same values.
   */
  constructor(doc: TreesDocument, opts: { algorithm?: 'tables' | 'recursive' } = {}) {
    this.modelVersion = doc.model_version;
    this.features = doc.features;
    const nf = doc.features.length;
    this.gbms = doc.parts.filter((p): p is LightGbmPart => p.kind === 'lightgbm');
    const linear = doc.parts.filter((p): p is LinearPart => p.kind === 'linear');
    if (linear.length > 1) throw new TreesFileError(`model trees ${doc.model_version}: more than one linear part`);
    this.linear = linear[0] ?? null;
    this.trees = new TreeShap(this.gbms, nf);
    this.tables = opts.algorithm === 'recursive' ? null : PathTables.build(this.gbms);
    this.baseValue = this.trees.expectedValue + (this.linear ? this.linear.weight * this.linear.intercept : 0);
    this.groupRaw = new Float64Array(this.gbms.length);
    this.phi = new Float64Array(nf);
  }

  get nFeatures(): number {
    return this.features.length;
  }

  /**
   * Contributions of row `row` of `rows` (row-major, nFeatures wide, NaN = missing) into `out`:
   * out[j] for feature j, out[nFeatures] the base value. Returns `out`.
   */
  contributions(rows: ArrayLike<number>, row: number, out = new Float64Array(this.nFeatures + 1)): Float64Array {
    this.addContributions(rows, row * this.nFeatures, out);
    out[this.nFeatures] = this.baseValue;
    return out;
  }

  /** out[0..nFeatures) = the contributions of the row at rows[off..]. */
  private addContributions(rows: ArrayLike<number>, off: number, out: Float64Array): void {
    const nf = this.nFeatures;
    out.fill(0, 0, nf);
    (this.tables ?? this.trees).explain(rows, off, out);
    const lin = this.linear;
    if (!lin) return;
    for (let j = 0; j < nf; j++) {
      const x = rows[off + j]!;
      const v = x !== x ? lin.medians[j]! : x;
      out[j]! += lin.weight * lin.coef[j]! * ((lin.transform === 'slog' ? slog(v) : v) - lin.center[j]!);
    }
  }

  /** The linear part's raw score (its logit) for the row at rows[off..]. */
  private linearRaw(lin: LinearPart, rows: ArrayLike<number>, off: number): number {
    let s = lin.intercept;
    for (let j = 0; j < this.nFeatures; j++) {
      const x = rows[off + j]!;
      const v = x !== x ? lin.medians[j]! : x;
      s += lin.coef[j]! * ((lin.transform === 'slog' ? slog(v) : v) - lin.center[j]!);
    }
    return s;
  }

  /** The model's raw score of a row, computed from the parts (what base + contributions sum to). */
  rawScore(rows: ArrayLike<number>, row: number): number {
    const off = row * this.nFeatures;
    this.trees.groupRawScores(rows, off, this.groupRaw);
    let raw = 0;
    this.gbms.forEach((g, i) => (raw += g.weight * this.groupRaw[i]!));
    if (this.linear) raw += this.linear.weight * this.linearRaw(this.linear, rows, off);
    return raw;
  }

  /** The model's score (fraud probability) of a row, as the ONNX graph computes it. */
  score(rows: ArrayLike<number>, row: number): number {
    const off = row * this.nFeatures;
    this.trees.groupRawScores(rows, off, this.groupRaw);
    let p = 0;
    this.gbms.forEach((g, i) => (p += g.weight * sigmoid(g.sigmoid * this.groupRaw[i]!)));
    if (this.linear) p += this.linear.weight * sigmoid(this.linearRaw(this.linear, rows, off));
    return p;
  }

  /**
   * The k features that moved the raw score most (largest |contribution|, ties in feature
   * order; features contributing exactly 0 left out). `values`: the row's input values as the
   * caller has them (the float32 row loses digits of amounts); default: the row itself.
   */
  topFactors(
    rows: ArrayLike<number>,
    row: number,
    k = TOP_FACTORS,
    values?: readonly (number | null | undefined)[],
  ): Factor[] {
    const nf = this.nFeatures;
    const phi = this.phi;
    this.addContributions(rows, row * nf, phi);
    // Selection of the k largest |phi| (k is small: insertion into a short sorted list).
    const top: number[] = [];
    for (let j = 0; j < nf; j++) {
      const a = Math.abs(phi[j]!);
      if (a === 0) continue;
      if (top.length === k && a <= Math.abs(phi[top[k - 1]!]!)) continue;
      let i = Math.min(top.length, k - 1);
      top[i] = j;
      while (i > 0 && Math.abs(phi[top[i - 1]!]!) < a) {
        top[i] = top[i - 1]!;
        top[i - 1] = j;
        i--;
      }
    }
    return top.map((j) => {
      const raw = values ? values[j] : rows[row * nf + j];
      return {
        feature: this.features[j]!,
        value: raw === null || raw === undefined || Number.isNaN(raw) ? null : raw,
        contribution: phi[j]!,
      };
    });
  }
}

/**
 * The explainer of the model at `modelPath` (MODEL.trees.json beside it), or null when the model
 * has no trees file (a model trained before the file existed: decisions then carry no factors).
 * A trees file of another model or another feature order is refused.
 */
export async function loadExplainer(modelPath: string, meta: ModelMetadata): Promise<Explainer | null> {
  const path = treesPathFor(modelPath);
  if (!existsSync(path)) return null;
  const doc = await loadTreesFile(path);
  if (doc.model_version !== meta.model_version)
    throw new TreesFileError(`${path}: trees of model ${doc.model_version}, but the model is ${meta.model_version}`);
  if (doc.features.join(',') !== meta.features.join(','))
    throw new TreesFileError(`${path}: its features differ from the model metadata's (names or order)`);
  return new Explainer(doc);
}

/**
 * Scores a few probe rows (all missing, all zero, all one, and the given rows) with both the
 * explainer and the model, and throws when they differ by more than `tolerance`: trees that do
 * not describe the model in use must not explain its decisions.
 */
export async function checkExplainerAgainst(
  explainer: Explainer,
  scorer: Scorer,
  extraRows: readonly (readonly number[])[] = [],
  tolerance = 1e-5,
): Promise<number> {
  const nf = explainer.nFeatures;
  const probes = [
    new Array<number>(nf).fill(NaN),
    new Array<number>(nf).fill(0),
    new Array<number>(nf).fill(1),
    ...extraRows,
  ];
  const rows = new Float32Array(probes.length * nf);
  probes.forEach((p, i) => rows.set(p, i * nf));
  const want = await scorer.score(rows, probes.length);
  let worst = 0;
  for (let i = 0; i < probes.length; i++) worst = Math.max(worst, Math.abs(explainer.score(rows, i) - want[i]!));
  if (!(worst <= tolerance))
    throw new TreesFileError(
      `model trees of ${explainer.modelVersion} score differently from the model by up to ${worst.toExponential(2)}`,
    );
  return worst;
}
