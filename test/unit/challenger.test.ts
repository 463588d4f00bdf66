/**
 * The challenger: scored on the same batch after the champion, carried on each decision and
 * compared in metrics, never changing an outcome; a challenger that cannot be loaded stops the
 * start, one that fails or stalls at run time leaves null scores and counts an error.
 */
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthorizationEvent, Decision } from '../../src/events/types.js';
import { MemoryFeatureStore } from '../../src/features/memory-store.js';
import { loadEngineScorer, type OnnxScorer } from '../../src/models/onnx-scorer.js';
import { ModelSource } from '../../src/models/registry/model-source.js';
import pino from 'pino';
import type { Scorer } from '../../src/models/scorer.js';
import { createChallengerMetrics, createMetrics, type ChallengerMetrics } from '../../src/observability/metrics.js';
import type { Challenger } from '../../src/pipelines/decision/challenger.js';
import { DecisionEngine } from '../../src/pipelines/decision/engine.js';
import { compileRuleset } from '../../src/rules/compile.js';
import { StaticRulesetSource } from '../../src/rules/file-source.js';
import { loadRulesetFiles } from '../../src/rules/load.js';

const MODEL = 'models/model.onnx';
// The shipped rules with a score threshold that declines (0.05 / 0.2) instead of the shipped
// policy's DECLINE rules on the score: the would-be outcome re-applies the thresholds to the
// challenger's score with the champion's rule hits, so it only sees declines made by thresholds.
const shipped = loadRulesetFiles('config/rules');
const rules = new StaticRulesetSource(
  compileRuleset({
    ...shipped,
    thresholds: { review: 0.05, decline: 0.2 },
    rules: shipped.rules.filter((r) => !r.id.startsWith('model_decline_')),
  }),
);

// Thirty events on a few cards and terminals, amounts from small to large: a spread of scores.
const events: AuthorizationEvent[] = Array.from({ length: 30 }, (_, i) => ({
  auth_id: `ch-${i}`,
  event_time: Date.UTC(2026, 11, 1, 12) + i * 60_000,
  card_token: `tok_ch${i % 4}`,
  customer_id: `c-ch${i % 4}`,
  terminal_id: `t-ch${i % 3}`,
  merchant_id: null,
  mcc: null,
  amount_minor: 500 + i * i * 2_000,
  currency: 'EUR',
  channel: 'POS',
  device_id: null,
  ip: null,
  email_hash: null,
  country: null,
  description: null,
}));

let champion: OnnxScorer;
let twin: OnnxScorer;
beforeAll(async () => {
  champion = await loadEngineScorer(MODEL);
  twin = await loadEngineScorer(MODEL);
});
afterAll(async () => {
  await champion?.close();
  await twin?.close();
});

async function decide(challenger?: Challenger, modelTimeoutMs = 0): Promise<Decision[]> {
  // A fresh store each run: the same events give the same features.
  const engine = new DecisionEngine({
    store: new MemoryFeatureStore(),
    scorer: champion,
    rules,
    modelTimeoutMs,
    ...(challenger && { challenger }),
  });
  return (await engine.decideBatch(events)).decisions;
}

const withoutChallenger = (d: Decision) => {
  const { challenger_score: _s, challenger_version: _v, engine_latency_ms: _l, decided_time: _t, ...rest } = d;
  return rest;
};

async function counts(m: ChallengerMetrics) {
  const agreement = (await m.agreement.get()).values.map((v): [string, number] => [String(v.labels.agree), v.value]);
  const changes = (await m.outcomeChanges.get()).values.map((v): [string, number] => [
    `${v.labels.from}->${v.labels.to}`,
    v.value,
  ]);
  const errors = (await m.errors.get()).values[0]?.value ?? 0;
  const scored = (await m.score.get()).values.find((v) => v.metricName === 'fraud_challenger_score_count')?.value ?? 0;
  return { agreement: Object.fromEntries(agreement), changes: Object.fromEntries(changes), errors, scored };
}

const metricsOf = () => createChallengerMetrics(createMetrics({ defaultMetrics: false }).registry);

