/**
 * `fraud-engine replay`: the decision pipeline embedded (in-memory features, no services) over a
 * file of past transactions (src/pipelines/replay/evaluated.ts). Writes decisions (JSONL), the
 * feature vectors the engine served (CSV, the training data), and an evaluation report over a window.
 */
import * as kit from '../cli/kit.js';
import { readHistoryFile } from '../events/history/index.js';
import { summaryText, writeReport } from '../evaluation/report.js';
import { DriftCounts, driftText, referenceForModel } from '../models/drift/index.js';
import { loadEngineScorer } from '../models/onnx-scorer.js';
import { decisionOutputs, knownCompromisedOf, replayEvaluated, replayReport } from '../pipelines/replay/evaluated.js';
import { StaticRulesetSource } from '../rules/file-source.js';

const HELP = `usage: fraud-engine replay --input FILE [options]

Replays a history file (CSV or JSONL, src/events/history-file.ts) through the decision engine
on an in-memory feature store, each known outcome arriving as a label --label-delay-days later.

options:
  --input FILE                 history file (required)
  --format csv|jsonl           default: from the file's extension
  --config FILE                configuration (default config/default.yaml; FRAUD_* overrides)
  --model FILE                 ONNX model, metadata beside it (default: the configuration's
                               model.path, models/model.onnx)
  --rules DIR|FILE             ruleset (default: the configuration's rules.dir, config/rules)
  --label-delay-days D         days between a transaction and its label (default 7)
  --batch-size N               transactions per engine batch (default 500)
  --output FILE                decisions, JSONL
  --features-out FILE          the feature vectors served, CSV (training data)
  --eval-from DATE             evaluate transactions at or after DATE (UTC, inclusive)
  --eval-to DATE               ... and before DATE (exclusive); without --output and
                               --features-out, the replay stops there
  --report FILE                the evaluation as JSON, plus FILE-pr.svg and FILE-scores.svg;
                               with the model's drift reference (MODEL.reference.json), the
                               PSI of the window's score and features against the training
                               window (\`drift\`, also printed)
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

export default function replay(argv: string[]): Promise<number> {
  return kit.guarded(async () => {
    const { values } = kit.parseOrUsage(
      argv,
      {
        input: { type: 'string' },
        format: { type: 'string' },
        model: { type: 'string' },
        rules: { type: 'string' },
        config: { type: 'string' },
        'label-delay-days': { type: 'string' },
        'features-out': { type: 'string' },
        output: { type: 'string' },
        'eval-from': { type: 'string' },
        'eval-to': { type: 'string' },
        report: { type: 'string' },
        'batch-size': { type: 'string' },
        'exclude-known-compromised': { type: 'boolean' },
        'no-exclude-known-compromised': { type: 'boolean' },
        'known-compromised-since': { type: 'string' },
      },
      HELP,
    );
    if (!values.input) {
      console.error(HELP);
      return 2;
    }
    const format = kit.formatOption(values.format);
    const delayDays = kit.numberOption('label-delay-days', values['label-delay-days'], 7);
    const batchSize = kit.intOption('batch-size', values['batch-size'], 500, 1);
    if (values['exclude-known-compromised'] && values['no-exclude-known-compromised']) {
      throw new kit.UsageError('--exclude-known-compromised and --no-exclude-known-compromised contradict each other');
    }
    const time = (name: 'eval-from' | 'eval-to') =>
      values[name] === undefined ? null : kit.parseTime(name, values[name]);
    const window = { from: time('eval-from'), to: time('eval-to') };
    const s = values['known-compromised-since'];
    const since = s === 'all' ? null : s === undefined ? undefined : kit.parseTime('known-compromised-since', s);
    const exclude = values['no-exclude-known-compromised'] ? false : values['exclude-known-compromised'];
    const cfg = kit.configOf(values.config);
    const t0 = performance.now();

    const records = await readHistoryFile(values.input, format);
    const scorer = await loadEngineScorer(values.model ?? cfg.model.path);
    const rules = StaticRulesetSource.fromFiles(values.rules ?? cfg.rules.dir);
    // The report's drift: PSIs of the window against the training window, when the model has its reference.
    const reference = await referenceForModel(scorer.modelPath, {
      version: scorer.version,
      features: scorer.metadata.features,
    });
    if (!reference && values.report) console.error('replay: the model has no drift reference: no PSI in the report');
    const out = values.output ? kit.lineWriter(values.output) : null;
    const feats = values['features-out'] ? kit.lineWriter(values['features-out']) : null;
    const onDecision = await decisionOutputs(out, feats);
    const run = await replayEvaluated({
      records,
      scorer,
      rules,
      labelDelayDays: delayDays,
      batchSize,
      window,
      knownCompromised: knownCompromisedOf(window.from, delayDays, { exclude, since }),
      onDecision,
      drift: reference && new DriftCounts(reference),
      // Factors are written only in the decisions (--output); the features and the report do not use them.
      factors: out !== null,
    });
    await out?.close();
    await feats?.close();
    const secs = (performance.now() - t0) / 1000;
    console.error(
      `replay: ${run.decided} decisions in ${secs.toFixed(1)} s (${Math.round(run.decided / secs)} ev/s), model ${scorer.version}, ruleset ${rules.current().version}`,
    );

    const report = replayReport(run, { from: values['eval-from'] ?? null, to: values['eval-to'] ?? null });
    if (report) {
      console.log(summaryText(report));
      if (report.drift) console.log(driftText(report.drift));
      if (values.report) {
        const plots = writeReport(values.report, report, run.rows);
        console.error(`report: ${values.report}, plots: ${plots.join(', ')}`);
      }
    }
    return 0;
  });
}
