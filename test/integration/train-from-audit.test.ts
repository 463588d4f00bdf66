/**
 * `train --from-audit` end to end on the real PostgreSQL. A short simulation replayed through the
 * engine's DecisionEngine (in-memory store, the shipped model, the default rules; one stretch with
 * the feature store down, so those decisions are degraded as in production) gives the decisions
 * the engine served; the audit sink's own writers store them in decision_audit, with labels in
 * label_audit (chargebacks on time, early and late; analyst verdicts agreeing or not), in a fresh
 * schema. The command reads them back, trains with small fixed parameters, and the model loads in
 * the engine's scorer. The expected rows and frauds are counted here from what was inserted.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import trainCommand from '../../src/commands/train.js';
import type { AuthorizationEvent, Decision, LabelEvent } from '../../src/events/types.js';
import { DAY_MS, HOUR_MS } from '../../src/events/time.js';
import { FEATURE_CSV_HEADER, featureCsvRow } from '../../src/features/csv.js';
import { interleaveLabels } from '../../src/features/label-feed.js';
import { MemoryFeatureStore } from '../../src/features/memory-store.js';
import { FEATURE_NAMES } from '../../src/features/names.js';
import type { FeatureStore, FeatureVector } from '../../src/features/store.js';
import { loadEngineScorer, type OnnxScorer } from '../../src/models/onnx-scorer.js';
import { toFloat32Rows } from '../../src/models/scorer.js';
import { DecisionEngine } from '../../src/pipelines/decision/engine.js';
import { replayFeed } from '../../src/pipelines/replay/replay.js';
import { StaticRulesetSource } from '../../src/rules/file-source.js';
import { simulate } from '../../src/simulator/index.js';
import { LabelAuditWriter } from '../../src/sinks/audit/label-writer.js';
import { readAuditTrainingRows } from '../../src/sinks/audit/training-rows.js';
import { AuditWriter } from '../../src/sinks/audit/writer.js';
import { migrate } from '../../src/storage/migrate.js';
import { freshSchema } from '../helpers/stack.js';

const ROOT = resolve(import.meta.dirname, '../..');
const FROM = Date.parse('2018-04-06T00:00:00Z');
const TO = Date.parse('2018-04-13T00:00:00Z');
/** The cut-off: decisions after 04-12 12:00 still have their label window open (7 days). */
const AS_OF = Date.parse('2018-04-19T12:00:00Z');
const DELAY = 7 * DAY_MS;
/** The feature store is down for this stretch: its decisions are degraded (features_unavailable). */
const OUTAGE = { from: Date.parse('2018-04-08T10:00:00Z'), to: Date.parse('2018-04-08T13:00:00Z') };

