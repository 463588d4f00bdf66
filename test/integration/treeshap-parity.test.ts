/**
 * The engine's contributions are LightGBM's: a model is fitted in Python on the synthetic
 * training set (as train.py fits it), its trees file written by the trainer's exporter, and
 * LightGBM's pred_contrib computed for a few thousand rows (test/helpers/treeshap_reference.py);
 * the TypeScript explainer, reading only the trees file, must give the same contributions and
 * base value (max |diff| <= 1e-6), summing to LightGBM's raw score. One LightGBM and the blend
 * (five LightGBMs and the logistic regression). Then the shipped model: its trees file describes
 * the shipped ONNX graph. Needs python (the trainer's venv), no services.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FEATURE_NAMES } from '../../src/features/names.js';
import { checkExplainerAgainst, Explainer, loadExplainer } from '../../src/models/explain/explainer.js';
import { loadTreesFile } from '../../src/models/explain/trees-file.js';
import { OnnxScorer } from '../../src/models/onnx-scorer.js';
import { toFloat32Rows } from '../../src/models/scorer.js';
import { syntheticRows, writeTrainFixture } from '../helpers/train-fixture.js';
import { trainerPython } from '../helpers/python.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const TOL = 1e-6;

interface Reference {
  features: string[];
  rows: (number | null)[][];
  contrib: number[][];
  base: number[];
  raw: number[];
  proba: number[];
  raw_parts: number[][];
}

describe('TreeSHAP parity with LightGBM pred_contrib', () => {
  let dir: string;
  const refs = new Map<string, { ref: Reference; explainer: Explainer; recursive: Explainer }>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fraud-treeshap-'));
    const py = await trainerPython();
    const fixture = writeTrainFixture(dir); // 4,500 rows over 30 days, 4% fraud
    for (const params of ['default', 'blend']) {
      const out = join(dir, params);
      mkdirSync(out);
      await run(
        py,
        [
          join(ROOT, 'test/helpers/treeshap_reference.py'),
          '--features',
          fixture.featuresCsv,
          '--labels',
          fixture.labelsCsv,
          '--params',
          params,
          '--version',
          `parity-${params}`,
          '--out-dir',
          out,
          '--rows',
          '4000',
        ],
        { cwd: ROOT, timeout: 10 * 60_000, maxBuffer: 16 << 20 },
      );
      const ref = JSON.parse(readFileSync(join(out, 'reference.json'), 'utf8')) as Reference;
      const doc = await loadTreesFile(join(out, 'model.trees.json'));
      refs.set(params, {
        ref,
        explainer: new Explainer(doc),
        recursive: new Explainer(doc, { algorithm: 'recursive' }),
      });
    }
  }, 20 * 60_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // The engine's tables (path-tables.ts) on every row; Lundberg's recursion (treeshap.ts) on one
  // row in four (it is ~20 times slower).
  for (const [params, algorithm] of [
    ['default', 'tables'],
    ['blend', 'tables'],
    ['default', 'recursive'],
    ['blend', 'recursive'],
  ] as const) {
    it(`${params === 'default' ? 'one LightGBM' : 'the blend'} (${algorithm}): contributions within 1e-6 of pred_contrib, summing to the raw score`, () => {
      const { ref, explainer: tables, recursive } = refs.get(params)!;
      const explainer = algorithm === 'tables' ? tables : recursive;
      const step = algorithm === 'tables' ? 1 : 4;
      const nf = ref.features.length;
      expect(ref.features).toEqual([...FEATURE_NAMES]);
      expect(ref.rows.length).toBeGreaterThanOrEqual(4000);
      const rows = toFloat32Rows(ref.rows, nf);
      const out = new Float64Array(nf + 1);
      let worstContrib = 0;
      let worstBase = 0;
      let worstSum = 0;
      let worstRaw = 0;
      let worstProba = 0;
      let moved = 0;
      for (let i = 0; i < ref.rows.length; i += step) {
        explainer.contributions(rows, i, out);
        let sum = out[nf]!;
        for (let j = 0; j < nf; j++) {
          worstContrib = Math.max(worstContrib, Math.abs(out[j]! - ref.contrib[i]![j]!));
          sum += out[j]!;
          if (Math.abs(out[j]!) > 0.01) moved++;
        }
        worstBase = Math.max(worstBase, Math.abs(out[nf]! - ref.base[i]!));
        // base + Σ contributions = the raw score, LightGBM's (and the regression's) own.
        worstSum = Math.max(worstSum, Math.abs(sum - ref.raw[i]!));
        worstRaw = Math.max(worstRaw, Math.abs(explainer.rawScore(rows, i) - ref.raw[i]!));
        worstProba = Math.max(worstProba, Math.abs(explainer.score(rows, i) - ref.proba[i]!));
      }
      console.log(
        `${params} (${algorithm}), ${Math.ceil(ref.rows.length / step)} rows: worst |diff| contribution ${worstContrib.toExponential(2)}, ` +
          `base ${worstBase.toExponential(2)}, base + Σ vs raw ${worstSum.toExponential(2)}, probability ${worstProba.toExponential(2)}`,
      );
      expect(worstContrib).toBeLessThanOrEqual(TOL);
      expect(worstBase).toBeLessThanOrEqual(TOL);
      expect(worstSum).toBeLessThanOrEqual(TOL);
      expect(worstRaw).toBeLessThanOrEqual(TOL);
      expect(worstProba).toBeLessThanOrEqual(TOL);
      // Not a comparison between zeros: many features move many rows.
      expect(moved).toBeGreaterThan((ref.rows.length / step) * 3);
      const parts = params === 'default' ? 1 : 6;
      expect(ref.raw_parts).toHaveLength(parts);
    });
  }

  it('the top factors are the largest |pred_contrib|, with the row values', () => {
    const { ref, explainer } = refs.get('default')!;
    const rows = toFloat32Rows(ref.rows, ref.features.length);
    for (const i of [0, 1, 2, 100, ref.rows.length - 1]) {
      const want = ref.contrib[i]!.map((c, j) => ({ j, c }))
        .filter((x) => x.c !== 0)
        .sort((a, b) => Math.abs(b.c) - Math.abs(a.c))
        .slice(0, 5);
      const got = explainer.topFactors(rows, i, 5, ref.rows[i]);
      expect(got.map((f) => f.feature)).toEqual(want.map((x) => ref.features[x.j]));
      for (const [k, f] of got.entries()) {
        expect(Math.abs(f.contribution - want[k]!.c)).toBeLessThanOrEqual(TOL);
        expect(f.value).toBe(ref.rows[i]![want[k]!.j]);
      }
    }
  });
});

describe('the shipped model and its trees', () => {
  it('models/model.trees.json describes models/model.onnx: the same scores, contributions summing to the logit', async () => {
    const modelPath = join(ROOT, 'models/model.onnx');
    const scorer = await OnnxScorer.load(modelPath, { expectedFeatures: FEATURE_NAMES });
    try {
      const explainer = await loadExplainer(modelPath, scorer.metadata);
      expect(explainer).not.toBeNull();
      const vectors = [...syntheticRows('fraud', 500, 21), ...syntheticRows('legit', 500, 22)];
      const rows = toFloat32Rows(vectors, FEATURE_NAMES.length);
      // The ONNX graph's float32 scores against the trees' (the trainer's bound: 1e-5).
      expect(
        await checkExplainerAgainst(
          explainer!,
          scorer,
          vectors.map((v) => v.map((x) => x ?? NaN)),
        ),
      ).toBeLessThan(1e-5);
      const out = new Float64Array(FEATURE_NAMES.length + 1);
      for (let i = 0; i < vectors.length; i++) {
        const sum = explainer!.contributions(rows, i, out).reduce((s, v) => s + v, 0);
        const raw = explainer!.rawScore(rows, i);
        expect(Math.abs(sum - raw)).toBeLessThan(1e-9);
        // One LightGBM: the score is sigmoid(raw score).
        expect(Math.abs(1 / (1 + Math.exp(-raw)) - explainer!.score(rows, i))).toBeLessThan(1e-12);
      }
    } finally {
      await scorer.close();
    }
  });
});
