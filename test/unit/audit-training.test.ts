/**
 * `train --from-audit`'s pure parts: the label rule at a cut-off (label window, labels that
 * arrived), the exclusions (degraded, incomplete vectors), and the rows written: the same CSV
 * bytes as a history file's training data for the same vectors.
 */
import { describe, expect, it } from 'vitest';
import {
  classifyAuditRow,
  labelWindowPassed,
  servedVector,
  writeAuditTrainingCsv,
  type AuditTrainingRow,
  type LabelRule,
} from '../../src/features/audit-training.js';
import { FEATURE_CSV_HEADER, labelCsvRow, writeFeatureCsv } from '../../src/features/csv.js';
import { interleaveLabels } from '../../src/features/label-feed.js';
import { MemoryFeatureStore } from '../../src/features/memory-store.js';
import { FEATURE_NAMES } from '../../src/features/names.js';
import { enrichFeed } from '../../src/features/label-feed.js';
import { DAY_MS } from '../../src/events/time.js';
import { simulate } from '../../src/simulator/index.js';
import trainCommand from '../../src/commands/train.js';
import { memorySink } from '../helpers/memory-sink.js';

const T = Date.parse('2026-11-01T00:00:00Z');
const rule: LabelRule = { cutoffMs: T + 10 * DAY_MS, delayMs: 7 * DAY_MS };
const fullFeatures = (): Record<string, number | null> =>
  Object.fromEntries(FEATURE_NAMES.map((n, i) => [n, i % 5 === 0 ? null : i + 0.5]));
const row = (over: Partial<AuditTrainingRow> = {}): AuditTrainingRow => ({
  auth_id: 'a1',
  event_time: T,
  outcome: 'APPROVE',
  degraded: [],
  features: fullFeatures(),
  fraud: null,
  ...over,
});

async function* batches<T>(...bs: T[][]): AsyncGenerator<T[]> {
  for (const b of bs) yield b;
}

describe('the label rule at a cut-off', () => {
  it('counts a decision as labelled once event time + delay is at or before the cut-off', () => {
    expect(labelWindowPassed(T + 3 * DAY_MS, rule)).toBe(true); // ends exactly at the cut-off
    expect(labelWindowPassed(T + 3 * DAY_MS + 1, rule)).toBe(false);
    expect(labelWindowPassed(T, rule)).toBe(true);
    expect(labelWindowPassed(T, { ...rule, delayMs: 0 })).toBe(true);
    expect(labelWindowPassed(rule.cutoffMs + 1, { ...rule, delayMs: 0 })).toBe(false);
  });

  it('makes a labelled decision fraud only when a label that arrived says so; no label is legitimate', () => {
    const fraud = classifyAuditRow(row({ fraud: true }), rule);
    expect(fraud).toMatchObject({ kind: 'train', fraud: true });
    expect(classifyAuditRow(row({ fraud: false }), rule)).toMatchObject({ kind: 'train', fraud: false });
    expect(classifyAuditRow(row({ fraud: null }), rule)).toMatchObject({ kind: 'train', fraud: false });
    expect(classifyAuditRow(row({ fraud: null, outcome: 'REVIEW' }), rule)).toMatchObject({
      kind: 'train',
      fraud: false,
    });
  });

  it('never trains a declined decision without a label as legitimate: no chargeback can come for it', () => {
    expect(classifyAuditRow(row({ outcome: 'DECLINE', fraud: null }), rule)).toEqual({
      kind: 'excluded',
      reason: 'declined_unlabelled',
    });
    // A label decides a declined decision: a fraud label (analyst, or a chargeback the feed sends
    // anyway, as the simulator does) as fraud, an analyst's "legitimate" verdict as legitimate.
    expect(classifyAuditRow(row({ outcome: 'DECLINE', fraud: true }), rule)).toMatchObject({
      kind: 'train',
      fraud: true,
    });
    expect(classifyAuditRow(row({ outcome: 'DECLINE', fraud: false }), rule)).toMatchObject({
      kind: 'train',
      fraud: false,
    });
    // Degraded and declined without a label: degraded (the reasons are checked in order).
    expect(classifyAuditRow(row({ outcome: 'DECLINE', degraded: ['x'] }), rule)).toEqual({
      kind: 'excluded',
      reason: 'degraded',
    });
  });

  it('leaves out a decision whose label window is open, also when a fraud label already came', () => {
    const late = T + 3 * DAY_MS + 1;
    for (const fraud of [null, false, true])
      expect(classifyAuditRow(row({ event_time: late, fraud }), rule)).toEqual({
        kind: 'excluded',
        reason: 'label_window_open',
      });
  });

  it('leaves out degraded decisions and incomplete vectors, each counted under the first reason', () => {
    expect(classifyAuditRow(row({ degraded: ['features_unavailable'] }), rule)).toEqual({
      kind: 'excluded',
      reason: 'degraded',
    });
    const { tx_amount: _gone, ...lacking } = fullFeatures();
    expect(classifyAuditRow(row({ features: lacking }), rule)).toEqual({
      kind: 'excluded',
      reason: 'incomplete_vector',
    });
    // Degraded and open: the window is checked first.
    expect(classifyAuditRow(row({ degraded: ['x'], event_time: T + 9 * DAY_MS }), rule)).toEqual({
      kind: 'excluded',
      reason: 'label_window_open',
    });
    // Degraded and incomplete: degraded.
    expect(classifyAuditRow(row({ degraded: ['x'], features: {} }), rule)).toEqual({
      kind: 'excluded',
      reason: 'degraded',
    });
  });
});

