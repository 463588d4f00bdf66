/**
 * MODEL.trees.json, written beside MODEL.onnx by training/fraud_trainer/trees.py: the model's
 * own trees (LightGBM's arrays, with the training counts TreeSHAP needs) and the linear part of a
 * blend, as additive parts with weights:
 *
 *   raw score = Σ weight · part's raw score        (what the contributions sum to)
 *   score     = Σ weight · sigmoid(part's raw)     (the ONNX graph's output)
 *
 * Loading validates everything the explainer relies on (shapes, indexes, a proper tree with no
 * cycle, finite numbers, positive counts), so a bad file is refused at start with the key named.
 */
import { besideModel, isObj, readModelJson, show, type Obj } from '../model-files.js';

export const TREES_FORMAT = 'fraud-engine-trees';
export const TREES_FORMAT_VERSION = 1;

export type MissingType = 'none' | 'zero' | 'nan';

/** One LightGBM tree as LightGBM holds it (tree.h): a child >= 0 is an internal node, < 0 the leaf ~child. */
export interface TreeArrays {
  num_leaves: number;
  split_feature: number[];
  threshold: number[];
  missing: MissingType[];
  default_left: boolean[];
  left_child: number[];
  right_child: number[];
  internal_count: number[];
  leaf_value: number[];
  leaf_count: number[];
}

export interface LightGbmPart {
  kind: 'lightgbm';
  weight: number;
  /** LightGBM's binary sigmoid parameter: P = 1 / (1 + exp(-sigmoid · raw)). */
  sigmoid: number;
  trees: TreeArrays[];
}

/** A logistic regression on z = slog?(x with NaN → median): raw = intercept + Σ coef·(z − center). */
export interface LinearPart {
  kind: 'linear';
  weight: number;
  transform: 'none' | 'slog';
  medians: number[];
  center: number[];
  coef: number[];
  intercept: number;
}

export type ModelPart = LightGbmPart | LinearPart;

export interface TreesDocument {
  format: typeof TREES_FORMAT;
  format_version: typeof TREES_FORMAT_VERSION;
  model_version: string;
  features: string[];
  parts: ModelPart[];
}

export class TreesFileError extends Error {
  override name = 'TreesFileError';
}

/** MODEL.onnx → MODEL.trees.json (any other name: the name plus .trees.json). */
export function treesPathFor(modelPath: string): string {
  return besideModel(modelPath, '.trees.json');
}

export async function loadTreesFile(path: string): Promise<TreesDocument> {
  const json = await readModelJson(path, 'model trees', (m) => new TreesFileError(m));
  return parseTreesDocument(json, path);
}

const MISSING: readonly string[] = ['none', 'zero', 'nan'];