/** The in-memory store, failing every batch that starts inside the outage (as Redis being away would). */
class OutageStore implements FeatureStore {
  private readonly inner = new MemoryFeatureStore();
  enrich(events: readonly AuthorizationEvent[]): Promise<FeatureVector[]> {
    const t = events[0]?.event_time ?? 0;
    if (t >= OUTAGE.from && t < OUTAGE.to) return Promise.reject(new Error('feature store down'));
    return this.inner.enrich(events);
  }
  applyLabels(labels: readonly LabelEvent[]): Promise<void> {
    return this.inner.applyLabels(labels);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

interface Served {
  decision: Decision;
  vector: FeatureVector;
  fraud: boolean;
}

/** Runs a command with its output (stdout and stderr) captured. */
async function quiet(fn: (argv: string[]) => Promise<number>, argv: string[]): Promise<{ code: number; err: string }> {
  const captured: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => captured.push(a.join(' '));
  console.error = (...a: unknown[]) => captured.push(a.join(' '));
  try {
    const code = await fn(argv);
    return { code, err: captured.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

describe('train --from-audit: the audit trail and its labels → trainer → OnnxScorer', () => {
  let schema: Awaited<ReturnType<typeof freshSchema>>;
  let pool: pg.Pool;
  let dir: string;
  let served: Served[];
  let labels: LabelEvent[];
  const savedUrl = process.env.FRAUD_POSTGRES_URL;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fraud-train-audit-'));
    schema = await freshSchema('train_audit');
    pool = new pg.Pool({ connectionString: schema.url, max: 2 });
    await migrate(pool);

    // What the engine served around the window (04-04 .. 04-14), decided by the same engine class as `run`.
    const records = [...simulate({ customers: 200, terminals: 400, days: 14, seed: 11 }).transactions()];
    const store = new OutageStore();
    const scorer = await loadEngineScorer(join(ROOT, 'models/model.onnx'));
    served = [];
    try {
      const engine = new DecisionEngine({
        store,
        scorer,
        rules: StaticRulesetSource.fromFiles(join(ROOT, 'config/rules')),
        clock: (ev) => ev.event_time,
      });
      for await (const r of replayFeed(engine, store, interleaveLabels(records, 7), 250)) {
        const t = r.event.event_time;
        if (t >= FROM - 2 * DAY_MS && t < TO + 2 * DAY_MS)
          served.push({ decision: r.decision, vector: r.vector, fraud: r.fraud === true });
      }
    } finally {
      await scorer.close();
    }
    // Two decisions of an older engine without the last feature: an incomplete vector.
    const last = FEATURE_NAMES.at(-1)!;
    for (const s of served.filter((x) => x.decision.degraded.length === 0 && x.decision.event_time > FROM).slice(0, 2))
      delete s.decision.features[last];
    await new AuditWriter(pool).write(served.map((s) => ({ decision: s.decision })));

    // The labels that arrived: chargebacks for the frauds (most after the 7 days, some early,
    // some only after the cut-off), analyst verdicts (a legitimate verdict on a charged-back
    // fraud, fraud verdicts on two legitimate payments), and a fraud label for an open window.
    const label = (d: Decision, source: string, fraud: boolean, after: number): LabelEvent => ({
      auth_id: d.auth_id,
      card_token: d.card_token,
      customer_id: d.context!.customer_id,
      terminal_id: d.context!.terminal_id,
      tx_time: d.event_time,
      label_time: d.event_time + after,
      fraud,
      source,
    });
    labels = [];
    served
      .filter((s) => s.fraud)
      .forEach((s, i) => {
        const after = i % 7 === 3 ? 40 * DAY_MS : i % 5 === 1 ? 2 * DAY_MS : DELAY;
        labels.push(label(s.decision, 'chargeback', true, after));
        if (i % 4 === 2) labels.push(label(s.decision, 'analyst', false, HOUR_MS));
      });
    const legit = served.filter((s) => !s.fraud && s.decision.event_time >= FROM + DAY_MS);
    labels.push(label(legit[10]!.decision, 'analyst', true, 6 * HOUR_MS));
    labels.push(label(legit[500]!.decision, 'analyst', true, 2 * DAY_MS));
    const open = served.find((s) => !s.fraud && s.decision.event_time > AS_OF - DELAY && s.decision.event_time < TO)!;
    labels.push(label(open.decision, 'analyst', true, HOUR_MS));
    // An analyst's "legitimate" verdict on declined legitimate payments: they train as legitimate;
    // the declined ones without any label are left out.
    served
      .filter((s) => !s.fraud && s.decision.outcome === 'DECLINE' && s.decision.degraded.length === 0)
      .filter((_, i) => i % 2 === 0)
      .forEach((s) => labels.push(label(s.decision, 'analyst', false, HOUR_MS)));
    await new LabelAuditWriter(pool).write(labels);

    process.env.FRAUD_POSTGRES_URL = schema.url;
  }, 120_000);

  afterAll(async () => {
    if (savedUrl === undefined) delete process.env.FRAUD_POSTGRES_URL;
    else process.env.FRAUD_POSTGRES_URL = savedUrl;
    await pool?.end();
    await schema?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The rule, counted from what this test inserted. */
  function expected() {
    const inWindow = served.filter((s) => s.decision.event_time >= FROM && s.decision.event_time < TO);
    const open = inWindow.filter((s) => s.decision.event_time + DELAY > AS_OF);
    const closed = inWindow.filter((s) => s.decision.event_time + DELAY <= AS_OF);
    const degraded = closed.filter((s) => s.decision.degraded.length > 0);
    const healthy = closed.filter((s) => s.decision.degraded.length === 0);
    const incomplete = healthy.filter((s) => Object.keys(s.decision.features).length < FEATURE_NAMES.length);
    const complete = healthy.filter((s) => Object.keys(s.decision.features).length === FEATURE_NAMES.length);
    const known = labels.filter((l) => l.label_time <= AS_OF);
    const fraudIds = new Set(known.filter((l) => l.fraud).map((l) => l.auth_id));
    const labelled = new Set(known.map((l) => l.auth_id));
    // A declined decision without a label is left out: no chargeback can come for it.
    const declinedUnlabelled = complete.filter(
      (s) => s.decision.outcome === 'DECLINE' && !labelled.has(s.decision.auth_id),
    );
    const trained = complete.filter((s) => !declinedUnlabelled.includes(s));
    const legit = trained.filter((s) => !fraudIds.has(s.decision.auth_id));
    return {
      declinedLegit: legit.filter((s) => s.decision.outcome === 'DECLINE').length,
      declinedUnlabelled: declinedUnlabelled.length,
      decisions: inWindow.length,
      open: open.length,
      degraded: degraded.length,
      incomplete: incomplete.length,
      trained,
      frauds: trained.filter((s) => fraudIds.has(s.decision.auth_id)).length,
    };
  }

  it('reads the window in batches through the cursor, labels joined by the cut-off', async () => {
    const e = expected();
    // The fixture covers every case the rule decides.
    expect(e.open).toBeGreaterThan(100);
    expect(e.degraded).toBeGreaterThan(10);
    expect(e.incomplete).toBe(2);
    expect(e.frauds).toBeGreaterThan(15);
    expect(e.declinedLegit).toBeGreaterThan(0);
    expect(e.declinedUnlabelled).toBeGreaterThan(0);
    const sizes: number[] = [];
    let frauds = 0;
    let unlabelled = 0;
    for await (const batch of readAuditTrainingRows(pool, { from: FROM, to: TO, labelCutoff: AS_OF, batchSize: 97 })) {
      sizes.push(batch.length);
      for (const r of batch) {
        expect(r.event_time >= FROM && r.event_time < TO).toBe(true);
        if (r.fraud) frauds++;
        if (r.fraud === null) unlabelled++;
      }
    }
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(e.decisions);
    expect(sizes.length).toBe(Math.ceil(e.decisions / 97));
    expect(sizes.slice(0, -1).every((n) => n === 97)).toBe(true);
    // Fraud: any label that arrived by the cut-off says fraud, the window open or not.
    const inWindow = new Set(
      served.filter((s) => s.decision.event_time >= FROM && s.decision.event_time < TO).map((s) => s.decision.auth_id),
    );
    const known = labels.filter((l) => l.label_time <= AS_OF && inWindow.has(l.auth_id));
    expect(frauds).toBe(new Set(known.filter((l) => l.fraud).map((l) => l.auth_id)).size);
    expect(unlabelled).toBe(e.decisions - new Set(known.map((l) => l.auth_id)).size);
  });

  it('trains on the served vectors with the labels known at the cut-off, and the engine loads the model', async () => {
    const e = expected();
    const out = join(dir, 'audit.onnx');
    const kept = join(dir, 'features.csv');
    const { code, err } = await quiet(trainCommand, [
      '--from-audit',
      '--from',
      '2018-04-06',
      '--to',
      '2018-04-13',
      '--as-of',
      '2018-04-19T12:00:00Z',
      '--delay-days',
      '7',
      '--params',
      '{"n_estimators":20,"num_leaves":7,"min_child_samples":20}',
      '--valid-days',
      '0',
      '--n-jobs',
      '1',
      '--version',
      'audit-it-1',
      '--keep-features',
      kept,
      '--out',
      out,
    ]);
    expect(code, err).toBe(0);
    expect(err).toContain(`read ${e.decisions} decisions of the audit trail`);
    expect(existsSync(out)).toBe(true);

    const meta = JSON.parse(readFileSync(join(dir, 'audit.json'), 'utf8')) as {
      model_version: string;
      train_window: { from: string; to: string };
      delay_days: number;
      training: { n: number; frauds: number; source: Record<string, unknown> };
    };
    expect(meta.model_version).toBe('audit-it-1');
    expect(meta.train_window).toEqual({ from: '2018-04-06T00:00:00Z', to: '2018-04-13T00:00:00Z' });
    expect(meta.delay_days).toBe(7);
    expect(meta.training.n).toBe(e.trained.length);
    expect(meta.training.frauds).toBe(e.frauds);
    expect(meta.training.source).toEqual({
      kind: 'audit',
      from: '2018-04-06T00:00:00Z',
      to: '2018-04-13T00:00:00Z',
      label_cutoff: '2018-04-19T12:00:00Z',
      delay_days: 7,
      label_rule: expect.stringContaining('label_cutoff') as unknown,
      decisions: e.decisions,
      rows: e.trained.length,
      frauds: e.frauds,
      declined_legitimate: e.declinedLegit,
      excluded: {
        label_window_open: e.open,
        degraded: e.degraded,
        incomplete_vector: e.incomplete,
        declined_unlabelled: e.declinedUnlabelled,
      },
    });

    // The CSV the trainer read: the bytes of the vectors the engine served (after jsonb).
    const lines = readFileSync(kept, 'utf8').split('\n');
    expect(`${lines[0]}\n`).toBe(FEATURE_CSV_HEADER);
    expect(lines.at(-1)).toBe('');
    const want = e.trained.map((s) => featureCsvRow(s.decision.auth_id, s.vector).trimEnd()).sort();
    expect(lines.slice(1, -1).sort()).toEqual(want);

    const scorer: OnnxScorer = await loadEngineScorer(out);
    try {
      expect(scorer.version).toBe('audit-it-1');
      const rows = toFloat32Rows(
        e.trained.slice(0, 50).map((s) => s.vector),
        FEATURE_NAMES.length,
      );
      const scores = await scorer.score(rows, 50);
      expect(scores.length).toBe(50);
      for (const s of scores) {
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s).toBeLessThanOrEqual(1);
      }
    } finally {
      await scorer.close();
    }
  }, 120_000);

  it('stops with 1 and says why on a window without trainable decisions, and on a database never migrated', async () => {
    const out = join(dir, 'none.onnx');
    const args = ['--from-audit', '--to', '2018-04-13', '--params', '{"n_estimators":5}', '--out', out];
    // The window's label windows are all open at this cut-off.
    const open = await quiet(trainCommand, [...args, '--from', '2018-04-06', '--as-of', '2018-04-12T00:00:00Z']);
    expect(open.code).toBe(1);
    expect(open.err).toMatch(/training on 0 \(0 frauds.*no decision of the audit trail to train on/s);
    expect(existsSync(out)).toBe(false);

    const bare = await freshSchema('train_audit_bare');
    try {
      process.env.FRAUD_POSTGRES_URL = bare.url;
      const missing = await quiet(trainCommand, [...args, '--from', '2018-04-06']);
      expect(missing.code).toBe(1);
      expect(missing.err).toContain("run 'fraud-engine migrate'");
    } finally {
      process.env.FRAUD_POSTGRES_URL = schema.url;
      await bare.drop();
    }
  });
});
