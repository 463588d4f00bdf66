/**
 * The drift reference the trainer writes beside the model (MODEL.onnx → MODEL.reference.json,
 * training/fraud_trainer/reference.py): for the score and each feature, the decile edges on the
 * training window and the proportion of each bin, missing values apart. Loading and validation,
 * with errors that name the file and the bad key, and the check that it belongs to the model.
 */
import { besideModel, isObj, readModelJson, show, type Obj } from '../model-files.js';

/** One column's bins: edges.length + 1 value bins, then the missing bin, as in psi.ts. */
export interface Binning {
  edges: Float64Array;
  /** Proportion of each bin on the training window, the missing bin last (length edges.length + 2). */
  expected: number[];
}

export interface DriftReference {
  modelVersion: string;
  window: { from: string; to: string };
  /** Rows of the training window. */
  n: number;
  epsilon: number;
  score: Binning;
  features: (Binning & { name: string })[];
}

export class DriftReferenceError extends Error {
  override name = 'DriftReferenceError';
}

/** MODEL.onnx → MODEL.reference.json (any other name: the name plus .reference.json). */
export function referencePathFor(modelPath: string): string {
  return besideModel(modelPath, '.reference.json');
}

/** The reference at `path`; null when there is no such file (a model trained before references). */
export async function loadDriftReference(path: string): Promise<DriftReference | null> {
  const json = await readModelJson(path, 'drift reference', (m) => new DriftReferenceError(m), { missingOk: true });
  return json === null ? null : parseDriftReference(json, path);
}

/** Validates a parsed reference file; errors name the source and the bad key. */
export function parseDriftReference(value: unknown, source = 'drift reference'): DriftReference {
  const fail = (key: string, want: string, got: unknown): never => {
    throw new DriftReferenceError(`${source}: "${key}" must be ${want}, got ${show(got)}`);
  };
  if (!isObj(value)) return fail('(root)', 'an object', value);
  if (value.format !== 1) fail('format', '1', value.format);
  const str = (o: Obj, key: string, path: string): string => {
    const v = o[key];
    return typeof v === 'string' && v !== '' ? v : fail(path, 'a non-empty string', v);
  };
  const win = isObj(value.window) ? value.window : fail('window', 'an object', value.window);
  const n = value.n;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) fail('n', 'a positive integer', n);
  const epsilon = value.epsilon;
  if (typeof epsilon !== 'number' || !(epsilon > 0 && epsilon < 0.1)) fail('epsilon', 'a number in (0, 0.1)', epsilon);

  const binning = (v: unknown, path: string): Binning => {
    if (!isObj(v)) return fail(path, 'an object', v);
    const edges = v.edges;
    if (!Array.isArray(edges)) return fail(`${path}.edges`, 'an array of numbers', edges);
    edges.forEach((e: unknown, i) => {
      if (typeof e !== 'number' || !Number.isFinite(e)) fail(`${path}.edges[${i}]`, 'a finite number', e);
      if (i > 0 && !((e as number) > (edges[i - 1] as number)))
        fail(`${path}.edges[${i}]`, `greater than the edge before (${edges[i - 1]})`, e);
    });
    const expected = v.expected;
    if (!Array.isArray(expected) || expected.length !== edges.length + 1)
      return fail(
        `${path}.expected`,
        `an array of ${edges.length + 1} proportions (one more than the edges)`,
        expected,
      );
    const props = [...(expected as unknown[]), v.missing];
    props.forEach((p, i) => {
      const key = i < expected.length ? `${path}.expected[${i}]` : `${path}.missing`;
      if (typeof p !== 'number' || !(p >= 0 && p <= 1)) fail(key, 'a proportion in [0, 1]', p);
    });
    const sum = (props as number[]).reduce((a, b) => a + b, 0);
    if (Math.abs(sum - 1) > 1e-3)
      throw new DriftReferenceError(
        `${source}: the proportions of "${path}" (expected and missing) sum to ${sum}, not 1`,
      );
    return { edges: Float64Array.from(edges as number[]), expected: props as number[] };
  };

  const features = value.features;
  if (!Array.isArray(features) || features.length === 0) fail('features', 'a non-empty array', features);
  const seen = new Set<string>();
  const cols = (features as unknown[]).map((f, i) => {
    const path = `features[${i}]`;
    if (!isObj(f)) return fail(path, 'an object', f);
    const name = str(f, 'name', `${path}.name`);
    if (seen.has(name)) throw new DriftReferenceError(`${source}: "features" lists "${name}" twice`);
    seen.add(name);
    return { name, ...binning(f, path) };
  });
  return {
    modelVersion: str(value, 'model_version', 'model_version'),
    window: { from: str(win, 'from', 'window.from'), to: str(win, 'to', 'window.to') },
    n: n as number,
    epsilon: epsilon as number,
    score: binning(value.score, 'score'),
    features: cols,
  };
}

/**
 * Refuses a reference made for another model: another version, or other features (names and
 * order must be the model's input, since the monitor bins the served vector by position).
 */
export function checkReference(ref: DriftReference, model: { version: string; features: readonly string[] }): void {
  if (ref.modelVersion !== model.version)
    throw new DriftReferenceError(
      `drift reference is for model ${ref.modelVersion}, the model loaded is ${model.version}`,
    );
  const names = ref.features.map((f) => f.name);
  const at = names.findIndex((n, i) => n !== model.features[i]);
  if (names.length !== model.features.length || at >= 0)
    throw new DriftReferenceError(
      `drift reference features differ from model ${model.version}'s` +
        (at >= 0 ? ` at position ${at}: "${names[at]}" vs "${model.features[at] ?? '(end of list)'}"` : '') +
        ` (${names.length} vs ${model.features.length})`,
    );
}

/**
 * The reference beside a loaded model (MODEL.reference.json), checked against it; null when the
 * model has none. A file that is there but bad or for another model is a DriftReferenceError.
 */
export async function referenceForModel(
  modelPath: string,
  model: { version: string; features: readonly string[] },
): Promise<DriftReference | null> {
  const ref = await loadDriftReference(referencePathFor(modelPath));
  if (ref) checkReference(ref, model);
  return ref;
}
