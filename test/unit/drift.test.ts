/**
 * Drift (src/models/drift/): the PSI by its definition, the bins as the trainer cut them, the
 * reference file's validation, the monitor's sampling and its per-minute timer, and the replay
 * report's text.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  binOf,
  checkReference,
  DriftCounts,
  DriftMonitor,
  DriftReferenceError,
  driftText,
  loadDriftReference,
  parseDriftReference,
  psi,
  psiOfCounts,
  referenceForModel,
  referencePathFor,
} from '../../src/models/drift/index.js';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { driftMonitorOf } from '../../src/app/engine.js';
import { createDriftMetrics, createMetrics } from '../../src/observability/metrics.js';

const EPS = 1e-4;

/** A reference of two features: `amount` (edges 10, 20, 30; no missing), `device_seen` (edge 1; 20% missing). */
function referenceJson(over: Record<string, unknown> = {}) {
  return {
    format: 1,
    model_version: 'm1',
    created_at: '2026-12-01T00:00:00Z',
    window: { from: '2018-06-01T00:00:00Z', to: '2018-07-01T00:00:00Z' },
    n: 1000,
    bins: 10,
    epsilon: EPS,
    score: { edges: [0.1, 0.5], expected: [0.5, 0.3, 0.2], missing: 0 },
    features: [
      { name: 'amount', edges: [10, 20, 30], expected: [0.25, 0.25, 0.25, 0.25], missing: 0 },
      { name: 'device_seen', edges: [1], expected: [0.4, 0.4], missing: 0.2 },
    ],
    ...over,
  };
}
const reference = () => parseDriftReference(referenceJson());

describe('PSI', () => {
  it('is 0 for identical distributions', () => {
    expect(psi([0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4], EPS)).toBe(0);
    expect(psiOfCounts([0.25, 0.25, 0.5], [10, 10, 20], EPS)).toBe(0);
  });

  it('of a known shift equals Σ (a − e) ln(a / e) worked out by hand', () => {
    const e = [0.5, 0.3, 0.2];
    const a = [0.3, 0.3, 0.4];
    const byHand = (0.3 - 0.5) * Math.log(0.3 / 0.5) + 0 + (0.4 - 0.2) * Math.log(0.4 / 0.2);
    expect(byHand).toBeCloseTo(0.2408, 4);
    expect(psi(e, a, EPS)).toBeCloseTo(byHand, 12);
    // Counts are turned into proportions first: 30, 30, 40 of 100.
    expect(psiOfCounts(e, [30, 30, 40], EPS)).toBeCloseTo(byHand, 12);
    // Symmetric in its two arguments, by its definition.
    expect(psi(a, e, EPS)).toBeCloseTo(byHand, 12);
  });

  it('floors an empty bin at epsilon instead of dividing by zero', () => {
    const got = psi([0.5, 0.5, 0], [0.5, 0.4, 0.1], EPS);
    const byHand = (0.4 - 0.5) * Math.log(0.4 / 0.5) + (0.1 - EPS) * Math.log(0.1 / EPS);
    expect(got).toBeCloseTo(byHand, 12);
    expect(Number.isFinite(got)).toBe(true);
    expect(psiOfCounts([0.5, 0.5], [0, 0], EPS)).toBeNull();
    expect(() => psi([1], [0.5, 0.5], EPS)).toThrow(/1 expected bins, 2 actual/);
  });

  it('bins a value by the edges at or below it, missing values in a bin of their own', () => {
    const edges = [10, 20, 30];
    expect([5, 10, 15, 20, 29.9, 30, 1e9].map((x) => binOf(edges, x))).toEqual([0, 1, 1, 2, 2, 3, 3]);
    expect([null, undefined, NaN].map((x) => binOf(edges, x))).toEqual([4, 4, 4]);
    expect(binOf([], 3)).toBe(0);
    // Compared as float32, the model's input: 0.1 in float64 is in the bin of the float32 edge 0.1.
    expect(binOf([Math.fround(0.1)], 0.1)).toBe(1);
  });

  it('counts a shift in missing values through the missing bin', () => {
    const counts = new DriftCounts(reference());
    // device_seen: reference 40% / 40% / 20% missing; observed 25 / 25 / 50 missing.
    for (let i = 0; i < 100; i++) counts.add([15, i < 25 ? 0 : i < 50 ? 1 : null], 0.3);
    const r = counts.report();
    const byHand = 2 * (0.25 - 0.4) * Math.log(0.25 / 0.4) + (0.5 - 0.2) * Math.log(0.5 / 0.2);
    expect(r.feature_psi.device_seen).toBeCloseTo(byHand, 12);
    expect(r.samples).toBe(100);
  });

  it("counts a row of the model's input matrix as its vector (replay bins from the matrix)", () => {
    const byVector = new DriftCounts(reference());
    const byRow = new DriftCounts(reference());
    // float32 rounding at the edges, missing values, a value beyond float32's range
    const vectors: (number | null)[][] = [
      [10, 1],
      [Math.fround(20) - 1e-7, null],
      [20.0000001, 0],
      [1e39, NaN],
      [-5, 0.9999999999],
    ];
    const rows = new Float32Array(vectors.length * 2);
    vectors.forEach((v, i) => v.forEach((x, j) => (rows[i * 2 + j] = x === null ? NaN : x)));
    vectors.forEach((v, i) => {
      byVector.add(v, i / 10);
      byRow.addRow(rows, i, i / 10);
    });
    expect(byRow.counts).toEqual(byVector.counts);
    expect(byRow.samples).toBe(5);
    // and the rows did land in different bins (the comparison is not vacuous)
    expect(byRow.counts[1]!.filter((c) => c > 0).length).toBeGreaterThan(2);
  });
});

