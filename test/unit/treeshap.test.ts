/**
 * TreeSHAP against the definition: on small hand-built and random trees, the contributions
 * equal Shapley values computed by enumerating every coalition of features, with the value
 * function path-dependent TreeSHAP explains (a feature in the coalition follows the row; one
 * outside it splits the expectation by the training counts). Missing values take LightGBM's
 * default branches. Then the explainer (weights, the linear part, the top factors) and the
 * trees file's validation.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkExplainerAgainst, Explainer, loadExplainer } from '../../src/models/explain/explainer.js';
import { PathTables } from '../../src/models/explain/path-tables.js';
import { TreeShap } from '../../src/models/explain/treeshap.js';
import {
  parseTreesDocument,
  treesPathFor,
  TreesFileError,
  type MissingType,
  type TreeArrays,
  type TreesDocument,
} from '../../src/models/explain/trees-file.js';
import type { ModelMetadata } from '../../src/models/metadata.js';
import { rng } from '../helpers/train-fixture.js';

// --- the definition, written plainly -------------------------------------------------------

/** LightGBM's NumericalDecision (the reference, written independently of treeshap.ts). */
function goesLeft(t: TreeArrays, i: number, value: number): boolean {
  const m = t.missing[i]!;
  const v = Number.isNaN(value) && m !== 'nan' ? 0 : value;
  if ((m === 'zero' && Math.abs(v) <= Math.fround(1e-35)) || (m === 'nan' && Number.isNaN(v)))
    return t.default_left[i]!;
  return v <= t.threshold[i]!;
}

const countOf = (t: TreeArrays, c: number): number => (c >= 0 ? t.internal_count[c]! : t.leaf_count[~c]!);

/** v(S): the tree's expected output when the features in S are those of x. */
function coalitionValue(t: TreeArrays, x: readonly number[], inS: (f: number) => boolean, node = 0): number {
  if (t.num_leaves === 1) return t.leaf_value[0]!;
  if (node < 0) return t.leaf_value[~node]!;
  const l = t.left_child[node]!;
  const r = t.right_child[node]!;
  const f = t.split_feature[node]!;
  if (inS(f)) return coalitionValue(t, x, inS, goesLeft(t, node, x[f]!) ? l : r);
  const n = t.internal_count[node]!;
  return (countOf(t, l) / n) * coalitionValue(t, x, inS, l) + (countOf(t, r) / n) * coalitionValue(t, x, inS, r);
}

const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));

/** Shapley values of every feature by enumerating all 2^M coalitions; [phi..., v(∅)]. */
function bruteForceShapley(trees: readonly TreeArrays[], weights: readonly number[], x: readonly number[]): number[] {
  const m = x.length;
  const v = (mask: number): number =>
    trees.reduce((s, t, i) => s + weights[i]! * coalitionValue(t, x, (f) => (mask & (1 << f)) !== 0), 0);
  const phi = new Array<number>(m + 1).fill(0);
  for (let i = 0; i < m; i++) {
    for (let mask = 0; mask < 1 << m; mask++) {
      if (mask & (1 << i)) continue;
      let size = 0;
      for (let b = mask; b; b &= b - 1) size++;
      const w = (factorial(size) * factorial(m - size - 1)) / factorial(m);
      phi[i]! += w * (v(mask | (1 << i)) - v(mask));
    }
  }
  phi[m] = v(0);
  return phi;
}

/** The tree's prediction for x, read plainly. */
function predict(t: TreeArrays, x: readonly number[]): number {
  if (t.num_leaves === 1) return t.leaf_value[0]!;
  let node = 0;
  while (node >= 0) node = goesLeft(t, node, x[t.split_feature[node]!]!) ? t.left_child[node]! : t.right_child[node]!;
  return t.leaf_value[~node]!;
}

// --- trees -----------------------------------------------------------------------------------

interface Spec {
  f?: number;
  thr?: number;
  missing?: MissingType;
  defaultLeft?: boolean;
  l?: Spec;
  r?: Spec;
  value?: number;
  count: number;
}

