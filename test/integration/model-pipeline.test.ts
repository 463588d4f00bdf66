/**
 * The model's life cycle on a small simulation (300 customers, 20 days): `train` fits a model on
 * a window with the engine's own feature vectors, OnnxScorer loads it, `replay --report`
 * evaluates it on the following days (CSV with every column, the handbook's seven columns, and
 * JSONL). Parity: the features replay logs equal those of `features --store memory` and those
 * served by the Redis store, and the decisions replay writes equal those of the same
 * DecisionEngine over a RedisFeatureStore (no Kafka here: the engine class is the same).
 * Needs Redis (scripts/stack) and the trainer's venv (scripts/setup-python.sh, slow only once).
 */
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import featuresCommand from '../../src/commands/features.js';
import { featureCsvRow } from '../../src/features/csv.js';
import replayCommand from '../../src/commands/replay.js';
import trainCommand from '../../src/commands/train.js';
import type { EvaluationReport } from '../../src/evaluation/report.js';
import { readHistoryFile } from '../../src/events/history/index.js';
import { interleaveLabels } from '../../src/features/label-feed.js';
import { FEATURE_NAMES } from '../../src/features/names.js';
import { RedisFeatureStore } from '../../src/features/redis/store.js';
import { OnnxScorer } from '../../src/models/onnx-scorer.js';
import { DecisionEngine } from '../../src/pipelines/decision/engine.js';
import type { ReplayReport } from '../../src/pipelines/replay/evaluated.js';
import { replayFeed } from '../../src/pipelines/replay/replay.js';
import { StaticRulesetSource } from '../../src/rules/file-source.js';
import { simulate, writeSimulation, type Simulation } from '../../src/simulator/index.js';
import { stack, uniqueName } from '../helpers/stack.js';
import { trainerPython } from '../helpers/python.js';

const ROOT = resolve(import.meta.dirname, '../..');

let dir: string;
let csv: string;
let modelPath: string;

