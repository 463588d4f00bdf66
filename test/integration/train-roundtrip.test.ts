/**
 * The trainer end to end: scripts/setup-python.sh builds training/.venv (slow the first time),
 * training/train.py fits a model on a small synthetic set and exports ONNX + metadata, and the
 * engine's OnnxScorer loads it, checks its features and scores a batch.
 * Needs no Kafka/Redis/PostgreSQL, only python3 and the package registry on first run.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FEATURE_NAMES } from '../../src/features/names.js';
import { FeatureMismatchError, parseModelMetadata } from '../../src/models/metadata.js';
import { OnnxScorer } from '../../src/models/onnx-scorer.js';
import { toFloat32Rows } from '../../src/models/scorer.js';
import { syntheticRows, writeTrainFixture, type TrainFixture } from '../helpers/train-fixture.js';
import { trainerPython } from '../helpers/python.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');

/** Sets up the trainer's venv, writes the fixture into `dir`, trains `name`.onnx with `options`, loads it. */
async function trainFixtureModel(dir: string, name: string, options: string[]) {
  const python = await trainerPython();
  const fixture = writeTrainFixture(dir);
  const modelPath = join(dir, `${name}.onnx`);
  const args = [
    join(ROOT, 'training/train.py'),
    '--features',
    fixture.featuresCsv,
    '--labels',
    fixture.labelsCsv,
    '--train-from',
    fixture.trainFrom,
    '--train-to',
    fixture.trainTo,
    ...options,
    '--out',
    modelPath,
  ];
  const trained = await run(python, args, { cwd: ROOT, timeout: 10 * 60_000, maxBuffer: 16 << 20 });
  const scorer = await OnnxScorer.load(modelPath, { expectedFeatures: FEATURE_NAMES });
  return { fixture, modelPath, trainOut: trained.stdout, scorer };
}