describe('the served vector', () => {
  it("is in the engine's feature order whatever the stored key order, nulls kept, extra keys ignored", () => {
    const f = fullFeatures();
    const reversed = Object.fromEntries([...Object.entries(f)].reverse());
    const v = servedVector({ ...reversed, some_future_feature: 3 });
    expect(v).toEqual(FEATURE_NAMES.map((n) => f[n]));
    expect(v![0]).toBeNull();
    expect(v![1]).toBe(1.5);
  });

  it('is refused when a feature is absent or not a number, or the column is not an object', () => {
    const { terminal_risk_7d: _gone, ...lacking } = fullFeatures();
    expect(servedVector(lacking)).toBeNull();
    expect(servedVector({ ...fullFeatures(), tx_amount: '12' })).toBeNull();
    expect(servedVector({ ...fullFeatures(), tx_amount: true })).toBeNull();
    expect(servedVector({})).toBeNull();
    expect(servedVector(null)).toBeNull();
    expect(servedVector([1, 2, 3])).toBeNull();
    expect(servedVector(fullFeatures())).not.toBeNull();
  });
});

describe('the training files from audit rows', () => {
  it('writes the trainable rows and their labels, counts the others, closes both files', async () => {
    const f = memorySink();
    const l = memorySink();
    const counts = await writeAuditTrainingCsv(
      batches(
        [row({ auth_id: 'fraud,1', fraud: true }), row({ auth_id: 'deg', degraded: ['redis_timeout'] })],
        [],
        [
          row({ auth_id: 'legit', event_time: T + DAY_MS, fraud: null }),
          row({ auth_id: 'open', event_time: T + 5 * DAY_MS, fraud: true }),
          row({ auth_id: 'old-engine', features: { tx_amount: 3 } }),
          row({ auth_id: 'verdict-legit', fraud: false, outcome: 'DECLINE' }),
          row({ auth_id: 'declined-fraud', fraud: true, outcome: 'DECLINE' }),
          row({ auth_id: 'declined-no-label', fraud: null, outcome: 'DECLINE' }),
        ],
      ),
      rule,
      f.sink,
      l.sink,
    );
    expect(counts).toEqual({
      decisions: 8,
      rows: 4,
      frauds: 2,
      declined_legitimate: 1,
      excluded: { label_window_open: 1, degraded: 1, incomplete_vector: 1, declined_unlabelled: 1 },
    });
    expect(f.s.closed && l.s.closed).toBe(true);
    const cells = FEATURE_NAMES.map((_, i) => (i % 5 === 0 ? '' : String(i + 0.5))).join(',');
    expect(f.s.text).toBe(
      `${FEATURE_CSV_HEADER}"fraud,1",${cells}\nlegit,${cells}\nverdict-legit,${cells}\ndeclined-fraud,${cells}\n`,
    );
    expect(l.s.text).toBe(
      'auth_id,tx_datetime,tx_fraud\n' +
        '"fraud,1",2026-11-01T00:00:00.000Z,1\n' +
        'legit,2026-11-02T00:00:00.000Z,0\n' +
        'verdict-legit,2026-11-01T00:00:00.000Z,0\n' +
        'declined-fraud,2026-11-01T00:00:00.000Z,1\n',
    );
  });

  it('quotes an auth id in the labels file as in the feature file, so the trainer joins them', () => {
    expect(labelCsvRow('a"b', T, true)).toBe('"a""b",2026-11-01T00:00:00.000Z,1\n');
    expect(labelCsvRow('plain', T, false)).toBe('plain,2026-11-01T00:00:00.000Z,0\n');
  });

  it('gives the bytes of the history path for the vectors the engine served, after a trip through JSON', async () => {
    const records = [...simulate({ customers: 100, terminals: 200, days: 15, seed: 5 }).transactions()];
    // The history path: the feature CSV of the same feed (replay --features-out, train --input).
    let expected = '';
    await writeFeatureCsv(new MemoryFeatureStore(), interleaveLabels(records, 7), async (t) => {
      expected += t;
    });
    // The audit path: each vector stored as the engine's decision.features (name → value, JSON).
    const served = await enrichFeed(new MemoryFeatureStore(), interleaveLabels(records, 7));
    const rows = served.map((r): AuditTrainingRow => ({
      auth_id: r.auth_id,
      event_time: r.event.event_time,
      outcome: 'APPROVE',
      degraded: [],
      features: JSON.parse(
        JSON.stringify(Object.fromEntries(FEATURE_NAMES.map((n, j) => [n, r.vector[j] ?? null]))),
      ) as unknown,
      fraud: r.fraud,
    }));
    const f = memorySink();
    const l = memorySink();
    const everything = { cutoffMs: Date.parse('2030-01-01T00:00:00Z'), delayMs: 7 * DAY_MS };
    const counts = await writeAuditTrainingCsv(
      batches(rows.slice(0, 500), rows.slice(500)),
      everything,
      f.sink,
      l.sink,
    );
    expect(rows.length).toBeGreaterThan(1000);
    expect(counts.rows).toBe(rows.length);
    expect(counts.frauds).toBe(records.filter((r) => r.fraud).length);
    expect(counts.frauds).toBeGreaterThan(0);
    expect(f.s.text).toBe(expected);
  });
});