async function writeFile(sim: Simulation, path: string, format: 'csv' | 'jsonl'): Promise<string> {
  const out = createWriteStream(path);
  await writeSimulation(sim, out, format);
  out.end();
  await once(out, 'finish');
  return path;
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;

/** Runs a command in-process with its console output silenced; resolves to its exit code. */
async function quiet(fn: (argv: string[]) => Promise<number>, argv: string[]): Promise<number> {
  const log = console.log;
  const err = console.error;
  const captured: string[] = [];
  console.log = (...a: unknown[]) => void captured.push(a.join(' '));
  console.error = (...a: unknown[]) => void captured.push(a.join(' '));
  try {
    const code = await fn(argv);
    if (code !== 0) err(captured.join('\n'));
    return code;
  } finally {
    console.log = log;
    console.error = err;
  }
}

const EVAL = ['--eval-from', '2018-04-15', '--eval-to', '2018-04-21'];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fraud-model-pipeline-'));
  // The venv first (a no-op when it is up to date), so that `train` does not wait on it.
  await trainerPython();
  const sim = simulate({ customers: 300, terminals: 600, days: 20, seed: 11 });
  csv = await writeFile(sim, join(dir, 'history.csv'), 'csv');
  modelPath = join(dir, 'model.onnx');
  // The handbook's protocol in small: fixed hyper-parameters, one window, no inner validation.
  const code = await quiet(trainCommand, [
    '--input',
    csv,
    '--train-from',
    '2018-04-04',
    '--train-to',
    '2018-04-11',
    '--no-select',
    '--valid-days',
    '0',
    '--out',
    modelPath,
    '--version',
    'it-model-1',
  ]);
  expect(code).toBe(0);
}, 20 * 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('model pipeline: simulate → train → OnnxScorer → replay --report', () => {
  it('trains a model the engine loads, with fixed hyper-parameters and out-of-fold validation', async () => {
    const scorer = await OnnxScorer.load(modelPath, { expectedFeatures: FEATURE_NAMES });
    try {
      expect(scorer.version).toBe('it-model-1');
      expect(scorer.metadata.train_window).toEqual({ from: '2018-04-04T00:00:00Z', to: '2018-04-11T00:00:00Z' });
      const meta = readJson<{ selection: { method: string }; validation: { method: string }; used_features: string[] }>(
        join(dir, 'model.json'),
      );
      expect(meta.selection.method).toBe('fixed');
      expect(meta.validation.method).toMatch(/out-of-fold/);
      expect(meta.used_features).toEqual([...FEATURE_NAMES]);
      expect(scorer.thresholds.review).toBeLessThanOrEqual(scorer.thresholds.decline);
      const scores = await scorer.score(new Float32Array(FEATURE_NAMES.length).fill(NaN), 1);
      expect(scores[0]).toBeGreaterThanOrEqual(0);
      expect(scores[0]).toBeLessThanOrEqual(1);
    } finally {
      await scorer.close();
    }
  });

  it('replay --report evaluates the model on the following days, known compromised cards excluded', async () => {
    const report = join(dir, 'report.json');
    expect(await quiet(replayCommand, ['--input', csv, '--model', modelPath, ...EVAL, '--report', report])).toBe(0);
    const r = readJson<EvaluationReport>(report);
    expect(r.window).toEqual({ from: '2018-04-15', to: '2018-04-21' });
    expect(r.events).toBeGreaterThan(1000);
    expect(r.frauds).toBeGreaterThan(5);
    expect(r.auc_roc).toBeGreaterThan(0.5);
    expect(r.average_precision).toBeGreaterThan(r.frauds / r.events);
    expect(r.card_precision_at_100).toBeGreaterThan(0);
    expect(r.outcomes.APPROVE + r.outcomes.REVIEW + r.outcomes.DECLINE).toBe(r.events);
    for (const k of ['decline', 'review', 'review_or_decline'] as const) {
      expect(r[k].recall === null || (r[k].recall >= 0 && r[k].recall <= 1)).toBe(true);
    }
    expect(r.decline.flagged).toBe(r.outcomes.DECLINE);
    expect(r.review.flagged).toBe(r.outcomes.REVIEW);
    expect(r.review_or_decline.flagged).toBe(r.outcomes.REVIEW + r.outcomes.DECLINE);
    // The outcomes a merchant feels: every evaluated payment is legitimate or a fraud; the declined legitimate ones are DECLINEs.
    expect(r.merchant.legitimate + r.merchant.frauds).toBe(r.events);
    expect(r.merchant.frauds).toBe(r.frauds);
    expect(r.merchant.false_declines).toBeLessThanOrEqual(r.outcomes.DECLINE);
    expect(r.merchant.false_decline_rate).toBeCloseTo(r.merchant.false_declines / r.merchant.legitimate, 6);
    expect(r.merchant.review_rate).toBeCloseTo(r.outcomes.REVIEW / r.events, 6);
    // Default with --eval-from: the handbook's exclusion, counted in the report.
    const x = r.excluded_known_compromised!;
    expect(x.since).toBe('2018-04-01T00:00:00.000Z'); // eval-from − 7 d delay − 7 d
    expect(x.label_delay_days).toBe(7);
    expect(x.cards).toBeGreaterThan(0);
    expect(x.transactions).toBeGreaterThanOrEqual(x.cards);
    expect(readFileSync(join(dir, 'report-pr.svg'), 'utf8')).toMatch(/^<svg/);
    expect(readFileSync(join(dir, 'report-scores.svg'), 'utf8')).toMatch(/^<svg/);

    // Without the exclusion the same window has exactly the removed transactions more.
    const all = join(dir, 'report-all.json');
    expect(
      await quiet(replayCommand, [
        '--input',
        csv,
        '--model',
        modelPath,
        ...EVAL,
        '--no-exclude-known-compromised',
        '--report',
        all,
      ]),
    ).toBe(0);
    const ra = readJson<EvaluationReport>(all);
    expect(ra.excluded_known_compromised).toBeNull();
    expect(ra.events).toBe(r.events + x.transactions);
    expect(ra.frauds).toBe(r.frauds + x.frauds);
  });

  it('replay --report gives the PSIs against the reference the trainer wrote: none on the training window itself', async () => {
    // The later window's report (previous test) carries its drift.
    const later = readJson<ReplayReport>(join(dir, 'report.json')).drift!;
    expect(later.model_version).toBe('it-model-1');
    expect(later.reference_window).toEqual({ from: '2018-04-04T00:00:00Z', to: '2018-04-11T00:00:00Z' });
    expect(later.samples).toBeGreaterThan(1000);
    expect(Object.keys(later.feature_psi)).toEqual([...FEATURE_NAMES]);
    expect(later.score_psi).toBeGreaterThan(0);
    // Customer histories fill over the 30-day windows: a week later, the 30-day counts have moved.
    expect(later.feature_psi.customer_nb_tx_30d).toBeGreaterThan(0.1);

    // The training window replayed: the same vectors and scores the trainer binned, so no drift.
    const same = join(dir, 'report-train-window.json');
    const args = ['--input', csv, '--model', modelPath, '--eval-from', '2018-04-04', '--eval-to', '2018-04-11'];
    expect(await quiet(replayCommand, [...args, '--no-exclude-known-compromised', '--report', same])).toBe(0);
    const d = readJson<ReplayReport>(same).drift!;
    const ref = readJson<{ n: number }>(join(dir, 'model.reference.json'));
    expect(d.samples).toBe(ref.n);
    expect(d.score_psi).toBeLessThan(1e-6);
    for (const [feature, v] of Object.entries(d.feature_psi)) expect(v, feature).toBeLessThan(1e-6);
  });

  it("the handbook's seven columns and JSONL input work end to end", async () => {
    const sim = simulate({ customers: 300, terminals: 600, days: 20, seed: 11, enrich: false });
    const seven = await writeFile(sim, join(dir, 'seven.csv'), 'csv');
    expect(readFileSync(seven, 'utf8').split('\n', 1)[0]).toBe(
      'transaction_id,tx_datetime,customer_id,terminal_id,tx_amount,tx_fraud,tx_fraud_scenario',
    );
    const r7 = join(dir, 'report-seven.json');
    expect(await quiet(replayCommand, ['--input', seven, '--model', modelPath, ...EVAL, '--report', r7])).toBe(0);
    const rep7 = readJson<EvaluationReport>(r7);
    expect(rep7.events).toBeGreaterThan(1000);
    expect(rep7.auc_roc).toBeGreaterThan(0.5);
    // card_token = customer_id: the excluded cards are customers.
    expect(rep7.excluded_known_compromised!.cards).toBeGreaterThan(0);

    // JSONL of the same (enriched) simulation: the same events, so the same report.
    const jsonl = await writeFile(
      simulate({ customers: 300, terminals: 600, days: 20, seed: 11 }),
      join(dir, 'history.jsonl'),
      'jsonl',
    );
    const rj = join(dir, 'report-jsonl.json');
    expect(await quiet(replayCommand, ['--input', jsonl, '--model', modelPath, ...EVAL, '--report', rj])).toBe(0);
    expect(readJson<EvaluationReport>(rj)).toEqual(readJson<EvaluationReport>(join(dir, 'report.json')));
  });
});