/** Numbers a nested spec the LightGBM way (nodes and leaves in creation order, preorder). */
function build(spec: Spec): TreeArrays {
  const t: TreeArrays = {
    num_leaves: 0,
    split_feature: [],
    threshold: [],
    missing: [],
    default_left: [],
    left_child: [],
    right_child: [],
    internal_count: [],
    leaf_value: [],
    leaf_count: [],
  };
  const walk = (s: Spec): number => {
    if (s.value !== undefined) {
      t.leaf_value.push(s.value);
      t.leaf_count.push(s.count);
      return ~(t.leaf_value.length - 1);
    }
    const i = t.split_feature.length;
    t.split_feature.push(s.f!);
    t.threshold.push(s.thr!);
    t.missing.push(s.missing ?? 'none');
    t.default_left.push(s.defaultLeft ?? true);
    t.internal_count.push(s.count);
    t.left_child.push(0);
    t.right_child.push(0);
    t.left_child[i] = walk(s.l!);
    t.right_child[i] = walk(s.r!);
    return i;
  };
  walk(spec);
  t.num_leaves = t.leaf_value.length;
  return t;
}

/** A random tree on nFeatures features: repeated features on a path, all three missing types. */
function randomTree(r: () => number, nFeatures: number, maxDepth: number): TreeArrays {
  const make = (count: number, depth: number): Spec => {
    if (depth >= maxDepth || count < 2 || (depth > 0 && r() < 0.2))
      return { value: Math.round((r() * 4 - 2) * 1000) / 1000, count };
    const left = 1 + Math.floor(r() * (count - 1));
    return {
      f: Math.floor(r() * nFeatures),
      thr: [-1, 0, 0.5, 1, 2.5][Math.floor(r() * 5)]!,
      missing: (['none', 'zero', 'nan'] as const)[Math.floor(r() * 3)]!,
      defaultLeft: r() < 0.5,
      count,
      l: make(left, depth + 1),
      r: make(count - left, depth + 1),
    };
  };
  return build(make(50 + Math.floor(r() * 200), 0));
}

function randomRow(r: () => number, n: number): number[] {
  return Array.from({ length: n }, () => {
    const u = r();
    return u < 0.15 ? NaN : u < 0.3 ? 0 : [-2, -0.5, 0.25, 0.5, 0.75, 1, 1.5, 3][Math.floor(r() * 8)]!;
  });
}

/** [phi..., base] by Lundberg's recursion (treeshap.ts) or by the tables (path-tables.ts). */
function shapOf(
  trees: readonly TreeArrays[],
  weights: readonly number[],
  x: readonly number[],
  algorithm: 'recursive' | 'tables' = 'recursive',
): number[] {
  // Each tree its own group (a group = one LightGBM), so the weights are exercised per tree.
  const groups = trees.map((t, i) => ({ weight: weights[i]!, trees: [t] }));
  const ts = new TreeShap(groups, x.length);
  const phi = new Float64Array(x.length);
  (algorithm === 'tables' ? PathTables.build(groups)! : ts).explain(Float64Array.from(x), 0, phi);
  return [...phi, ts.expectedValue];
}

