/**
 * `fraud-engine replay`: the decision pipeline embedded (in-memory features, no services)
 * over a file of past transactions. Writes decisions (JSONL), the feature vectors the
 * engine served (CSV, the training data), and an evaluation report over a window.
 */
import { createWriteStream, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { readHistoryFile } from '../events/history-file.js';
import { FEATURE_NAMES } from '../features/names.js';
import { interleaveLabels } from '../features/label-feed.js';
import { MemoryFeatureStore } from '../features/memory-store.js';
import { OnnxScorer } from '../models/onnx-scorer.js';
import { DecisionEngine } from '../pipelines/decision/engine.js';
import { replayFeed } from '../pipelines/replay/replay.js';
import { StaticRulesetSource } from '../rules/file-source.js';
import { evaluate, summaryText, writePlots, type EvalRow } from '../evaluation/report.js';
import { featureCsvRow } from './features.js';

const HELP = `usage: fraud-engine replay --input FILE [--format csv|jsonl] [--model models/model.onnx] [--rules config/rules]
       [--label-delay-days 7] [--features-out FILE] [--output decisions.jsonl]
       [--eval-from DATE --eval-to DATE] [--report report.json] [--batch-size 500]`;

function parseDate(name: string, v: string | undefined): number | null {
  if (v === undefined) return null;
  const t = Date.parse(/T/.test(v) ? v : `${v}T00:00:00Z`);
  if (!Number.isFinite(t)) throw new Error(`--${name}: not a date: '${v}'`);
  return t;
}

class Lines {
  private readonly s;
  constructor(path: string) { this.s = createWriteStream(path); }
  async write(line: string): Promise<void> {
    if (!this.s.write(line + '\n')) await once(this.s, 'drain');
  }
  async close(): Promise<void> { this.s.end(); await once(this.s, 'finish'); }
}

export default async function replay(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      input: { type: 'string' }, format: { type: 'string' }, model: { type: 'string' }, rules: { type: 'string' },
      'label-delay-days': { type: 'string' }, 'features-out': { type: 'string' }, output: { type: 'string' },
      'eval-from': { type: 'string' }, 'eval-to': { type: 'string' }, report: { type: 'string' }, 'batch-size': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help || !values.input) { console.error(HELP); return values.help ? 0 : 2; }
  if (values.format && values.format !== 'csv' && values.format !== 'jsonl') { console.error(`--format must be csv or jsonl`); return 2; }
  const delayDays = Number(values['label-delay-days'] ?? 7);
  const evalFrom = parseDate('eval-from', values['eval-from']);
  const evalTo = parseDate('eval-to', values['eval-to']);
  const t0 = performance.now();

  const records = await readHistoryFile(values.input, values.format as 'csv' | 'jsonl' | undefined);
  const scorer = await OnnxScorer.load(values.model ?? 'models/model.onnx', { expectedFeatures: FEATURE_NAMES });
  const rules = StaticRulesetSource.fromFiles(values.rules ?? 'config/rules');
  const store = new MemoryFeatureStore();
  // decided_time = event_time: a replay is reproducible byte for byte.
  const engine = new DecisionEngine({ store, scorer, rules, clock: (ev) => ev.event_time });

  const out = values.output ? new Lines(values.output) : null;
  const feats = values['features-out'] ? new Lines(values['features-out']) : null;
  await feats?.write(['auth_id', ...FEATURE_NAMES].join(','));
  const evalRows: EvalRow[] = [];
  let n = 0;
  for await (const r of replayFeed(engine, store, interleaveLabels(records, delayDays), Number(values['batch-size'] ?? 500))) {
    n++;
    const d = r.decision;
    await out?.write(JSON.stringify({ ...d, engine_latency_ms: undefined }));
    await feats?.write(featureCsvRow(d.auth_id, r.vector));
    const t = r.event.event_time;
    if (r.fraud !== null && d.score !== null && (evalFrom === null || t >= evalFrom) && (evalTo === null || t < evalTo)) {
      evalRows.push({ time: t, card: r.event.card_token, score: d.score, fraud: r.fraud, outcome: d.outcome });
    }
  }
  await out?.close();
  await feats?.close();
  await store.close();
  const secs = (performance.now() - t0) / 1000;
  console.error(`replay: ${n} decisions in ${secs.toFixed(1)} s (${Math.round(n / secs)} ev/s), model ${scorer.version}, ruleset ${rules.current().version}`);

  if (evalRows.length) {
    const report = evaluate(evalRows, { from: values['eval-from'] ?? null, to: values['eval-to'] ?? null });
    console.log(summaryText(report));
    if (values.report) {
      writeFileSync(values.report, JSON.stringify(report, null, 2) + '\n');
      const plots = writePlots(evalRows, values.report.replace(/\.json$/, ''));
      console.error(`report: ${values.report}, plots: ${plots.join(', ')}`);
    }
  }
  return 0;
}