describe('parity: replay vs features --store memory vs the Redis store', () => {
  let redis: Redis;
  let store: RedisFeatureStore;

  beforeAll(async () => {
    redis = new Redis(stack.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
    await redis.connect();
    store = new RedisFeatureStore(redis, { prefix: uniqueName('fe-model-pipeline') });
  });

  afterAll(async () => {
    await store?.deleteAll();
    await redis?.quit();
  });

  it('the same feature vectors and the same decisions', async () => {
    const replayFeatures = join(dir, 'replay-features.csv');
    const decisions = join(dir, 'decisions.jsonl');
    expect(
      await quiet(replayCommand, [
        '--input',
        csv,
        '--model',
        modelPath,
        '--features-out',
        replayFeatures,
        '--output',
        decisions,
      ]),
    ).toBe(0);
    const memoryFeatures = join(dir, 'memory-features.csv');
    expect(await quiet(featuresCommand, ['--input', csv, '--out', memoryFeatures, '--store', 'memory'])).toBe(0);
    const replayed = readFileSync(replayFeatures, 'utf8');
    const lines = replayed.split('\n');
    expect(lines[0]).toBe(['auth_id', ...FEATURE_NAMES].join(','));
    expect(lines.filter((l) => l === '').length).toBe(1); // only after the last row
    expect(replayed).toBe(readFileSync(memoryFeatures, 'utf8'));

    // The same engine class over Redis, in other batch sizes, with replay's clock.
    const records = await readHistoryFile(csv);
    const scorer = await OnnxScorer.load(modelPath, { expectedFeatures: FEATURE_NAMES });
    try {
      const engine = new DecisionEngine({
        store,
        scorer,
        rules: StaticRulesetSource.fromFiles(join(ROOT, 'config/rules')),
        clock: (ev) => ev.event_time,
      });
      let features = `${['auth_id', ...FEATURE_NAMES].join(',')}\n`;
      const viaRedis: string[] = [];
      for await (const r of replayFeed(engine, store, interleaveLabels(records, 7), 97)) {
        features += featureCsvRow(r.decision.auth_id, r.vector);
        viaRedis.push(JSON.stringify({ ...r.decision, engine_latency_ms: undefined }));
      }
      expect(features).toBe(replayed);
      const fromReplay = readFileSync(decisions, 'utf8').trimEnd().split('\n');
      expect(viaRedis.length).toBe(records.length);
      expect(viaRedis).toEqual(fromReplay);
      // The decisions are not all alike: the comparison covers every outcome.
      const outcomes = new Set(fromReplay.map((l) => (JSON.parse(l) as { outcome: string }).outcome));
      expect(outcomes.has('APPROVE')).toBe(true);
      expect(outcomes.size).toBeGreaterThan(1);
      // replay --output prints the model's top factors of every REVIEW and DECLINE, none for APPROVE.
      for (const d of fromReplay.map((l) => JSON.parse(l) as { outcome: string; factors: unknown[] | null })) {
        if (d.outcome === 'APPROVE') expect(d.factors).toBeNull();
        else expect(d.factors!.length).toBeGreaterThan(0);
      }
    } finally {
      await scorer.close();
    }
  });
});