describe('trainer round trip: CSV → LightGBM → ONNX → OnnxScorer', () => {
  let dir: string;
  let fixture: TrainFixture;
  let modelPath: string;
  let trainOut: string;
  let scorer: OnnxScorer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fraud-train-'));
    ({ fixture, modelPath, trainOut, scorer } = await trainFixtureModel(dir, 'model', [
      '--delay-days',
      '7',
      '--valid-days',
      '7',
      '--version',
      'fixture-1',
    ]));
  }, 25 * 60_000);

  afterAll(async () => {
    await scorer?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('writes a small model and valid metadata naming the engine features', () => {
    expect(trainOut).toContain('model fixture-1');
    expect(statSync(modelPath).size).toBeLessThan(2 * 1024 * 1024);
    const meta = parseModelMetadata(JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')));
    expect(meta.model_version).toBe('fixture-1');
    expect(meta.features).toEqual([...FEATURE_NAMES]);
    expect(meta.input_name).toBe('features');
    expect(meta.output_name).toBe('probabilities');
    expect(meta.output_column).toBe(1);
    expect(meta.delay_days).toBe(7);
    expect(meta.train_window.from).toBe(`${fixture.trainFrom}T00:00:00Z`);
    expect(meta.validation.n).toBeGreaterThan(0);
    expect(meta.validation.frauds).toBeGreaterThan(0);
    expect(meta.validation.auc_roc).toBeGreaterThan(0.8);
    expect(meta.thresholds.review).toBeLessThanOrEqual(meta.thresholds.decline);
    for (const k of ['num_leaves', 'learning_rate', 'n_estimators', 'min_child_samples']) {
      expect(meta.hyperparameters[k], k).toBeTypeOf('number');
    }
  });

  it('scores a batch: one probability per row, in [0, 1], frauds above legit', async () => {
    expect(scorer.version).toBe('fixture-1');
    expect(scorer.nFeatures).toBe(FEATURE_NAMES.length);
    const n = 200;
    const fraud = syntheticRows('fraud', n, 11);
    const legit = syntheticRows('legit', n, 12);
    const rows = toFloat32Rows([...fraud, ...legit], FEATURE_NAMES.length);
    const scores = await scorer.score(rows, 2 * n);
    expect(scores).toBeInstanceOf(Float32Array);
    expect(scores.length).toBe(2 * n);
    for (const s of scores) {
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThanOrEqual(1);
    }
    const mean = (a: Float32Array): number => a.reduce((x, y) => x + y, 0) / a.length;
    const fraudMean = mean(scores.subarray(0, n));
    const legitMean = mean(scores.subarray(n));
    expect(fraudMean).toBeGreaterThan(legitMean + 0.3);
  });

  it('treats null as missing, scores each row independently, and handles empty batches', async () => {
    const allMissing = toFloat32Rows([FEATURE_NAMES.map(() => null)], FEATURE_NAMES.length);
    expect(Number.isNaN(allMissing[0])).toBe(true);
    const [s] = await scorer.score(allMissing, 1);
    expect(s).toBeGreaterThanOrEqual(0);
    expect(s).toBeLessThanOrEqual(1);

    const rows = syntheticRows('fraud', 5, 3);
    const batch = await scorer.score(toFloat32Rows(rows, FEATURE_NAMES.length), 5);
    const single = await scorer.score(toFloat32Rows([rows[2]!], FEATURE_NAMES.length), 1);
    expect(single[0]).toBeCloseTo(batch[2]!, 6);
    // A view into a larger buffer (as a batcher might pass) scores the same rows.
    const big = toFloat32Rows([rows[0]!, ...rows], FEATURE_NAMES.length);
    const view = big.subarray(FEATURE_NAMES.length);
    expect(Array.from(await scorer.score(view, 5))).toEqual(Array.from(batch));

    expect((await scorer.score(new Float32Array(0), 0)).length).toBe(0);
    await expect(scorer.score(new Float32Array(3), 1)).rejects.toThrow(
      `expected 1 rows × ${FEATURE_NAMES.length} features`,
    );
  });

  it('refuses to load the model against a different feature list', async () => {
    const reordered = [...FEATURE_NAMES];
    [reordered[3], reordered[4]] = [reordered[4]!, reordered[3]!];
    await expect(OnnxScorer.load(modelPath, { expectedFeatures: reordered })).rejects.toThrow(FeatureMismatchError);
    await expect(OnnxScorer.load(modelPath, { expectedFeatures: reordered })).rejects.toThrow(
      /different order.*position 3: engine "customer_avg_amount_1d", model "customer_nb_tx_1d"/,
    );
    await expect(OnnxScorer.load(modelPath, { expectedFeatures: [...FEATURE_NAMES, 'new_feature'] })).rejects.toThrow(
      /missing from the model: new_feature/,
    );
  });

  it('refuses metadata whose input name is not in the model', async () => {
    const meta = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as Record<string, unknown>;
    const badMeta = join(dir, 'bad.json');
    writeFileSync(badMeta, JSON.stringify({ ...meta, input_name: 'x' }));
    await expect(
      OnnxScorer.load(modelPath, { expectedFeatures: FEATURE_NAMES, metadataPath: badMeta }),
    ).rejects.toThrow(/no input "x"; the model has features/);
  });
});

describe('trainer round trip, --params blend: seed-bagged LightGBMs + logistic regression as one ONNX graph', () => {
  let dir: string;
  let trainOut: string;
  let scorer: OnnxScorer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fraud-train-blend-'));
    ({ trainOut, scorer } = await trainFixtureModel(dir, 'blend', [
      '--valid-days',
      '0',
      '--params',
      '{"preset":"blend","seeds":2,"n_estimators":30}',
      '--n-jobs',
      '1',
      '--version',
      'blend-1',
    ]));
  }, 25 * 60_000);

  afterAll(async () => {
    await scorer?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the serving contract and matches the Python ensemble', async () => {
    expect(trainOut).toContain('model blend-1');
    const meta = parseModelMetadata(JSON.parse(readFileSync(join(dir, 'blend.json'), 'utf8')));
    expect(meta.output_name).toBe('probabilities');
    expect(meta.output_column).toBe(1);
    expect(meta.hyperparameters).toMatchObject({ seeds: 2, lr_weight: 0.2, lr_transform: 'slog', n_estimators: 30 });
    expect(meta.framework).toMatch(/^ensemble: 2 x lightgbm/);
    expect(meta.onnx_vs_lightgbm_max_abs_diff as number).toBeLessThan(1e-5);

    const n = 100;
    const rows = toFloat32Rows(
      [...syntheticRows('fraud', n, 21), ...syntheticRows('legit', n, 22), FEATURE_NAMES.map(() => null)],
      FEATURE_NAMES.length,
    );
    const scores = await scorer.score(rows, 2 * n + 1);
    for (const s of scores) {
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThanOrEqual(1);
    }
    const mean = (a: Float32Array): number => a.reduce((x, y) => x + y, 0) / a.length;
    expect(mean(scores.subarray(0, n))).toBeGreaterThan(mean(scores.subarray(n, 2 * n)) + 0.3);
  });
});
