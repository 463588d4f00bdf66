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
import {
  evaluate, excludeKnownCompromised, firstFraudByCard, summaryText, writePlots, type EvalRow, type ExclusionSummary,
} from '../evaluation/report.js';
import { FEATURE_CSV_HEADER, featureCsvRow } from '../features/csv.js';

const HELP = `usage: fraud-engine replay --input FILE [options]

Replays a history file (CSV or JSONL, src/events/history-file.ts) through the decision engine
on an in-memory feature store, each known outcome arriving as a label --label-delay-days later.

options:
  --input FILE                 history file (required)
  --format csv|jsonl           default: from the file's extension
  --model FILE                 ONNX model, metadata beside it (default models/model.onnx)
  --rules DIR|FILE             ruleset (default config/rules)
  --label-delay-days D         days between a transaction and its label (default 7)
  --batch-size N               transactions per engine batch (default 500)
  --output FILE                decisions, JSONL
  --features-out FILE          the feature vectors served, CSV (training data)
  --eval-from DATE             evaluate transactions at or after DATE (UTC, inclusive)
  --eval-to DATE               ... and before DATE (exclusive); without --output and
                               --features-out, the replay stops there
  --report FILE                the evaluation as JSON, plus FILE-pr.svg and FILE-scores.svg
  --exclude-known-compromised  remove from the evaluation the cards (card_token; the customer
                               when the file has no card_token) already known compromised: a
                               fraud at or after --known-compromised-since whose label came
                               before the day of the transaction (tx_time + delay < day start),
                               as the handbook's test sets do (Le Borgne et al., ch. 3.4).
                               Default: on when --eval-from is given, else off.
  --no-exclude-known-compromised   keep every card
  --known-compromised-since DATE|all
                               frauds counted from DATE (default: --eval-from minus the label
                               delay minus 7 days, i.e. the start of the handbook's one-week
                               training set; 'all' for the whole history)
  -h, --help                   this help

The report counts the removed cards, transactions and frauds (excluded_known_compromised).`;

const DAY_MS = 86_400_000;

function parseDate(name: string, v: string | undefined): number | null {
  if (v === undefined) return null;
  const t = Date.parse(/T/.test(v) ? v : `${v}T00:00:00Z`);
  if (!Number.isFinite(t)) throw new Error(`--${name}: not a date: '${v}'`);
  return t;
}

class Lines {
  private readonly s;
  constructor(path: string) { this.s = createWriteStream(path); }
  /** Writes `text` as it is (it ends with its own newline). */
  async raw(text: string): Promise<void> {
    if (!this.s.write(text)) await once(this.s, 'drain');
  }
  async write(line: string): Promise<void> {
    await this.raw(line + '\n');
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
      'exclude-known-compromised': { type: 'boolean' }, 'no-exclude-known-compromised': { type: 'boolean' },
      'known-compromised-since': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { console.log(HELP); return 0; }
  if (!values.input) { console.error(HELP); return 2; }
  if (values.format && values.format !== 'csv' && values.format !== 'jsonl') { console.error(`--format must be csv or jsonl`); return 2; }
  const delayDays = Number(values['label-delay-days'] ?? 7);
  if (!Number.isFinite(delayDays) || delayDays < 0) { console.error(`--label-delay-days must be a number >= 0`); return 2; }
  const batchSize = Number(values['batch-size'] ?? 500);
  if (!Number.isInteger(batchSize) || batchSize < 1) { console.error(`--batch-size must be an integer >= 1`); return 2; }
  if (values['exclude-known-compromised'] && values['no-exclude-known-compromised']) {
    console.error('--exclude-known-compromised and --no-exclude-known-compromised contradict each other');
    return 2;
  }
  let evalFrom: number | null, evalTo: number | null, since: number | null;
  try {
    evalFrom = parseDate('eval-from', values['eval-from']);
    evalTo = parseDate('eval-to', values['eval-to']);
    const s = values['known-compromised-since'];
    since = s === 'all' ? null
      : s !== undefined ? parseDate('known-compromised-since', s)
      : evalFrom !== null ? evalFrom - (delayDays + 7) * DAY_MS : null;
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  const excludeKnown = values['no-exclude-known-compromised'] ? false : (values['exclude-known-compromised'] ?? evalFrom !== null);
  const t0 = performance.now();

  let records = await readHistoryFile(values.input, values.format as 'csv' | 'jsonl' | undefined);
  const firstFraud = excludeKnown
    ? firstFraudByCard(records.map((r) => ({ card: r.event.card_token, time: r.event.event_time, fraud: r.fraud })), since)
    : null;
  // Only a report is asked for: what comes after the evaluation window changes nothing in it.
  if (evalTo !== null && !values.output && !values['features-out']) records = records.filter((r) => r.event.event_time < evalTo);
  const scorer = await OnnxScorer.load(values.model ?? 'models/model.onnx', { expectedFeatures: FEATURE_NAMES });
  const rules = StaticRulesetSource.fromFiles(values.rules ?? 'config/rules');
  const store = new MemoryFeatureStore();
  // decided_time = event_time: a replay is reproducible byte for byte.
  const engine = new DecisionEngine({ store, scorer, rules, clock: (ev) => ev.event_time });

  const out = values.output ? new Lines(values.output) : null;
  const feats = values['features-out'] ? new Lines(values['features-out']) : null;
  await feats?.raw(FEATURE_CSV_HEADER);
  const evalRows: EvalRow[] = [];
  let n = 0;
  for await (const r of replayFeed(engine, store, interleaveLabels(records, delayDays), batchSize)) {
    n++;
    const d = r.decision;
    await out?.write(JSON.stringify({ ...d, engine_latency_ms: undefined }));
    await feats?.raw(featureCsvRow(d.auth_id, r.vector)); // the row ends with its newline
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

  let rows = evalRows;
  let excluded: ExclusionSummary | null = null;
  if (firstFraud) ({ rows, summary: excluded } = excludeKnownCompromised(evalRows, firstFraud, { delayMs: delayDays * DAY_MS, since }));
  if (rows.length) {
    const report = evaluate(rows, { from: values['eval-from'] ?? null, to: values['eval-to'] ?? null }, excluded);
    console.log(summaryText(report));
    if (values.report) {
      writeFileSync(values.report, JSON.stringify(report, null, 2) + '\n');
      const plots = writePlots(rows, values.report.replace(/\.json$/, ''));
      console.error(`report: ${values.report}, plots: ${plots.join(', ')}`);
    }
  }
  return 0;
}
