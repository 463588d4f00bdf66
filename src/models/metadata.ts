/**
 * The model's metadata file (MODEL.json beside MODEL.onnx, written by training/train.py):
 * loading, validation, and the check that the model was trained on the engine's features
 * in the engine's order.
 */
import { besideModel, isObj, readModelJson, show, type Obj } from './model-files.js';

export interface ModelMetadata {
  model_version: string;
  created_at: string;
  framework: string;
  /** Feature names in the model's input order. */
  features: string[];
  /** Name of the float32 [N, F] input. */
  input_name: string;
  /** Name of the float32 [N, C] output holding the class probabilities. */
  output_name: string;
  /** Column of output_name that is P(fraud). */
  output_column: number;
  train_window: { from: string; to: string };
  delay_days: number;
  hyperparameters: Record<string, unknown>;
  validation: { auc_roc: number; average_precision: number; n: number; frauds: number };
  /** Scores >= decline are declined; review <= score < decline go to review. */
  thresholds: { review: number; decline: number };
  /** Any other keys the trainer wrote (kept as they are, for people). */
  [extra: string]: unknown;
}

export class ModelMetadataError extends Error {
  override name = 'ModelMetadataError';
}

export class FeatureMismatchError extends Error {
  override name = 'FeatureMismatchError';
  constructor(
    message: string,
    readonly diff: FeatureDiff,
  ) {
    super(message);
  }
}

/** MODEL.onnx → MODEL.json (any other name: the name plus .json). */
export function metadataPathFor(modelPath: string): string {
  return besideModel(modelPath, '.json');
}

export async function loadModelMetadata(path: string): Promise<ModelMetadata> {
  const json = await readModelJson(path, 'model metadata', (m) => new ModelMetadataError(m));
  return parseModelMetadata(json, path);
}

/** Validates a parsed MODEL.json; errors name the file and the bad key. */
export function parseModelMetadata(value: unknown, source = 'model metadata'): ModelMetadata {
  const fail = (key: string, want: string, got: unknown): never => {
    throw new ModelMetadataError(`${source}: "${key}" must be ${want}, got ${show(got)}`);
  };
  if (!isObj(value)) return fail('(root)', 'an object', value);

  const obj = (o: Obj, key: string, path: string): Obj => {
    const v = o[key];
    return isObj(v) ? v : fail(path, 'an object', v);
  };
  const str = (o: Obj, key: string, path = key): string => {
    const v = o[key];
    return typeof v === 'string' && v.trim() !== '' ? v : fail(path, 'a non-empty string', v);
  };
  const num = (o: Obj, key: string, path = key, min = -Infinity, max = Infinity): number => {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      const range = min === -Infinity && max === Infinity ? '' : ` in [${min}, ${max === Infinity ? '∞' : max}]`;
      return fail(path, `a number${range}`, v);
    }
    return v;
  };
  const int = (o: Obj, key: string, path = key): number => {
    const v = num(o, key, path, 0);
    return Number.isInteger(v) ? v : fail(path, 'a non-negative integer', v);
  };
  const date = (o: Obj, key: string, path: string): string => {
    const v = str(o, key, path);
    return Number.isNaN(Date.parse(v)) ? fail(path, 'an ISO 8601 date-time', v) : v;
  };

  const features = value.features;
  if (!Array.isArray(features) || features.length === 0) fail('features', 'a non-empty array of names', features);
  const names = features as unknown[];
  names.forEach((n, i) => {
    if (typeof n !== 'string' || n === '') fail(`features[${i}]`, 'a non-empty string', n);
  });
  const seen = new Set<string>();
  for (const n of names as string[]) {
    if (seen.has(n)) throw new ModelMetadataError(`${source}: "features" lists "${n}" twice`);
    seen.add(n);
  }

  const tw = obj(value, 'train_window', 'train_window');
  const va = obj(value, 'validation', 'validation');
  const th = obj(value, 'thresholds', 'thresholds');
  const meta: ModelMetadata = {
    ...value,
    model_version: str(value, 'model_version'),
    created_at: date(value, 'created_at', 'created_at'),
    framework: str(value, 'framework'),
    features: [...(names as string[])],
    input_name: str(value, 'input_name'),
    output_name: str(value, 'output_name'),
    output_column: int(value, 'output_column'),
    train_window: { from: date(tw, 'from', 'train_window.from'), to: date(tw, 'to', 'train_window.to') },
    delay_days: num(value, 'delay_days', 'delay_days', 0),
    hyperparameters: obj(value, 'hyperparameters', 'hyperparameters'),
    validation: {
      auc_roc: num(va, 'auc_roc', 'validation.auc_roc', 0, 1),
      average_precision: num(va, 'average_precision', 'validation.average_precision', 0, 1),
      n: int(va, 'n', 'validation.n'),
      frauds: int(va, 'frauds', 'validation.frauds'),
    },
    thresholds: {
      review: num(th, 'review', 'thresholds.review', 0, 1),
      decline: num(th, 'decline', 'thresholds.decline', 0, 1),
    },
  };
  if (Date.parse(meta.train_window.to) <= Date.parse(meta.train_window.from)) {
    fail('train_window.to', `later than train_window.from (${meta.train_window.from})`, meta.train_window.to);
  }
  if (meta.thresholds.review > meta.thresholds.decline) {
    fail('thresholds.review', `at most thresholds.decline (${meta.thresholds.decline})`, meta.thresholds.review);
  }
  return meta;
}

export interface FeatureDiff {
  /** In the engine's list, not in the model's. */
  missing: string[];
  /** In the model's list, not in the engine's. */
  extra: string[];
  /** First index where the two lists differ, or null when they are equal. */
  firstDifference: { index: number; engine: string | undefined; model: string | undefined } | null;
}

export function diffFeatures(model: readonly string[], engine: readonly string[]): FeatureDiff {
  const inModel = new Set(model);
  const inEngine = new Set(engine);
  const missing = engine.filter((n) => !inModel.has(n));
  const extra = model.filter((n) => !inEngine.has(n));
  let firstDifference: FeatureDiff['firstDifference'] = null;
  for (let i = 0; i < Math.max(model.length, engine.length); i++) {
    if (model[i] !== engine[i]) {
      firstDifference = { index: i, engine: engine[i], model: model[i] };
      break;
    }
  }
  return { missing, extra, firstDifference };
}

/**
 * Refuses a model whose features are not exactly the engine's, in the engine's order.
 * The error names what is missing, what is extra, and the first position that differs.
 */
export function checkFeatures(
  meta: Pick<ModelMetadata, 'features' | 'model_version'>,
  expected: readonly string[],
): void {
  const diff = diffFeatures(meta.features, expected);
  if (diff.firstDifference === null) return;
  const parts: string[] = [];
  if (diff.missing.length) parts.push(`missing from the model: ${diff.missing.join(', ')}`);
  if (diff.extra.length) parts.push(`unknown to the engine: ${diff.extra.join(', ')}`);
  const d = diff.firstDifference;
  const q = (s: string | undefined): string => (s === undefined ? '(end of list)' : `"${s}"`);
  parts.push(`first difference at position ${d.index}: engine ${q(d.engine)}, model ${q(d.model)}`);
  if (!diff.missing.length && !diff.extra.length) parts.unshift('same names in a different order');
  throw new FeatureMismatchError(
    `model ${meta.model_version} does not match the engine's features ` +
      `(model ${meta.features.length}, engine ${expected.length}): ${parts.join('; ')}`,
    diff,
  );
}