describe('challenger', () => {
  it('the same model as challenger: its score equals the champion, outcomes unchanged, all agree', async () => {
    const base = await decide();
    expect(base.every((d) => d.challenger_score === null && d.challenger_version === null)).toBe(true);
    // The events do not all land in one band, or agreement would prove little.
    expect(new Set(base.map((d) => d.outcome)).size).toBeGreaterThan(1);

    const metrics = metricsOf();
    const got = await decide({ scorer: twin, metrics });
    expect(got.map(withoutChallenger)).toEqual(base.map(withoutChallenger));
    for (const d of got) {
      expect(d.score).not.toBeNull();
      expect(d.challenger_score).toBe(d.score);
      expect(d.challenger_version).toBe(champion.version);
    }
    expect(await counts(metrics)).toEqual({ agreement: { true: 30 }, changes: {}, errors: 0, scored: 30 });
  });

  it('a challenger scoring everything high: outcomes stay the champion’s, the would-be changes are counted', async () => {
    const base = await decide();
    const high: Scorer = { version: 'always-high', score: async (_rows, n) => new Float32Array(n).fill(0.99) };
    const metrics = metricsOf();
    const got = await decide({ scorer: high, metrics });
    expect(got.map((d) => d.outcome)).toEqual(base.map((d) => d.outcome));
    expect(got.every((d) => d.challenger_score === 0.99 && d.challenger_version === 'always-high')).toBe(true);
    const declined = base.filter((d) => d.outcome === 'DECLINE').length;
    const c = await counts(metrics);
    expect(c.agreement).toEqual({ true: declined, false: 30 - declined });
    // Every event not declined would have been (no allowlist rule hits these events).
    const wouldChange = 30 - declined;
    expect(Object.values(c.changes).reduce((a, b) => a + b, 0)).toBe(wouldChange);
    expect(Object.keys(c.changes).every((k) => k.endsWith('->DECLINE'))).toBe(true);
    expect(c.errors).toBe(0);
  });

  it('a challenger that fails or never answers: null scores, one error each, decisions as without it', async () => {
    const base = (await decide()).map(withoutChallenger);
    const broken: Scorer = {
      version: 'broken',
      score: async () => {
        throw new Error('onnx blew up');
      },
    };
    const stalled: Scorer = { version: 'stalled', score: () => new Promise<Float32Array>(() => undefined) };
    for (const [scorer, timeout] of [
      [broken, 0],
      [stalled, 50],
    ] as const) {
      const metrics = metricsOf();
      const got = await decide({ scorer, metrics }, timeout);
      expect(got.map(withoutChallenger)).toEqual(base);
      expect(got.every((d) => d.challenger_score === null && d.challenger_version === scorer.version)).toBe(true);
      expect(got.every((d) => d.degraded.length === 0)).toBe(true);
      expect(await counts(metrics)).toEqual({ agreement: {}, changes: {}, errors: 1, scored: 0 });
    }
    // Nor does it stop the warm-up before the engine joins its group (three batch sizes, three errors).
    const metrics = metricsOf();
    const engine = new DecisionEngine({
      store: new MemoryFeatureStore(),
      scorer: champion,
      rules,
      challenger: { scorer: broken, metrics },
    });
    await expect(engine.warmUp(8)).resolves.toBeUndefined();
    expect((await counts(metrics)).errors).toBe(3);
  });

  describe('loading (model.challenger_path)', () => {
    /** What the engine starts with for `path` (no PostgreSQL: the configuration's files decide). */
    const challengerOf = async (path: string, metrics: ReturnType<typeof createMetrics>) => {
      const src = await ModelSource.start({
        postgres: { url: '', ssl: false, ssl_ca_file: '', ssl_cert_file: '', ssl_key_file: '' },
        config: { champion: MODEL, challenger: path },
        pollIntervalMs: 0,
        log: pino({ level: 'silent' }),
        metrics,
        build: async (m) => m,
      });
      const ch = src.current().challenger;
      await src.stop();
      return ch;
    };
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'challenger-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('empty: no challenger and no challenger metrics', async () => {
      const m = createMetrics({ defaultMetrics: false });
      expect(await challengerOf('', m)).toBeNull();
      expect(await m.registry.metrics()).not.toMatch(/fraud_challenger_/);
    });

    it('a model that loads: its version, its metrics registered', async () => {
      const m = createMetrics({ defaultMetrics: false });
      const ch = await challengerOf(MODEL, m);
      expect(ch?.scorer.version).toBe(champion.version);
      expect(await m.registry.metrics()).toMatch(/^# TYPE fraud_challenger_errors_total counter$/m);
      await (ch?.scorer as OnnxScorer).close();
    });

    it('a missing file or a model on other features: refused, naming the setting', async () => {
      const m = createMetrics({ defaultMetrics: false });
      await expect(challengerOf(join(dir, 'nope.onnx'), m)).rejects.toThrow(
        /^model\.challenger_path: cannot load the challenger model .*nope\.onnx: cannot read model metadata/,
      );
      // The shipped model with its features listed in another order.
      await copyFile(MODEL, join(dir, 'swapped.onnx'));
      const meta = JSON.parse(await readFile('models/model.json', 'utf8')) as { features: string[] };
      [meta.features[0], meta.features[1]] = [meta.features[1]!, meta.features[0]!];
      await writeFile(join(dir, 'swapped.json'), JSON.stringify(meta));
      await expect(challengerOf(join(dir, 'swapped.onnx'), m)).rejects.toThrow(
        /^model\.challenger_path: cannot load the challenger model .*swapped\.onnx: model .* does not match the engine's features .*same names in a different order/,
      );
    });
  });
});