describe('TreeSHAP equals brute-force Shapley values', () => {
  // x0 splits twice on one path (the unwind), x1's missing goes right, x2 is never used.
  const hand = build({
    f: 0,
    thr: 0.5,
    missing: 'nan',
    defaultLeft: true,
    count: 100,
    l: {
      f: 1,
      thr: 1,
      missing: 'nan',
      defaultLeft: false,
      count: 60,
      l: { value: -1, count: 45 },
      r: { f: 0, thr: -1, count: 15, l: { value: 2, count: 5 }, r: { value: 0.5, count: 10 } },
    },
    r: { value: 3, count: 40 },
  });

  it('on a hand-built tree, for rows on every path (missing values included)', () => {
    const rows = [
      [0, 0, 0],
      [0, 2, 7],
      [-2, 2, 0],
      [1, 0, 0],
      [NaN, NaN, 0],
      [NaN, 0.5, NaN],
      [2, NaN, 1],
    ];
    for (const x of rows)
      for (const algorithm of ['recursive', 'tables'] as const) {
        const want = bruteForceShapley([hand], [1], x);
        const got = shapOf([hand], [1], x, algorithm);
        for (let j = 0; j < want.length; j++)
          expect(got[j], `${algorithm}: row ${x} feature ${j}`).toBeCloseTo(want[j]!, 12);
        // Local accuracy: base + Σ phi = the tree's output for the row; the unused feature gets 0.
        expect(got.reduce((s, v) => s + v, 0)).toBeCloseTo(predict(hand, x), 12);
        expect(got[2]).toBe(0);
      }
    // The base value is the count-weighted mean leaf: (45·−1 + 5·2 + 10·0.5 + 40·3) / 100.
    expect(shapOf([hand], [1], [0, 0, 0])[3]).toBeCloseTo(0.9, 12);
  });

  it('on random trees and weighted sums of trees, with the three missing types', () => {
    const r = rng(2026);
    for (let trial = 0; trial < 60; trial++) {
      const nf = 2 + (trial % 4);
      const trees = Array.from({ length: 1 + (trial % 3) }, () => randomTree(r, nf, 2 + (trial % 5)));
      const weights = trees.map((_, i) => (i === 0 ? 1 : Math.round(r() * 100) / 100));
      for (let k = 0; k < 5; k++) {
        const x = randomRow(r, nf);
        const want = bruteForceShapley(trees, weights, x);
        const out = trees.reduce((s, t, i) => s + weights[i]! * predict(t, x), 0);
        for (const algorithm of ['recursive', 'tables'] as const) {
          const got = shapOf(trees, weights, x, algorithm);
          for (let j = 0; j < want.length; j++) expect(Math.abs(got[j]! - want[j]!)).toBeLessThan(1e-12);
          expect(Math.abs(got.reduce((s, v) => s + v, 0) - out)).toBeLessThan(1e-12);
        }
      }
    }
  });

  it('a single-leaf tree is all base value; zero is missing under the Zero type', () => {
    const leaf = build({ value: 0.7, count: 10 });
    expect(shapOf([leaf], [2], [1, 1])).toEqual([0, 0, 1.4]);
    expect(shapOf([leaf], [2], [1, 1], 'tables')).toEqual([0, 0, 1.4]);
    const zero = build({
      f: 0,
      thr: -5,
      missing: 'zero',
      defaultLeft: true,
      count: 10,
      l: { value: 1, count: 4 },
      r: { value: -1, count: 6 },
    });
    // 0 (and NaN, read as 0) take the default left branch although 0 > -5.
    for (const algorithm of ['recursive', 'tables'] as const) {
      for (const v of [0, NaN])
        expect(shapOf([zero], [1], [v], algorithm).reduce((s, x) => s + x, 0)).toBeCloseTo(1, 12);
      expect(shapOf([zero], [1], [3], algorithm).reduce((s, x) => s + x, 0)).toBeCloseTo(-1, 12);
    }
  });

  it('the tables are not built past their size bound (the recursion is used then)', () => {
    const r = rng(5);
    const groups = [{ weight: 1, trees: [randomTree(r, 4, 5)] }];
    expect(PathTables.build(groups)).not.toBeNull();
    expect(PathTables.build(groups, 1)).toBeNull();
  });
});

// --- the explainer ---------------------------------------------------------------------------

const FEATURES = ['a', 'b', 'c', 'd'];

function blendDoc(): TreesDocument {
  const r = rng(7);
  return {
    format: 'fraud-engine-trees',
    format_version: 1,
    model_version: 'blend-test',
    features: FEATURES,
    parts: [
      { kind: 'lightgbm', weight: 0.4, sigmoid: 1, trees: [randomTree(r, 4, 4), randomTree(r, 4, 3)] },
      { kind: 'lightgbm', weight: 0.4, sigmoid: 1, trees: [randomTree(r, 4, 4)] },
      {
        kind: 'linear',
        weight: 0.2,
        transform: 'slog',
        medians: [0.5, 1, 0, 2],
        center: [0.3, 0.1, -0.2, 0.9],
        coef: [0.8, -1.5, 0.4, 0],
        intercept: -2,
      },
    ],
  };
}