describe('drift reference file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drift-ref-'));
  const write = (name: string, body: string): string => {
    const path = join(dir, name);
    writeFileSync(path, body);
    return path;
  };

  it('loads a valid file, proportions with the missing bin last', async () => {
    const ref = await loadDriftReference(write('ok.reference.json', JSON.stringify(referenceJson())));
    expect(ref?.modelVersion).toBe('m1');
    expect(ref?.features[1]).toEqual({ name: 'device_seen', edges: Float64Array.from([1]), expected: [0.4, 0.4, 0.2] });
    expect(ref?.score.expected).toEqual([0.5, 0.3, 0.2, 0]);
  });

  it('sits beside the model, and is absent (null) for older models', async () => {
    expect(referencePathFor('models/model.onnx')).toBe('models/model.reference.json');
    expect(await loadDriftReference(join(dir, 'none.reference.json'))).toBeNull();
    expect(await referenceForModel(join(dir, 'none.onnx'), { version: 'm1', features: [] })).toBeNull();
  });

  it.each([
    ['not JSON', '{', /drift reference .*not-JSON\.json is not valid JSON/],
    ['another format', JSON.stringify(referenceJson({ format: 2 })), /"format" must be 1, got 2/],
    [
      'edges out of order',
      JSON.stringify(referenceJson({ score: { edges: [0.5, 0.1], expected: [0.5, 0.3, 0.2], missing: 0 } })),
      /"score\.edges\[1\]" must be greater than the edge before \(0\.5\), got 0\.1/,
    ],
    [
      'one proportion short',
      JSON.stringify(referenceJson({ score: { edges: [0.1, 0.5], expected: [0.5, 0.5], missing: 0 } })),
      /"score\.expected" must be an array of 3 proportions/,
    ],
    [
      'proportions not summing to 1',
      JSON.stringify(referenceJson({ features: [{ name: 'a', edges: [1], expected: [0.5, 0.2], missing: 0 }] })),
      /proportions of "features\[0\]" \(expected and missing\) sum to 0\.7/,
    ],
    [
      'a feature twice',
      JSON.stringify(
        referenceJson({
          features: [
            { name: 'a', edges: [], expected: [1], missing: 0 },
            { name: 'a', edges: [], expected: [1], missing: 0 },
          ],
        }),
      ),
      /"features" lists "a" twice/,
    ],
    [
      'a missing epsilon',
      JSON.stringify(referenceJson({ epsilon: undefined })),
      /"epsilon" must be a number in \(0, 0\.1\), got nothing/,
    ],
  ])('refuses %s with an error naming the file and the key', async (what, body, message) => {
    const path = write(`${what.replaceAll(' ', '-')}.json`, body);
    const err = await loadDriftReference(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriftReferenceError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toContain(path);
  });

  it("refuses a reference made for another model's version or features", () => {
    const ref = reference();
    expect(() => checkReference(ref, { version: 'm1', features: ['amount', 'device_seen'] })).not.toThrow();
    expect(() => checkReference(ref, { version: 'm2', features: ['amount', 'device_seen'] })).toThrow(
      /drift reference is for model m1, the model loaded is m2/,
    );
    expect(() => checkReference(ref, { version: 'm1', features: ['device_seen', 'amount'] })).toThrow(
      /at position 0: "amount" vs "device_seen"/,
    );
    expect(() => checkReference(ref, { version: 'm1', features: ['amount'] })).toThrow(/\(2 vs 1\)/);
  });
});