/** Validates a parsed trees document; errors name the source and the key (e.g. parts[0].trees[3].left_child[2]). */
export function parseTreesDocument(value: unknown, source = 'model trees'): TreesDocument {
  const fail = (key: string, want: string, got: unknown): never => {
    throw new TreesFileError(`${source}: "${key}" must be ${want}, got ${show(got)}`);
  };
  const obj = (v: unknown, key: string): Obj => (isObj(v) ? v : fail(key, 'an object', v));
  const num = (v: unknown, key: string): number =>
    typeof v === 'number' && Number.isFinite(v) ? v : fail(key, 'a finite number', v);
  const int = (v: unknown, key: string, min: number, max = Number.MAX_SAFE_INTEGER): number =>
    Number.isInteger(v) && (v as number) >= min && (v as number) <= max
      ? (v as number)
      : fail(key, `an integer in [${min}, ${max}]`, v);
  const arr = (v: unknown, key: string, length: number): unknown[] =>
    Array.isArray(v) && v.length === length ? v : fail(key, `an array of ${length}`, Array.isArray(v) ? v.length : v);

  const root = obj(value, '(root)');
  if (root.format !== TREES_FORMAT) fail('format', `"${TREES_FORMAT}"`, root.format);
  if (root.format_version !== TREES_FORMAT_VERSION)
    fail('format_version', String(TREES_FORMAT_VERSION), root.format_version);
  if (typeof root.model_version !== 'string' || !root.model_version)
    fail('model_version', 'a string', root.model_version);
  if (!Array.isArray(root.features) || root.features.length === 0 || !root.features.every((f) => typeof f === 'string'))
    fail('features', 'a non-empty array of names', root.features);
  const features = root.features as string[];
  const nf = features.length;
  if (!Array.isArray(root.parts) || root.parts.length === 0) fail('parts', 'a non-empty array', root.parts);

  const parts = (root.parts as unknown[]).map((p, k): ModelPart => {
    const key = `parts[${k}]`;
    const part = obj(p, key);
    const weight = num(part.weight, `${key}.weight`);
    if (part.kind === 'lightgbm') {
      const sigmoid = num(part.sigmoid, `${key}.sigmoid`);
      if (!Array.isArray(part.trees)) fail(`${key}.trees`, 'an array', part.trees);
      const trees = (part.trees as unknown[]).map((t, i) => parseTree(t, `${key}.trees[${i}]`, nf, fail));
      return { kind: 'lightgbm', weight, sigmoid, trees };
    }
    if (part.kind === 'linear') {
      if (part.transform !== 'none' && part.transform !== 'slog')
        fail(`${key}.transform`, '"none" or "slog"', part.transform);
      const vec = (name: string): number[] =>
        arr(part[name], `${key}.${name}`, nf).map((v, j) => num(v, `${key}.${name}[${j}]`));
      return {
        kind: 'linear',
        weight,
        transform: part.transform as 'none' | 'slog',
        medians: vec('medians'),
        center: vec('center'),
        coef: vec('coef'),
        intercept: num(part.intercept, `${key}.intercept`),
      };
    }
    return fail(`${key}.kind`, '"lightgbm" or "linear"', part.kind);
  });
  return {
    format: TREES_FORMAT,
    format_version: TREES_FORMAT_VERSION,
    model_version: root.model_version as string,
    features,
    parts,
  };

  function parseTree(t: unknown, key: string, nFeatures: number, failAt: typeof fail): TreeArrays {
    const tree = obj(t, key);
    const nLeaves = int(tree.num_leaves, `${key}.num_leaves`, 1);
    const n = nLeaves - 1;
    const ints = (name: string, len: number, min: number, max?: number): number[] =>
      arr(tree[name], `${key}.${name}`, len).map((v, i) => int(v, `${key}.${name}[${i}]`, min, max));
    const out: TreeArrays = {
      num_leaves: nLeaves,
      split_feature: ints('split_feature', n, 0, nFeatures - 1),
      threshold: arr(tree.threshold, `${key}.threshold`, n).map((v, i) => num(v, `${key}.threshold[${i}]`)),
      missing: arr(tree.missing, `${key}.missing`, n).map((v, i) =>
        MISSING.includes(v as string) ? (v as MissingType) : failAt(`${key}.missing[${i}]`, 'none, zero or nan', v),
      ),
      default_left: arr(tree.default_left, `${key}.default_left`, n).map((v, i) =>
        typeof v === 'boolean' ? v : failAt(`${key}.default_left[${i}]`, 'a boolean', v),
      ),
      left_child: ints('left_child', n, -nLeaves, n - 1),
      right_child: ints('right_child', n, -nLeaves, n - 1),
      internal_count: ints('internal_count', n, 1),
      leaf_value: arr(tree.leaf_value, `${key}.leaf_value`, nLeaves).map((v, i) => num(v, `${key}.leaf_value[${i}]`)),
      leaf_count: ints('leaf_count', nLeaves, 0),
    };
    // A proper binary tree rooted at node 0: each child is referenced once and an internal child
    // comes after its parent (LightGBM numbers nodes as it splits), so there is no cycle; the
    // 2n references then reach each of the n - 1 other nodes and n + 1 leaves exactly once.
    const seenNode = new Uint8Array(n);
    const seenLeaf = new Uint8Array(nLeaves);
    for (let i = 0; i < n; i++) {
      for (const side of ['left_child', 'right_child'] as const) {
        const c = out[side][i]!;
        const seen = c >= 0 ? seenNode : seenLeaf;
        const idx = c >= 0 ? c : ~c;
        if ((c >= 0 && c <= i) || seen[idx]) failAt(`${key}.${side}[${i}]`, 'a node not yet reached (a tree)', c);
        seen[idx] = 1;
      }
    }
    return out;
  }
}