describe('Explainer', () => {
  const doc = blendDoc();
  const ex = new Explainer(doc);
  const slog = (z: number): number => Math.sign(z) * Math.log1p(Math.abs(z));

  it('sums base and contributions to the raw score, with the linear part exact', () => {
    const r = rng(3);
    for (let k = 0; k < 50; k++) {
      const x = randomRow(r, 4);
      const rows = Float32Array.from(x);
      const c = ex.contributions(rows, 0);
      const sum = c.reduce((s, v) => s + v, 0);
      expect(Math.abs(sum - ex.rawScore(rows, 0))).toBeLessThan(1e-12);
      // Per part, against the definitions written out here.
      const lin = doc.parts[2] as Extract<TreesDocument['parts'][number], { kind: 'linear' }>;
      const gbms = doc.parts.slice(0, 2) as Extract<TreesDocument['parts'][number], { kind: 'lightgbm' }>[];
      const trees = gbms.flatMap((g) => g.trees);
      const weights = gbms.flatMap((g) => g.trees.map(() => g.weight));
      const treePhi = bruteForceShapley(trees, weights, [...rows]);
      for (let j = 0; j < 4; j++) {
        const z = slog(Number.isNaN(rows[j]!) ? lin.medians[j]! : rows[j]!);
        const want = treePhi[j]! + 0.2 * lin.coef[j]! * (z - lin.center[j]!);
        expect(Math.abs(c[j]! - want)).toBeLessThan(1e-12);
      }
      expect(c[4]).toBeCloseTo(treePhi[4]! + 0.2 * -2, 12);
      // The score: the weighted probabilities of the parts.
      const p =
        0.4 * (1 / (1 + Math.exp(-gbms[0]!.trees.reduce((s, t) => s + predict(t, [...rows]), 0)))) +
        0.4 * (1 / (1 + Math.exp(-predict(gbms[1]!.trees[0]!, [...rows])))) +
        0.2 *
          (1 /
            (1 +
              Math.exp(
                -(
                  -2 +
                  [0, 1, 2, 3].reduce(
                    (s, j) =>
                      s + lin.coef[j]! * (slog(Number.isNaN(rows[j]!) ? lin.medians[j]! : rows[j]!) - lin.center[j]!),
                    0,
                  )
                ),
              )));
      expect(ex.score(rows, 0)).toBeCloseTo(p, 12);
    }
  });

  it('gives the same contributions with the tables and with the recursion', () => {
    const recursive = new Explainer(doc, { algorithm: 'recursive' });
    const r = rng(4);
    for (let k = 0; k < 50; k++) {
      const rows = Float32Array.from(randomRow(r, 4));
      const a = ex.contributions(rows, 0);
      const b = recursive.contributions(rows, 0);
      for (let j = 0; j <= 4; j++) expect(Math.abs(a[j]! - b[j]!)).toBeLessThan(1e-12);
    }
  });

  it('gives the top factors by |contribution|, with the input values, missing as null, zeros left out', () => {
    const rows = Float32Array.from([0.25, NaN, 3, 1.5, 0.5, 1, -2, NaN]);
    for (const row of [0, 1]) {
      const c = ex.contributions(rows, row);
      const order = [0, 1, 2, 3].filter((j) => c[j] !== 0).sort((a, b) => Math.abs(c[b]!) - Math.abs(c[a]!) || a - b);
      const top = ex.topFactors(rows, row, 3);
      expect(top.map((f) => f.feature)).toEqual(order.slice(0, 3).map((j) => FEATURES[j]));
      for (const f of top) {
        const j = FEATURES.indexOf(f.feature);
        expect(f.contribution).toBe(c[j]);
        const v = rows[row * 4 + j]!;
        expect(f.value).toBe(Number.isNaN(v) ? null : v);
      }
    }
    // The caller's own values (full precision) are reported instead of the float32 row's.
    const top = ex.topFactors(rows, 0, 4, [0.25, null, 3, 1.5]);
    expect(top.find((f) => f.feature === 'b')?.value ?? null).toBeNull();
    // Only features that contribute: a model where nothing moves gives no factor.
    const flat = new Explainer({ ...doc, parts: [{ kind: 'lightgbm', weight: 1, sigmoid: 1, trees: [] }] });
    expect(flat.topFactors(rows, 0)).toEqual([]);
  });

  it('checks itself against the model that scores', async () => {
    const scorer = (shift: number) => ({
      version: 'blend-test',
      score: async (rows: Float32Array, n: number) =>
        Float32Array.from({ length: n }, (_, i) => ex.score(rows, i) + shift),
    });
    expect(await checkExplainerAgainst(ex, scorer(0))).toBeLessThan(1e-6);
    await expect(checkExplainerAgainst(ex, scorer(0.01))).rejects.toThrow(
      /score differently from the model by up to 1\.0/,
    );
  });
});