describe('train: the two sources on the command line', () => {
  async function run(argv: string[]): Promise<{ code: number; err: string }> {
    const out: string[] = [];
    const { error, log } = console;
    console.error = (...a: unknown[]) => out.push(a.join(' '));
    console.log = (...a: unknown[]) => out.push(a.join(' '));
    try {
      return { code: await trainCommand(argv), err: out.join('\n') };
    } finally {
      console.error = error;
      console.log = log;
    }
  }
  const audit = ['--from-audit', '--from', '2026-10-01', '--to', '2026-11-01', '--out', '/tmp/never.onnx'];

  it('refuses options of the other source, a window that ends before it starts, and missing dates', async () => {
    expect(await run([...audit, '--input', 'h.csv', '--train-to', '2026-11-01'])).toEqual({
      code: 2,
      err: '--from-audit reads the audit trail: drop --input, --train-to',
    });
    const history = ['--input', 'h.csv', '--train-from', '2026-10-01', '--train-to', '2026-11-01', '--out', 'm.onnx'];
    expect(await run([...history, '--as-of', '2026-11-09'])).toEqual({
      code: 2,
      err: '--as-of: only with --from-audit',
    });
    expect((await run([...audit, '--to', '2026-09-01'])).err).toBe('--to must be after --from');
    expect((await run([...audit, '--as-of', 'yesterday'])).err).toMatch(/^--as-of: not a time/);
    const noTo = await run(['--from-audit', '--from', '2026-10-01', '--out', 'm.onnx']);
    expect(noTo.code).toBe(2);
    expect(noTo.err).toContain('fraud-engine train --from-audit --from DATE --to DATE');
  });

  it('says in its help how labels count at the cut-off', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.err).toContain('event time +\n    --delay-days <= C');
    expect(help.err).toContain('not counted as legitimate');
  });
});