describe('drift monitor', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  async function gaugeValues(registry: Registry): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const m of await registry.getMetricsAsJSON())
      for (const v of m.values) {
        const label = (v.labels as Record<string, string>).feature;
        out[label ? `${m.name}{${label}}` : m.name] = v.value;
      }
    return out;
  }

  /** A batch of n decisions, all in the reference's first bins except `amount` given by `amountOf`. */
  const batch = (n: number, amountOf: (i: number) => number) => ({
    vectors: Array.from({ length: n }, (_, i) => [amountOf(i), 0]),
    scores: Float32Array.from({ length: n }, () => 0.05),
  });

  it('counts one decision in sampleEvery, across batch boundaries', () => {
    const registry = new Registry();
    const m = new DriftMonitor({ reference: reference(), gauges: createDriftMetrics(registry), sampleEvery: 10 });
    const seen: number[] = [];
    // Each decision's amount is its index in the stream, so the sampled ones can be told apart.
    let next = 0;
    const spy = vi.spyOn(DriftCounts.prototype, 'add').mockImplementation((v) => {
      seen.push(v[0] as number);
    });
    for (const n of [7, 5, 30, 1, 9]) {
      const start = next;
      m.observe(batch(n, (i) => start + i).vectors, batch(n, () => 0).scores);
      next += n;
    }
    spy.mockRestore();
    expect(next).toBe(52);
    expect(seen).toEqual([0, 10, 20, 30, 40, 50]);
  });

  it('publishes the PSI of the window every interval, and only on enough samples', async () => {
    vi.useFakeTimers();
    const registry = new Registry();
    const m = new DriftMonitor({
      reference: reference(),
      gauges: createDriftMetrics(registry),
      sampleEvery: 1,
      minSamples: 100,
      windowMinutes: 2,
      intervalMs: 60_000,
    });
    m.start();
    // Minute 1: 40 decisions, amount spread evenly over the four bins as on the training window.
    const even = batch(40, (i) => [5, 15, 25, 35][i % 4]!);
    m.observe(even.vectors, even.scores);
    await vi.advanceTimersByTimeAsync(60_000);
    let g = await gaugeValues(registry);
    expect(g.fraud_drift_window_samples).toBe(40);
    expect(g['fraud_feature_psi{amount}']).toBeUndefined(); // fewer than minSamples: nothing published

    // Minute 2: 80 decisions all in the top amount bin. The window (2 minutes) holds 120: 10, 10, 10, 90.
    const shifted = batch(80, () => 99);
    m.observe(shifted.vectors, shifted.scores);
    await vi.advanceTimersByTimeAsync(60_000);
    g = await gaugeValues(registry);
    const a = [10 / 120, 10 / 120, 10 / 120, 90 / 120];
    const byHand = a.reduce((s, x) => s + (x - 0.25) * Math.log(x / 0.25), 0);
    expect(g.fraud_drift_window_samples).toBe(120);
    expect(g['fraud_feature_psi{amount}']).toBeCloseTo(byHand, 10);
    // device_seen: every decision 0 (bin 0 of 40%): the same in both minutes.
    expect(g['fraud_feature_psi{device_seen}']).toBeCloseTo(
      (1 - 0.4) * Math.log(1 / 0.4) + (EPS - 0.4) * Math.log(EPS / 0.4) + (EPS - 0.2) * Math.log(EPS / 0.2),
      10,
    );
    // score: every decision below 0.1 (bin 0 of 50%).
    expect(g.fraud_score_psi).toBeCloseTo(
      (1 - 0.5) * Math.log(1 / 0.5) + (EPS - 0.3) * Math.log(EPS / 0.3) + (EPS - 0.2) * Math.log(EPS / 0.2) + 0,
      10,
    );

    // Minute 3 without decisions: minute 1 has left the window, 80 samples remain (< 100): the gauges keep their value.
    await vi.advanceTimersByTimeAsync(60_000);
    g = await gaugeValues(registry);
    expect(g.fraud_drift_window_samples).toBe(80);
    expect(g['fraud_feature_psi{amount}']).toBeCloseTo(byHand, 10);
    // Minute 4: the window is empty.
    await vi.advanceTimersByTimeAsync(60_000);
    expect((await gaugeValues(registry)).fraud_drift_window_samples).toBe(0);

    m.stop();
    const after = m.tick().samples; // a manual tick still works; the timer no longer runs
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(after).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('drift text', () => {
  it('lists the score then the features, largest PSI first, with the thresholds', () => {
    const text = driftText({
      model_version: 'm1',
      reference_window: { from: '2018-06-01T00:00:00Z', to: '2018-07-01T00:00:00Z' },
      samples: 500,
      score_psi: 0.05,
      feature_psi: { amount: 0.12, device_seen: 0.4, other: null },
    });
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^drift against the training window of m1 .*500 decisions/);
    expect(lines.slice(1).map((l) => l.trim().replace(/\s+/g, ' '))).toEqual([
      'score 0.0500',
      'device_seen 0.4000 significant',
      'amount 0.1200 moderate',
      'other n/a',
    ]);
  });
});

describe("the engine's drift monitor at start-up (src/app/engine.ts)", () => {
  const dir = mkdtempSync(join(tmpdir(), 'drift-engine-'));
  const settings = { sampleEvery: 10, windowMinutes: 60, minSamples: 500, intervalMs: 60_000 };
  const model = (name: string) => ({
    modelPath: join(dir, `${name}.onnx`),
    version: 'm1',
    metadata: { features: ['amount', 'device_seen'] },
  });
  const logger = () => {
    const warnings: unknown[][] = [];
    return { warnings, log: { warn: (...args: unknown[]) => warnings.push(args) } as unknown as Logger };
  };

  it('without a reference file: no monitor, no drift gauges, one warning', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const { warnings, log } = logger();
    expect(await driftMonitorOf(model('old'), metrics, log, settings)).toBeNull();
    expect(warnings).toHaveLength(1);
    expect(String(warnings[0]![1])).toMatch(/no drift reference/);
    expect(metrics.registry.getSingleMetric('fraud_score_psi')).toBeUndefined();
  });

  it('with a bad reference: no monitor, one warning naming the problem (the engine still starts)', async () => {
    writeFileSync(join(dir, 'other.reference.json'), JSON.stringify(referenceJson({ model_version: 'm0' })));
    const metrics = createMetrics({ defaultMetrics: false });
    const { warnings, log } = logger();
    expect(await driftMonitorOf(model('other'), metrics, log, settings)).toBeNull();
    expect(warnings).toHaveLength(1);
    expect(JSON.stringify(warnings[0]![0])).toMatch(/drift reference is for model m0, the model loaded is m1/);
    expect(metrics.registry.getSingleMetric('fraud_score_psi')).toBeUndefined();
  });

  it('with its reference: a monitor, and the gauges registered', async () => {
    writeFileSync(join(dir, 'good.reference.json'), JSON.stringify(referenceJson()));
    const metrics = createMetrics({ defaultMetrics: false });
    const { warnings, log } = logger();
    const m = await driftMonitorOf(model('good'), metrics, log, settings);
    expect(m).toBeInstanceOf(DriftMonitor);
    expect(warnings).toEqual([]);
    expect(metrics.registry.getSingleMetric('fraud_score_psi')).toBeDefined();
    expect(metrics.registry.getSingleMetric('fraud_feature_psi')).toBeDefined();
  });
});