describe('trees file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fraud-trees-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const good = (): TreesDocument => JSON.parse(JSON.stringify(blendDoc())) as TreesDocument;

  it('accepts what the exporter writes and names the bad key otherwise', () => {
    expect(parseTreesDocument(good()).parts).toHaveLength(3);
    /** The document as loose JSON, to break one key at a time. */
    type LooseTree = Record<
      'split_feature' | 'leaf_value' | 'missing' | 'internal_count' | 'left_child' | 'right_child',
      unknown[]
    >;
    type Loose = { format: unknown; parts: { kind: unknown; coef: unknown; intercept: unknown; trees: LooseTree[] }[] };
    const t0 = (d: Loose): LooseTree => d.parts[0]!.trees[0]!;
    const bad = (edit: (d: Loose) => void, message: RegExp) => {
      const d = good() as unknown as Loose;
      edit(d);
      expect(() => parseTreesDocument(d, 'm.trees.json')).toThrow(message);
    };
    bad((d) => (d.format = 'other'), /"format" must be "fraud-engine-trees"/);
    bad(
      (d) => (t0(d).split_feature[0] = 4),
      /parts\[0\]\.trees\[0\]\.split_feature\[0\]" must be an integer in \[0, 3\]/,
    );
    bad((d) => t0(d).leaf_value.pop(), /parts\[0\]\.trees\[0\]\.leaf_value" must be an array of/);
    bad((d) => (t0(d).missing[0] = 'NaN'), /missing\[0\]" must be none, zero or nan/);
    bad((d) => (t0(d).internal_count[0] = 0), /internal_count\[0\]" must be an integer in \[1,/);
    bad((d) => (d.parts[2]!.coef = [1, 2]), /parts\[2\]\.coef" must be an array of 4/);
    bad((d) => (d.parts[2]!.intercept = null), /parts\[2\]\.intercept" must be a finite number/);
    bad((d) => (d.parts[1]!.kind = 'xgboost'), /parts\[1\]\.kind" must be "lightgbm" or "linear"/);
    // A child pointing back up (a cycle) or the same leaf twice: not a tree.
    bad((d) => (t0(d).right_child[1] = 0), /right_child\[1\]" must be a node not yet reached/);
    bad((d) => (t0(d).right_child[0] = t0(d).left_child[0]), /right_child\[0\]" must be a node not yet reached/);
  });

  it('is found beside the model, and refused for another model version or feature order', async () => {
    const model = join(dir, 'm.onnx');
    expect(treesPathFor(model)).toBe(join(dir, 'm.trees.json'));
    const meta = { model_version: 'blend-test', features: FEATURES } as unknown as ModelMetadata;
    expect(await loadExplainer(model, meta)).toBeNull(); // no file: no factors
    writeFileSync(treesPathFor(model), JSON.stringify(good()));
    expect((await loadExplainer(model, meta))?.modelVersion).toBe('blend-test');
    await expect(loadExplainer(model, { ...meta, model_version: 'other' })).rejects.toThrow(
      /trees of model blend-test, but the model is other/,
    );
    await expect(loadExplainer(model, { ...meta, features: ['b', 'a', 'c', 'd'] })).rejects.toThrow(TreesFileError);
    writeFileSync(treesPathFor(model), '{');
    await expect(loadExplainer(model, meta)).rejects.toThrow(/is not valid JSON/);
  });
});
